package datadir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// folder makes a data folder as licet makes it: 0700, keys/ with a key and
// the active file, the operator token and secrets.key 0600, a database.
func folder(t *testing.T) (data, db string) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "data")
	must(t, os.MkdirAll(filepath.Join(data, "keys"), 0o700))
	for _, f := range []string{"keys/k1.pem", "keys/active", "operator-token", "secrets.key"} {
		must(t, os.WriteFile(filepath.Join(data, f), []byte("x"), 0o600))
	}
	db = filepath.Join(data, "licet.db")
	must(t, os.WriteFile(db, []byte("x"), 0o644))
	must(t, os.WriteFile(db+"-wal", []byte("x"), 0o644))
	return data, db
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func refused(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want a refusal naming %q, got %v", want, err)
	}
}

func TestOwnFolderPasses(t *testing.T) {
	data, db := folder(t)
	if err := Check(data, db); err != nil {
		t.Fatal(err)
	}
	// A database elsewhere, or PostgreSQL (no file).
	if err := Check(data, ""); err != nil {
		t.Fatal(err)
	}
}

func TestMissingFolderPasses(t *testing.T) {
	// A read-only server on a database elsewhere, without keys: what is
	// missing is said next, by what needs it.
	if err := Check(filepath.Join(t.TempDir(), "none"), ""); err != nil {
		t.Fatal(err)
	}
}

func TestFolderItselfMayBeALink(t *testing.T) {
	data, db := folder(t)
	link := filepath.Join(t.TempDir(), "link")
	must(t, os.Symlink(data, link))
	if err := Check(link, db); err != nil {
		t.Fatal(err)
	}
}

func TestNotAFolder(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(f, nil, 0o600))
	refused(t, Check(f, ""), "is not a folder")
}

func TestWritableByOthersIsRefused(t *testing.T) {
	data, db := folder(t)
	must(t, os.Chmod(data, 0o770))
	refused(t, Check(data, db), data+" is writable by group or others (mode 0770): chmod 700 "+data)

	data, db = folder(t)
	must(t, os.Chmod(db+"-wal", 0o666))
	refused(t, Check(data, db), db+"-wal is writable by group or others (mode 0666): chmod 600 "+db+"-wal")
}

func TestSecretsReadableByOthersAreRefused(t *testing.T) {
	for _, f := range []string{"keys/k1.pem", "operator-token", "secrets.key"} {
		data, db := folder(t)
		p := filepath.Join(data, f)
		must(t, os.Chmod(p, 0o640))
		refused(t, Check(data, db), p+" is readable by group or others (mode 0640): chmod 600 "+p)
	}
	// The keys folder may be listed by others; the database read by them.
	data, db := folder(t)
	must(t, os.Chmod(filepath.Join(data, "keys"), 0o755))
	if err := Check(data, db); err != nil {
		t.Fatal(err)
	}
}

func TestLinksInsideAreRefused(t *testing.T) {
	for _, f := range []string{"keys/k1.pem", "operator-token", "licet.db"} {
		data, db := folder(t)
		p := filepath.Join(data, f)
		other := filepath.Join(t.TempDir(), "planted")
		must(t, os.WriteFile(other, []byte("x"), 0o600))
		must(t, os.Remove(p))
		must(t, os.Symlink(other, p))
		refused(t, Check(data, db), p+" is a symbolic link")
	}
}

func TestOnlyRegularFiles(t *testing.T) {
	data, db := folder(t)
	p := filepath.Join(data, "operator-token")
	must(t, os.Remove(p))
	must(t, syscall.Mkfifo(p, 0o600))
	refused(t, Check(data, db), p+" is not a regular file")
}

func TestAnotherUsersFileIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		// As a missing database or browser fails the tests that need it,
		// so does a missing privilege: .ci/run runs as root.
		t.Fatal("giving a file to another user needs root (bash .ci/run runs as root)")
	}
	for _, f := range []string{"", "keys/active", "secrets.key", "licet.db-wal"} {
		data, db := folder(t)
		p := filepath.Join(data, f)
		must(t, os.Lchown(p, 4242, 4242))
		refused(t, Check(data, db), strings.TrimSuffix(p, "/")+" belongs to uid 4242, not to uid 0 that runs licet")
	}
}

// tokens is a store's operator token hash.
type tokens struct {
	hash   []byte
	sets   int
	racing []byte // another process stores this first
}

func (s *tokens) OperatorTokenHash(context.Context) ([]byte, error) { return s.hash, nil }

func (s *tokens) SetOperatorTokenHash(_ context.Context, h []byte) (bool, error) {
	s.sets++
	if s.racing != nil {
		s.hash = s.racing
		return false, nil
	}
	if s.hash != nil {
		return false, nil
	}
	s.hash = h
	return true, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestOperatorTokenOnAFirstStart(t *testing.T) {
	data := t.TempDir()
	st := &tokens{}
	var log bytes.Buffer
	h, err := OperatorToken(context.Background(), st, data, false, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(data, "operator-token")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSuffix(string(b), "\n")
	if !strings.HasPrefix(tok, "lct_") || len(tok) != len("lct_")+43 || !strings.HasSuffix(string(b), "\n") {
		t.Fatalf("token file holds %q", b)
	}
	if sum := sha256.Sum256([]byte(tok)); !bytes.Equal(h, sum[:]) || !bytes.Equal(st.hash, sum[:]) {
		t.Fatal("the hash answered or stored is not the token's")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode())
	}
	if !strings.Contains(log.String(), `msg="operator token created" file=`+path) {
		t.Errorf("log: %s", log.String())
	}
	// The next start keeps it.
	h2, err := OperatorToken(context.Background(), st, data, false, quiet)
	if err != nil || !bytes.Equal(h2, h) || st.sets != 1 {
		t.Fatalf("second start: %x %v (%d sets)", h2, err, st.sets)
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b2, b) {
		t.Fatal("the second start rewrote the token file")
	}
	onlyEntries(t, data, "operator-token")
}

func TestOperatorTokenRaceLeavesTheWinnersFile(t *testing.T) {
	data := t.TempDir()
	st := &tokens{racing: []byte("the other process's hash")}
	h, err := OperatorToken(context.Background(), st, data, false, quiet)
	if err != nil || string(h) != "the other process's hash" {
		t.Fatalf("%q %v", h, err)
	}
	onlyEntries(t, data) // neither operator-token nor operator-token.new
}

func TestOperatorTokenReadOnlyMakesNone(t *testing.T) {
	data := t.TempDir()
	h, err := OperatorToken(context.Background(), &tokens{}, data, true, quiet)
	if err != nil || h != nil {
		t.Fatalf("%x %v", h, err)
	}
	onlyEntries(t, data)
}

func onlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("folder holds %v, want %v", got, names)
	}
}
