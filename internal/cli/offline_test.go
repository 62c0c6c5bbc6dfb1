package cli_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licet/licet/internal/storetest"
	"github.com/licet/licet/protocol"
	"golang.org/x/net/webdav"
)

// davServer is a real WebDAV server (golang.org/x/net/webdav) with basic
// auth; failMove makes it answer 500 to the next MOVE, mid-upload.
type davServer struct {
	*httptest.Server
	fs       webdav.FileSystem
	failMove atomic.Bool
}

func newDAV(t *testing.T) *davServer {
	d := &davServer{fs: webdav.NewMemFS()}
	h := &webdav.Handler{FileSystem: d.fs, LockSystem: webdav.NewMemLS()}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Devices read anonymously; every other method needs the credentials.
		if u, p, ok := r.BasicAuth(); (r.Method != "GET" || ok) && (!ok || u != "crm" || p != "s3cret") {
			w.Header().Set("WWW-Authenticate", `Basic realm="dav"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method == "MOVE" && d.failMove.Swap(false) {
			http.Error(w, "disk full", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(d.Close)
	return d
}

// file reads a file on the WebDAV server's storage, "" when absent.
func (d *davServer) file(t *testing.T, name string) string {
	f, err := d.fs.OpenFile(context.Background(), name, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}

func (d *davServer) names(t *testing.T) []string {
	f, err := d.fs.OpenFile(context.Background(), "/crm", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fis, _ := f.Readdir(-1)
	var out []string
	for _, fi := range fis {
		out = append(out, fi.Name())
	}
	return out
}

func TestOfflineLicenses(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		clk := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
		s := start(t, "", clk, db.flags()...)
		org := s.newOrg(1, 10)
		dir := t.TempDir()
		file := filepath.Join(dir, "offline.lic")

		// The operator has not enabled offline licenses: refused.
		if _, err := s.licet("offline", "issue", "--org", org); err == nil || !strings.Contains(err.Error(), "ask your vendor to enable offline licenses") {
			t.Fatalf("issue before enabling: %v", err)
		}
		s.mustLicet("org", "set", "--org", org, "--offline=true")
		s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
		s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 2))
		s.check(org, guid('u', 3)) // assigned automatically: in the file too
		out := s.mustLicet("offline", "issue", "--org", org, "--out", file)
		if !strings.Contains(out, "3 users") || !strings.Contains(out, "place the file at https://crm.example.net/licet-offline.lic") {
			t.Errorf("issue said:\n%s", out)
		}
		doc, _ := os.ReadFile(file)
		l, err := protocol.ParseOffline(doc, keysOf(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Users["Standard"]; len(got) != 3 || got[0] != guid('u', 1) || got[1] != guid('u', 2) || got[2] != guid('u', 3) {
			t.Errorf("users in the license: %v; want the two an administrator assigned and the one assigned automatically", l.Users)
		}

		// licet offline verify, as a device would.
		os.WriteFile(filepath.Join(dir, "public.pem"), []byte(s.mustLicet("keys", "public")), 0o600)
		verify := func(args ...string) error {
			_, err := s.licet(append([]string{"offline", "verify", file, "--key", filepath.Join(dir, "public.pem")}, args...)...)
			return err
		}
		if err := verify("--org", org, "--url", "https://CRM.example.net/", "--user", strings.ToLower(guid('u', 1))); err != nil {
			t.Errorf("the right user: %v", err)
		}
		for name, args := range map[string][]string{
			"stranger":    {"--org", org, "--url", "https://crm.example.net", "--user", guid('u', 4)},
			"another org": {"--org", guid('o', 2), "--url", "https://crm.example.net", "--user", guid('u', 1)},
			"another URL": {"--org", org, "--url", "https://other.example.net", "--user", guid('u', 1)},
		} {
			if err := verify(args...); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}

		// OpenSSL verifies it from docs/PROTOCOL.md: the header's third field is
		// the signature, everything after the first line feed the payload.
		_, err = exec.LookPath("openssl")
		storetest.Require(t, "openssl", err)
		sh := `head -n 1 offline.lic | cut -d' ' -f3 | base64 -d > sig.bin && tail -n +2 offline.lic > payload.bin &&
			openssl pkeyutl -verify -pubin -inkey public.pem -rawin -in payload.bin -sigfile sig.bin`
		cmd := exec.Command("sh", "-c", sh)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
			t.Errorf("openssl: %v %s", err, out)
		}

		// Expired: the clock passes the validity (30 days by default).
		later := clk.Now().Add(31 * day).Format(time.RFC3339)
		if err := verify("--org", org, "--url", "https://crm.example.net", "--user", guid('u', 1), "--at", later); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("expired document: %v", err)
		}
	})
}

func keysOf(t *testing.T, s *server) map[string]ed25519.PublicKey {
	keys, err := protocol.ParsePublicKeys([]byte(s.mustLicet("keys", "public")))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestOfflineUploadToWebDAV(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags("--offline-allow-private")...)
		org := s.newOrg(1, 10, "--offline=true")
		s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
		dav := newDAV(t)
		if err := dav.fs.Mkdir(context.Background(), "/crm", 0o755); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		pass := filepath.Join(dir, "pass")
		os.WriteFile(pass, []byte("s3cret\n"), 0o600)
		s.mustLicet("offline", "set", "--org", org, "--backend", dav.URL+"/crm/licet-offline.lic", "--backend-user", "crm", "--backend-password-file", pass)

		out := s.mustLicet("offline", "issue", "--org", org, "--out", filepath.Join(dir, "1.lic"))
		if !strings.Contains(out, "saved to the organization's backend") {
			t.Fatalf("issue: %s", out)
		}
		first, _ := os.ReadFile(filepath.Join(dir, "1.lic"))
		if got := dav.file(t, "/crm/licet-offline.lic"); got != string(first) {
			t.Fatalf("the backend holds %q; want the issued document", got)
		}

		// Each failure is clear, recorded, and leaves the previous document.
		s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 2))
		dav.failMove.Store(true)
		if _, err := s.licet("offline", "issue", "--org", org); err == nil || !strings.Contains(err.Error(), "500") {
			t.Errorf("500 mid-upload: %v", err)
		}
		wrong := filepath.Join(dir, "wrong")
		os.WriteFile(wrong, []byte("nope"), 0o600)
		s.mustLicet("offline", "set", "--org", org, "--backend-user", "crm", "--backend-password-file", wrong)
		if _, err := s.licet("offline", "issue", "--org", org); err == nil || !strings.Contains(err.Error(), "refused the credentials") {
			t.Errorf("wrong credentials: %v", err)
		}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		down := "http://" + ln.Addr().String() + "/crm/licet-offline.lic"
		ln.Close()
		s.mustLicet("offline", "set", "--org", org, "--backend", down, "--backend-user", "crm", "--backend-password-file", pass)
		if _, err := s.licet("offline", "issue", "--org", org); err == nil || !strings.Contains(err.Error(), "cannot be reached") {
			t.Errorf("backend down: %v", err)
		}
		if got := dav.file(t, "/crm/licet-offline.lic"); got != string(first) {
			t.Error("a failed upload changed the document on the backend")
		}
		if names := dav.names(t); len(names) != 1 {
			t.Errorf("files left on the backend: %v", names)
		}
		show := s.mustLicet("offline", "show", "--org", org)
		for _, want := range []string{"failed: the backend had a server error (MOVE", "refused the credentials", "cannot be reached", "uploaded"} {
			if !strings.Contains(show, want) {
				t.Errorf("history lacks %q:\n%s", want, show)
			}
		}
		if strings.Contains(show, "s3cret") || strings.Contains(s.mustLicet("offline", "show", "--org", org, "--json"), "s3cret") ||
			strings.Contains(s.logs.String(), "s3cret") || strings.Contains(s.mustLicet("audit", "--org", org), "s3cret") {
			t.Error("the backend password was shown or logged")
		}
		// The download always has the newest document.
		s.licet("offline", "issue", "--org", org, "--out", filepath.Join(dir, "last.lic")) // the upload fails; the license is issued
		last, _ := os.ReadFile(filepath.Join(dir, "last.lic"))
		l, err := protocol.ParseOffline(last, keysOf(t, s))
		if err != nil || len(l.Users["Standard"]) != 2 {
			t.Errorf("newest document: %v %v", l, err)
		}
	})
}

func TestOfflineLicenseNeverOutlivesTheSubscription(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags()...)
		org := s.newOrg(1, 0, "--offline=true")
		s.mustLicet("pool", "add", "--org", org, "--type", "Standard", "--seats", "5", "--until", time.Now().AddDate(0, 0, 3).Format(time.DateOnly))
		s.mustLicet("pool", "add", "--org", org, "--type", "Old", "--seats", "5", "--from", "2020-01-01")
		s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1), "--type", "Standard")
		s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 2), "--type", "Old")
		var pools []struct{ ID int64 }
		mustJSON(t, s.mustLicet("pool", "list", "--org", org, "--json"), &pools)
		s.mustLicet("pool", "set", "--org", org, "--pool", fmt.Sprint(pools[1].ID), "--until", "2021-01-01") // the Old pool has ended
		f := filepath.Join(t.TempDir(), "o.lic")
		s.mustLicet("offline", "issue", "--org", org, "--out", f)
		doc, _ := os.ReadFile(f)
		l, err := protocol.ParseOffline(doc, keysOf(t, s))
		if err != nil {
			t.Fatal(err)
		}
		until, _ := time.Parse(time.RFC3339, l.ValidUntil)
		if until.After(time.Now().AddDate(0, 0, 4)) {
			t.Errorf("the offline license runs until %s, past the pool's end", l.ValidUntil)
		}
		if len(l.Users["Old"]) != 0 || len(l.Users["Standard"]) != 1 {
			t.Errorf("users: %v; want only the one whose pool runs", l.Users)
		}
	})
}
