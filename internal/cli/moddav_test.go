package cli_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/licet/licet/internal/storetest"
)

// apacheDAV starts Debian's Apache httpd with mod_dav on loopback: writes
// need the user crm (password s3cret), reads are anonymous, as a customer
// would serve the file to devices. It returns the base URL and the folder
// the files land in.
func apacheDAV(t *testing.T) (string, string) {
	httpd, err := exec.LookPath("apache2")
	if err != nil {
		httpd, err = exec.LookPath("/usr/sbin/apache2")
	}
	storetest.Require(t, "Debian's apache2", err)
	htpasswd, err := exec.LookPath("htpasswd")
	storetest.Require(t, "htpasswd (apache2-utils)", err)
	dir := t.TempDir()
	docs := filepath.Join(dir, "www")
	os.MkdirAll(filepath.Join(docs, "crm"), 0o755)
	if out, err := exec.Command(htpasswd, "-bc", filepath.Join(dir, "users"), "crm", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	mods := "/usr/lib/apache2/modules"
	conf := fmt.Sprintf(`ServerRoot %[1]s
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
Listen %[2]s
ServerName localhost
LoadModule mpm_event_module %[3]s/mod_mpm_event.so
LoadModule authz_core_module %[3]s/mod_authz_core.so
LoadModule authz_user_module %[3]s/mod_authz_user.so
LoadModule authn_core_module %[3]s/mod_authn_core.so
LoadModule authn_file_module %[3]s/mod_authn_file.so
LoadModule auth_basic_module %[3]s/mod_auth_basic.so
LoadModule dav_module %[3]s/mod_dav.so
LoadModule dav_fs_module %[3]s/mod_dav_fs.so
DAVLockDB %[1]s/davlock
DocumentRoot %[4]s
<Directory %[4]s>
  Dav On
  AuthType Basic
  AuthName dav
  AuthUserFile %[1]s/users
  <LimitExcept GET HEAD OPTIONS>
    Require user crm
  </LimitExcept>
</Directory>
`, dir, addr, mods, docs)
	os.WriteFile(filepath.Join(dir, "httpd.conf"), []byte(conf), 0o644)
	cmd := exec.Command(httpd, "-f", filepath.Join(dir, "httpd.conf"), "-DFOREGROUND")
	cmd.Env = append(os.Environ(), "APACHE_RUN_DIR="+dir, "APACHE_LOCK_DIR="+dir, "APACHE_LOG_DIR="+dir)
	// In a process group of its own: killing only the parent left its
	// workers running after the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("apache2 did not start:\n%s", log)
		}
	}
	return "http://" + addr, docs
}

// The backend as the issue found it: Apache's mod_dav. Update saves the
// file (PUT, MOVE, read back), the test passes, and a device reads it.
func TestOfflineToApacheModDAV(t *testing.T) {
	base, docs := apacheDAV(t)
	s := start(t, "", nil, "--offline-allow-private", "--rate-device", "0")
	org := s.newOrg(1, 10, "--offline=true")
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
	s.check(org, guid('u', 2))
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("s3cret\n"), 0o600)
	file := base + "/crm/licet-offline.lic"
	s.mustLicet("offline", "set", "--org", org, "--backend", file, "--location", file, "--backend-user", "crm", "--backend-password-file", pass)
	if out := s.mustLicet("offline", "test", "--org", org); strings.Contains(out, "FAILED") {
		t.Errorf("test against mod_dav:\n%s", out)
	}
	out := s.mustLicet("offline", "issue", "--org", org)
	if !strings.Contains(out, "2 users") || !strings.Contains(out, "saved to the organization's backend") {
		t.Errorf("issue to mod_dav: %s", out)
	}
	names, _ := os.ReadDir(filepath.Join(docs, "crm"))
	if len(names) != 1 || names[0].Name() != "licet-offline.lic" {
		t.Errorf("files on the server: %v; want only the license", names)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "public.pem"), []byte(s.mustLicet("keys", "public")), 0o600)
	got, _ := os.ReadFile(filepath.Join(docs, "crm", "licet-offline.lic"))
	os.WriteFile(filepath.Join(dir, "o.lic"), got, 0o600)
	if _, err := s.licet("offline", "verify", filepath.Join(dir, "o.lic"), "--key", filepath.Join(dir, "public.pem"), "--org", org, "--url", "https://crm.example.net", "--user", guid('u', 2)); err != nil {
		t.Errorf("the automatically assigned user in the file on mod_dav: %v", err)
	}
	// Wrong credentials: refused, in licet's words.
	os.WriteFile(pass, []byte("wrong\n"), 0o600)
	s.mustLicet("offline", "set", "--org", org, "--backend-user", "crm", "--backend-password-file", pass)
	if _, err := s.licet("offline", "issue", "--org", org); err == nil || !strings.Contains(err.Error(), "refused the credentials") || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("wrong credentials on mod_dav: %v", err)
	}
}
