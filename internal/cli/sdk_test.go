package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet/internal/storetest"
	"github.com/licet/licet/protocol"
)

// TestSDKsVerifyWhatTheServerSigns takes one lease and one offline license
// from the real server and verifies them in all three verifiers: the Go
// client, the JavaScript command line (sdk/js) and the Java one (sdk/java),
// and has each refuse them for another user.
func TestSDKsVerifyWhatTheServerSigns(t *testing.T) {
	node, err := exec.LookPath("node")
	storetest.Require(t, "node (Node.js 20+)", err)
	_, err = exec.LookPath("javac")
	storetest.Require(t, "a JDK (javac)", err)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	build := exec.Command("bash", filepath.Join(root, "sdk", "java", "build.sh"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("sdk/java/build.sh: %v\n%s", err, out)
	}
	jar := filepath.Join(root, "sdk", "java", "build", "licet.jar")
	js := filepath.Join(root, "sdk", "js", "bin", "licet-verify.mjs")

	s := start(t, "", nil)
	dir := t.TempDir()
	org := s.newOrg(1, 5, "--auto-assign=true", "--offline=true")
	user := guid('u', 1)
	s.mustLicet("user", "assign", "--org", org, "--user", user)
	a := s.check(org, user)
	if !a.Licensed {
		t.Fatalf("not licensed: %+v", a)
	}
	pemFile := filepath.Join(dir, "public.pem")
	pemText := s.mustLicet("keys", "public")
	os.WriteFile(pemFile, []byte(pemText), 0o644)
	lic := filepath.Join(dir, "offline.lic")
	s.mustLicet("offline", "issue", "--org", org, "--out", lic)
	device := "dev-" + user

	// Go.
	keys, err := protocol.ParsePublicKeys([]byte(pemText))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := protocol.DecodeBase64(a.Lease)
	sig, _ := protocol.DecodeBase64(a.Signature)
	now := time.Now()
	if _, err := protocol.VerifyLease(payload, sig, keys, protocol.LeaseCheck{Org: org, User: user, Device: device, Now: now, Drift: 5 * time.Minute}); err != nil {
		t.Errorf("Go: the lease: %v", err)
	}
	doc, _ := os.ReadFile(lic)
	if _, _, err := protocol.VerifyOffline(doc, keys, protocol.OfflineCheck{Org: org, URL: "https://crm.example.net", User: user, Now: now, Drift: 5 * time.Minute}); err != nil {
		t.Errorf("Go: the offline license: %v", err)
	}

	// JavaScript and Java, through their command lines.
	for _, v := range []struct{ name, cmd string }{{"JavaScript", node + " " + js}, {"Java", "java -jar " + jar}} {
		run := func(args ...string) (int, string) {
			f := strings.Fields(v.cmd)
			out, err := exec.Command(f[0], append(f[1:], args...)...).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode(), string(out)
			} else if err != nil {
				t.Fatal(err)
			}
			return 0, string(out)
		}
		lease := []string{"lease", "--key", pemFile, "--lease", a.Lease, "--signature", a.Signature, "--org", org, "--device", device}
		if code, out := run(append(lease, "--user", user)...); code != 0 {
			t.Errorf("%s: the lease: exit %d: %s", v.name, code, out)
		}
		if code, out := run(append(lease, "--user", guid('u', 2))...); code != 1 || !strings.Contains(out, "wrong-user") {
			t.Errorf("%s: another user's lease: exit %d: %s", v.name, code, out)
		}
		offline := []string{"offline", lic, "--key", pemFile, "--org", org, "--url", "https://CRM.example.net:443/"}
		if code, out := run(append(offline, "--user", user)...); code != 0 {
			t.Errorf("%s: the offline license: exit %d: %s", v.name, code, out)
		}
		if code, out := run(append(offline, "--user", guid('u', 2))...); code != 1 || !strings.Contains(out, "user-not-licensed") {
			t.Errorf("%s: a user absent from the offline license: exit %d: %s", v.name, code, out)
		}
	}
}
