package cli_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/licet/licet/internal/cli"
	"github.com/licet/licet/internal/storetest"
)

// The shipped systemd unit rates "OK" or better in systemd-analyze
// security (it rated 6.9 MEDIUM before it was sandboxed).
func TestSystemdUnitIsSandboxed(t *testing.T) {
	_, err := exec.LookPath("systemd-analyze")
	storetest.Require(t, "systemd-analyze (Debian package systemd)", err)
	dir := t.TempDir()
	unit, err := os.ReadFile("../../deploy/licet.service")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "licet.service")
	os.WriteFile(path, unit, 0o644)
	cmd := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", path)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for licet.service: ([0-9.]+) (\w+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("systemd-analyze security: %s %s", m[1], m[2])
	if score >= 4 || (m[2] != "OK" && m[2] != "SAFE" && m[2] != "PERFECT") {
		t.Errorf("the unit rates %s %s; want OK or better\n%s", m[1], m[2], out)
	}
	// --data is absolute wherever licet is packaged.
	if !strings.Contains(string(unit), "licet serve --data /var/lib/licet") {
		t.Error("the unit does not start licet with an absolute --data")
	}
	if df, _ := os.ReadFile("../../deploy/Dockerfile"); !strings.Contains(string(df), `CMD ["serve", "--data", "/data"]`) {
		t.Error("the Dockerfile does not start licet with an absolute --data")
	}
}

// docker build sends the context minus .dockerignore: what the quick start
// leaves in the checkout (the data folder with its key, token and
// database) never goes.
func TestDockerignoreKeepsSecretsOut(t *testing.T) {
	f, err := os.Open("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type pattern struct {
		glob     string
		anywhere bool // "**/glob": at any depth; otherwise from the context's root
	}
	var patterns []pattern
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			g, anywhere := strings.CutPrefix(l, "**/")
			patterns = append(patterns, pattern{g, anywhere})
		}
	}
	// Docker's rules: a pattern matches a path or one of its parent
	// folders (which excludes everything in it).
	ignored := func(path string) bool {
		parts := strings.Split(path, "/")
		for _, p := range patterns {
			for i := range parts {
				if i > 0 && !p.anywhere {
					break
				}
				for j := i + 1; j <= len(parts); j++ {
					if ok, _ := filepath.Match(p.glob, strings.Join(parts[i:j], "/")); ok {
						return true
					}
				}
			}
		}
		return false
	}
	for _, p := range []string{"licet-data/keys/0123abcd.pem", "licet-data/operator-token", "licet-data/licet.db", "backup-data/licet.db",
		"snap.db", "cert.pem", "deploy/licet.env", ".git/config", "licet-offline.lic", "device.store"} {
		if !ignored(p) {
			t.Errorf("%s would go into the build context", p)
		}
	}
	for _, p := range []string{"go.mod", "cmd/licet/main.go", "internal/server/console/users.html", "internal/sqlite/migrations/0001_init.sql"} {
		if ignored(p) {
			t.Errorf("%s, which the build needs, is ignored", p)
		}
	}
}

// A token on the command line is visible to every local user: the CLI
// says so (and not when it comes from LICET_TOKEN or a file).
func TestTokenOnTheCommandLineWarns(t *testing.T) {
	s := start(t, "", nil)
	tok := s.token()
	run := func(env map[string]string, args ...string) string {
		var out, errb strings.Builder
		p := &cli.Program{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
		if code := p.Run(context.Background(), args); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return errb.String()
	}
	if e := run(nil, "org", "list", "--server", s.url, "--token", tok); !strings.Contains(e, "warning: --token on the command line") {
		t.Errorf("--token on the command line: stderr %q", e)
	}
	if e := run(map[string]string{"LICET_TOKEN": tok}, "org", "list", "--server", s.url); e != "" {
		t.Errorf("LICET_TOKEN: stderr %q", e)
	}
	if e := run(nil, "org", "list", "--server", s.url, "--token-file", filepath.Join(s.dir, "operator-token")); e != "" {
		t.Errorf("--token-file: stderr %q", e)
	}
}
