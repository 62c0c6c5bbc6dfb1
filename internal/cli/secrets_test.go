package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/licet/licet/internal/cli"
	"github.com/licet/licet/internal/mail"
	"github.com/licet/licet/internal/secrets"
	"github.com/licet/licet/internal/storetest"
)

// metaValue reads one row of the meta table of an SQLite file.
func metaValue(t *testing.T, path, key string) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v []byte
	if err := db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// filesHold reports whether any of the database's files (with its WAL)
// holds secret.
func filesHold(t *testing.T, db, secret string) bool {
	for _, f := range []string{db, db + "-wal"} {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(secret)) {
			return true
		}
	}
	return false
}

// Neither the database nor a snapshot holds a backend credential or the
// mail-link secret in a usable form: they are sealed with a key kept in
// <data>/secrets.key (0600), which is never stored in the database.
func TestSecretsAtRest(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", nil, append(mailFlags(sk.addr), "--offline-allow-private")...)
	org := s.newOrg(1, 5, "--offline=true")
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("dav-password-7b1f0c\n"), 0o600)
	s.mustLicet("offline", "set", "--org", org, "--backend", "https://dav.customer.example/crm/licet-offline.lic", "--backend-user", "crm", "--backend-password-file", pass)
	db := filepath.Join(s.dir, "licet.db")
	snap := filepath.Join(t.TempDir(), "snap.db")
	s.mustLicet("backup", "--out", snap)

	fi, err := os.Stat(filepath.Join(s.dir, "secrets.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets.key: %v %v; want a file of mode 0600", fi, err)
	}
	key, _ := os.ReadFile(filepath.Join(s.dir, "secrets.key"))
	for _, f := range []string{db, snap} {
		if filesHold(t, f, "dav-password-7b1f0c") {
			t.Errorf("%s holds the backend password", filepath.Base(f))
		}
		for _, line := range strings.Split(strings.TrimSpace(string(key)), "\n") {
			if fields := strings.Fields(line); len(fields) == 2 && filesHold(t, f, fields[1]) {
				t.Errorf("%s holds the secrets key", filepath.Base(f))
			}
		}
	}
	// Whoever holds a snapshot cannot forge a subscriptions link with what
	// it stores.
	stored := metaValue(t, snap, "secret:mail-links")
	forged := (&mail.Links{Base: s.url, Secret: stored}).SubscriptionsURL("victim@customer.example")
	if code := getCode(t, forged); code != 403 {
		t.Errorf("a link signed with the snapshot's stored secret: %d; want 403", code)
	}
	// The server itself still uses both.
	if show := s.mustLicet("offline", "show", "--org", org); !strings.Contains(show, "credentials: set") {
		t.Errorf("offline show:\n%s", show)
	}
}

