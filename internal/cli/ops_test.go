package cli_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet/internal/cli"
)

func getWith(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /metrics tells anyone how many checks, assignments and errors a vendor
// has: it is not on the public listener without the operator token.
func TestMetricsAreNotPublic(t *testing.T) {
	probe, _ := net.Listen("tcp", "127.0.0.1:0")
	metricsAddr := probe.Addr().String()
	probe.Close()
	s := start(t, "", nil, "--metrics-listen", metricsAddr)
	org := s.newOrg(1, 1)
	s.check(org, guid('u', 1))
	if code, body := getWith(t, s.url+"/metrics", ""); code != 401 || strings.Contains(body, "licet_checks_total") {
		t.Errorf("GET /metrics on the public listener without a token: %d", code)
	}
	if code, _ := getWith(t, s.url+"/metrics", "lct_wrong"); code != 401 {
		t.Errorf("GET /metrics with a wrong token: %d", code)
	}
	c := signIn(t, s, s.invite(org, "alice@customer.example"), "alice@customer.example")
	_, page := form(t, c, s.url+"/admin/tokens", map[string][]string{"name": {"x"}})
	if code, _ := getWith(t, s.url+"/metrics", regexpFind(`lca_[A-Za-z0-9_-]+`, page)); code != 403 {
		t.Errorf("GET /metrics with an administrator's API token: %d; want 403", code)
	}
	want := `licet_checks_total{source="primary",status="Licensed"} 1`
	if code, body := getWith(t, s.url+"/metrics", s.token()); code != 200 || !strings.Contains(body, want) {
		t.Errorf("GET /metrics with the operator token: %d", code)
	}
	if code, body := getWith(t, "http://"+metricsAddr+"/metrics", ""); code != 200 || !strings.Contains(body, want) {
		t.Errorf("GET /metrics on --metrics-listen: %d", code)
	}
	if code, _ := getWith(t, "http://"+metricsAddr+"/admin/login", ""); code != 404 {
		t.Errorf("the metrics listener serves the console: %d", code)
	}
}

// A device that hangs up while its check waits is no internal error: it is
// logged at debug level and counted apart.
func TestDroppedClientIsNotAnInternalError(t *testing.T) {
	s := start(t, "", nil, "--rate-device", "0")
	org := s.newOrg(1, 5)
	s.check(org, guid('u', 1))
	// Hold SQLite's write lock so that the next admission waits.
	db, err := sql.Open("sqlite", filepath.Join(s.dir, "licet.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"organizationId": org, "userId": guid('u', 2), "deviceId": "d2"})
	dev, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(dev, "POST /v1/license/check HTTP/1.1\r\nHost: licet\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	time.Sleep(300 * time.Millisecond)
	dev.Close() // the device gives up
	time.Sleep(300 * time.Millisecond)
	if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m := getWith(t, s.url+"/metrics", s.token())
		if strings.Contains(m, `status="client_closed"`) {
			if strings.Contains(m, `status="error:internal"`) {
				t.Errorf("a dropped client counted as an internal error")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dropped check was not counted as client_closed:\n%s", grepLines(m, "licet_checks_total"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("logged as an error: %s", line)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// serveFails runs "licet serve" with args and env and returns its exit code
// and stderr.
func serveFails(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var errb syncBuffer
	p := cliProgram(io.Discard, &errb, env)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := p.Run(ctx, append([]string{"serve", "--data", t.TempDir()}, args...))
	return code, errb.String()
}

// Secrets on the command line show in ps and in the shell's history: the
// flags that carry them can be read from files.
func TestSecretFlagsFromFiles(t *testing.T) {
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "database")
	os.WriteFile(dbFile, []byte(filepath.Join(dir, "from-file.db")+"\n"), 0o600)
	s := start(t, "", nil, "--database-file", dbFile)
	s.newOrg(1, 1)
	if _, err := os.Stat(filepath.Join(dir, "from-file.db")); err != nil {
		t.Errorf("--database-file was not used: %v", err)
	}
	s.stop()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		says string
	}{
		{"both", nil, []string{"--database", "x.db", "--database-file", dbFile}, "give --database or --database-file, not both"},
		{"missing file", nil, []string{"--database-file", filepath.Join(dir, "nope")}, "--database-file"},
		{"empty file", nil, []string{"--smtp-url-file", os.DevNull, "--mail-from", "a@b.example"}, "--smtp-url-file"},
		{"bad smtp url in file", nil, []string{"--smtp-url-file", writeTemp(t, "http://mail.example\n"), "--mail-from", "a@b.example"}, "smtp"},
		{"env file missing", map[string]string{"LICET_SMTP_URL_FILE": filepath.Join(dir, "nope")}, []string{"--mail-from", "a@b.example"}, "--smtp-url-file"},
		{"a folder", nil, []string{"--database-file", dir}, "--database-file"},
	} {
		code, stderr := serveFails(t, tc.env, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.says) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: exit %d, %q; want a one-line error naming %s", tc.name, code, stderr, tc.says)
		}
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Listening on every address without --public-url, licet cannot know the
// URL devices and mail recipients reach it by: it refuses to guess.
func TestWildcardListenNeedsPublicURL(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", "[::]:0", ":0"} {
		code, stderr := serveFails(t, nil, "--listen", listen, "--smtp-url", "smtp://127.0.0.1:1", "--mail-from", "licensing@vendor.example")
		if code != 2 || !strings.Contains(stderr, "--public-url") {
			t.Errorf("--listen %s with mail and no --public-url: exit %d, %q", listen, code, stderr)
		}
	}
}

func cliProgram(stdout, stderr io.Writer, env map[string]string) *cli.Program {
	return &cli.Program{Stdout: stdout, Stderr: stderr, Getenv: func(k string) string { return env[k] }}
}

func TestWildcardListenWithOfflineLicensesNeedsPublicURL(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, nil)
	s.newOrg(1, 1, "--offline=true")
	s.stop()
	code, stderr := serveFails(t, nil, "--listen", "0.0.0.0:0", "--data", dir)
	if code != 2 || !strings.Contains(stderr, "--public-url") || !strings.Contains(stderr, "offline") {
		t.Errorf("--listen 0.0.0.0:0 with offline licenses and no --public-url: exit %d, %q", code, stderr)
	}
	// With --public-url it starts (and stops when asked).
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	p := cliProgram(io.Discard, io.Discard, nil)
	p.OnListen = func(string) { close(ready); cancel() }
	if code := p.Run(ctx, []string{"serve", "--listen", "0.0.0.0:0", "--data", dir, "--public-url", "https://licensing.vendor.example"}); code != 0 {
		t.Errorf("with --public-url: exit %d", code)
	}
	<-ready
}

// The new serve flags refuse bad values with one line, before anything is
// created in the data folder.
func TestServeRefusesBadNewFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--backup-url", "ftp://backup.example"}, "--backup-url"},
		{[]string{"--backup-url", "https://"}, "--backup-url"},
		{[]string{"--primary-url", "not a url"}, "--primary-url"},
		{[]string{"--primary-url", "https://user:pass@primary.example"}, "--primary-url"},
		{[]string{"--metrics-listen", "999.0.0.1:1"}, "--metrics-listen"},
		{[]string{"--metrics-listen", "nonsense"}, "--metrics-listen"},
		{[]string{"--database-file", "/dev/null/x"}, "--database-file"},
		{[]string{"--patroni", "http://127.0.0.1:8008"}, "--patroni"}, // SQLite
		{[]string{"--database", "postgres://db/licet", "--patroni", "ftp://127.0.0.1:8008"}, "--patroni"},
		{[]string{"--database", "postgres://db/licet", "--patroni", " , "}, "--patroni"},
		{[]string{"--database", "postgres://db/licet", "--patroni", "http://a:8008", "--db-pgbouncer"}, "--patroni"},
		{[]string{"--cache-grace", "-1s"}, "--cache-grace"},
	} {
		data := t.TempDir()
		var errb syncBuffer
		p := cliProgram(io.Discard, &errb, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := p.Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data}, tc.args...))
		cancel()
		stderr := errb.String()
		if code == 0 || !strings.Contains(stderr, tc.says) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, %q; want one line naming %s", tc.args, code, stderr, tc.says)
		}
		if entries, _ := os.ReadDir(data); len(entries) != 0 {
			t.Errorf("%v: the refused start left %d files in the data folder", tc.args, len(entries))
		}
	}
}

// A file holding a secret that every local user can read defeats the point
// of keeping it out of ps: serve says so (a warning, not a refusal: Docker
// secrets are 0444 inside their container).
func TestSecretFileReadableByOthersIsWarnedAbout(t *testing.T) {
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "database")
	os.WriteFile(dbFile, []byte(filepath.Join(dir, "from-file.db")+"\n"), 0o644)
	os.Chmod(dbFile, 0o644)
	s := start(t, "", nil, "--database-file", dbFile)
	s.stop()
	if logs := s.logs.String(); !strings.Contains(logs, "--database-file") || !strings.Contains(logs, "chmod 600") {
		t.Errorf("a 0644 --database-file gave no warning naming the flag and the fix; stderr:\n%s", logs)
	}
	private := filepath.Join(dir, "private")
	os.WriteFile(private, []byte(filepath.Join(dir, "other.db")+"\n"), 0o600)
	s = start(t, "", nil, "--database-file", private)
	s.stop()
	if logs := s.logs.String(); strings.Contains(logs, "chmod 600") {
		t.Errorf("a 0600 --database-file was warned about:\n%s", logs)
	}
}
