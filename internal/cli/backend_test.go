package cli_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/webdav"
)

// backendCase sets org's backend to url with the test credentials and
// issues; it returns the CLI's error.
func (s *server) issueTo(t *testing.T, org, url string) error {
	t.Helper()
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("s3cret\n"), 0o600)
	s.mustLicet("offline", "set", "--org", org, "--backend", url, "--backend-user", "crm", "--backend-password-file", pass)
	_, err := s.licet("offline", "issue", "--org", org)
	return err
}

// The upload never follows a redirect: a 302 would turn PUT and MOVE into
// GETs, and a 2xx on that GET was recorded as "uploaded".
func TestBackendRedirectIsAFailure(t *testing.T) {
	s := start(t, "", nil, "--offline-allow-private")
	org := s.newOrg(1, 10, "--offline=true")
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok"))
			return
		}
		http.Redirect(w, r, "/healthz", http.StatusFound)
	}))
	defer redirect.Close()
	err := s.issueTo(t, org, redirect.URL+"/crm/licet-offline.lic")
	if err == nil || !strings.Contains(err.Error(), "the backend redirected") || !strings.Contains(err.Error(), "302") {
		t.Errorf("a redirecting backend: %v; want a failure saying it redirected, with 302", err)
	}
	if show := s.mustLicet("offline", "show", "--org", org); strings.Contains(show, "uploaded") {
		t.Errorf("recorded as uploaded:\n%s", show)
	}
}

// What the far side says never reaches the administrator: a fixed
// category and the status code only.
func TestBackendErrorsRepeatNothingTheBackendSaid(t *testing.T) {
	s := start(t, "", nil, "--offline-allow-private")
	org := s.newOrg(1, 10, "--offline=true")
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))

	// A service that does not speak HTTP and greets with a secret.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("redis_password=hunter2 -ERR unknown command\r\n"))
			c.Close()
		}
	}()
	// An HTTP server whose reason phrase and body carry text.
	chatty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, _ := w.(http.Hijacker).Hijack()
		buf.WriteString("HTTP/1.1 500 hunter2 leaked\r\nContent-Length: 7\r\nConnection: close\r\n\r\nhunter2")
		buf.Flush()
		conn.Close()
	}))
	defer chatty.Close()
	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	down := refused.Addr().String()
	refused.Close()
	for _, tc := range []struct{ url, want string }{
		{"http://" + ln.Addr().String() + "/crm/x.lic", "does not speak HTTP"},
		{chatty.URL + "/crm/x.lic", "server error"},
		{"http://" + down + "/crm/x.lic", "cannot be reached"},
	} {
		err := s.issueTo(t, org, tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.url, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "ERR")) {
			t.Errorf("%s: the error repeats the far side: %v", tc.url, err)
		}
	}
	show := s.mustLicet("offline", "show", "--org", org)
	if strings.Contains(show, "hunter2") || strings.Contains(show, "connection refused") || strings.Contains(s.mustLicet("audit", "--org", org), "hunter2") {
		t.Errorf("the history repeats the far side:\n%s", show)
	}
}

// Loopback, private, link-local, unspecified and multicast destinations
// are refused unless the operator allows them.
func TestBackendPrivateAddressesAreRefused(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 10, "--offline=true")
	before := s.mustLicet("offline", "show", "--org", org, "--json")
	for _, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:8080/crm/x.lic", "a loopback address is not allowed as a backend; see --offline-allow-private"},
		{"http://localhost:8080/crm/x.lic", "a loopback address"},
		{"http://10.1.2.3/crm/x.lic", "a private address"},
		{"http://192.168.0.10/crm/x.lic", "a private address"},
		{"http://172.16.0.1/crm/x.lic", "a private address"},
		{"http://[fd00::1]/crm/x.lic", "a private address"},
		{"http://169.254.169.254/latest/x.lic", "a link-local address"},
		{"http://[fe80::1]/crm/x.lic", "a link-local address"},
		{"http://0.0.0.0/crm/x.lic", "an unspecified address"},
		{"http://[::]/crm/x.lic", "an unspecified address"},
		{"http://224.0.0.1/crm/x.lic", "a multicast address"},
		{"http://[::ffff:127.0.0.1]/crm/x.lic", "a loopback address"},
	} {
		_, err := s.licet("offline", "set", "--org", org, "--backend", tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("backend %s: %v; want %q", tc.url, err, tc.want)
		}
		_, err = s.licet("offline", "set", "--org", org, "--location", tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("location %s: %v; want %q", tc.url, err, tc.want)
		}
	}
	if after := s.mustLicet("offline", "show", "--org", org, "--json"); after != before {
		t.Errorf("a refused backend was stored:\n%s", after)
	}
}

// The file is read back after the MOVE: a backend that answers 201 but
// keeps nothing (or something else) is not "uploaded".
func TestBackendReadBack(t *testing.T) {
	s := start(t, "", nil, "--offline-allow-private")
	org := s.newOrg(1, 10, "--offline=true")
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
	fs := webdav.NewMemFS()
	fs.Mkdir(context.Background(), "/crm", 0o755)
	dav := &webdav.Handler{FileSystem: fs, LockSystem: webdav.NewMemLS()}
	var mode string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "MOVE" && mode == "lie":
			w.WriteHeader(http.StatusCreated) // says moved, keeps nothing
			return
		case r.Method == "GET" && mode == "other":
			w.Write([]byte("licet-offline-v1 something else entirely"))
			return
		}
		dav.ServeHTTP(w, r)
	}))
	defer srv.Close()
	for _, m := range []string{"lie", "other"} {
		mode = m
		err := s.issueTo(t, org, srv.URL+"/crm/licet-offline-"+m+".lic")
		if err == nil || !strings.Contains(err.Error(), "read back") {
			t.Errorf("a backend that %s: %v; want a failure saying the file read back is not the one sent", m, err)
		}
	}
	mode = ""
	if err := s.issueTo(t, org, srv.URL+"/crm/licet-offline.lic"); err != nil {
		t.Errorf("an honest backend: %v", err)
	}
}