// sealedSecret opens a sealed value of the database with the data folder's
// key file, as licet does.
func sealedSecret(t *testing.T, dir, value, where string) []byte {
	t.Helper()
	box, err := secrets.Open(filepath.Join(dir, "secrets.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := box.Open(value, where)
	if err != nil {
		t.Fatalf("open %q: %v", value, err)
	}
	return plain
}

func execSQL(t *testing.T, path, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// A database from before sealing is sealed on the first start; rotating the
// key seals everything again and keeps the secrets themselves; a server
// without the key refuses to start on a database sealed with it.
func TestSecretsMigrateAndRotate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "licet.db")
	s := start(t, dir, nil, "--offline-allow-private")
	org := s.newOrg(1, 5, "--offline=true")
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
	dav := newDAV(t)
	dav.fs.Mkdir(context.Background(), "/crm", 0o755)
	s.mustLicet("offline", "set", "--org", org, "--backend", dav.URL+"/crm/licet-offline.lic")
	s.stop()
	// As an older licet left it: credentials and the mail secret in plain text.
	mailSecret := bytes.Repeat([]byte{7}, 32)
	execSQL(t, db, `UPDATE organizations SET offline_auth = 'basic crm:s3cret'`)
	execSQL(t, db, `INSERT INTO meta (key, value) VALUES ('secret:mail-links', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, mailSecret)
	execSQL(t, db, `DELETE FROM meta WHERE key = 'secrets-key-id'`)

	s = start(t, dir, nil, "--offline-allow-private")
	if out := s.mustLicet("offline", "issue", "--org", org); !strings.Contains(out, "saved to the organization's backend") {
		t.Errorf("upload with the sealed credentials: %s", out)
	}
	stored := string(metaValue(t, db, "secret:mail-links"))
	if !strings.HasPrefix(stored, "sealed:v1:") || !bytes.Equal(sealedSecret(t, dir, stored, "meta\x00secret:mail-links"), mailSecret) {
		t.Errorf("the mail secret is stored as %q; want it sealed, the same secret", stored)
	}
	if filesHold(t, db, "crm:s3cret") {
		t.Error("the database still holds the plain credentials")
	}

	oldKey, _ := os.ReadFile(filepath.Join(dir, "secrets.key"))
	out := s.mustLicet("secrets", "rotate")
	if !strings.Contains(out, "2 sealed again") {
		t.Errorf("rotate said: %s", out)
	}
	newKey, _ := os.ReadFile(filepath.Join(dir, "secrets.key"))

	if bytes.Equal(oldKey, newKey) || strings.Count(strings.TrimSpace(string(newKey)), "\n") != 1 {
		t.Errorf("the key file after rotation:\n%s", newKey)
	}
	if got := sealedSecret(t, dir, string(metaValue(t, db, "secret:mail-links")), "meta\x00secret:mail-links"); !bytes.Equal(got, mailSecret) {
		t.Error("rotation changed the mail secret (links in mails already sent would break)")
	}
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 2))
	if out := s.mustLicet("offline", "issue", "--org", org); !strings.Contains(out, "saved to the organization's backend") {
		t.Errorf("upload after rotation: %s", out)
	}
	s.stop()
	if !strings.Contains(s.logs.String(), "secrets sealed") || !strings.Contains(s.logs.String(), "secrets key rotated") {
		t.Errorf("the log does not say the secrets were sealed and the key rotated:\n%s", s.logs)
	}

	// The old key file opens nothing any more.
	os.WriteFile(filepath.Join(dir, "secrets.key"), oldKey, 0o600)
	var logs syncBuffer
	p := &cli.Program{Stdout: io.Discard, Stderr: &logs, Clock: s.clock}
	if code := p.Run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data", dir}); code == 0 ||
		!strings.Contains(logs.String(), "copy secrets.key from the server that made it") {
		t.Errorf("a server with the old key: exit %d\n%s", code, logs.String())
	}
}

// On PostgreSQL too: plain secrets from an older licet are sealed on the
// first start and the tables rewritten; the credentials still work.
func TestSecretsOnPostgres(t *testing.T) {
	db := storetest.PostgresURL(t)
	dir := t.TempDir()
	s := start(t, dir, nil, "--database", db, "--offline-allow-private")
	org := s.newOrg(1, 5, "--offline=true")
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
	dav := newDAV(t)
	dav.fs.Mkdir(context.Background(), "/crm", 0o755)
	s.mustLicet("offline", "set", "--org", org, "--backend", dav.URL+"/crm/licet-offline.lic")
	s.stop()
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE organizations SET offline_auth = 'basic crm:s3cret'`); err != nil {
		t.Fatal(err)
	}
	s = start(t, dir, nil, "--database", db, "--offline-allow-private")
	if out := s.mustLicet("offline", "issue", "--org", org); !strings.Contains(out, "saved to the organization's backend") {
		t.Errorf("upload with the sealed credentials: %s", out)
	}
	var auth string
	conn.QueryRow(context.Background(), `SELECT offline_auth FROM organizations`).Scan(&auth)
	if !strings.HasPrefix(auth, "sealed:v1:") {
		t.Errorf("offline_auth is %q; want it sealed", auth)
	}
}
