package storetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// HACluster is a Patroni + etcd cluster of three PostgreSQL nodes made by
// scripts/ha-cluster.sh, for tests that lose the leader.
type HACluster struct {
	t   testing.TB
	Dir string
	// URL names all three nodes (target_session_attrs=read-write);
	// Patroni lists the members' REST APIs (licet serve --patroni).
	URL, Patroni string
}

func haScript() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "ha-cluster.sh")
}

// HAScript runs scripts/ha-cluster.sh with args and returns its output.
func HAScript(args ...string) (string, error) {
	out, err := exec.Command(haScript(), args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// NewHACluster starts a cluster; env sets its Patroni settings (HA_TTL=8,
// HA_SYNC=false…). It is stopped and removed when the test ends.
func NewHACluster(t testing.TB, env ...string) *HACluster {
	t.Helper()
	base, err := os.MkdirTemp("", "licet-ha-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755) // the postgres user must reach its folders
	c := &HACluster{t: t, Dir: filepath.Join(base, "cluster")}
	c.up(base, env, "up", c.Dir)
	return c
}

// NewStandbyCluster starts a second cluster that replicates c as a Patroni
// standby_cluster (the backup region).
func (c *HACluster) NewStandbyCluster() *HACluster {
	c.t.Helper()
	base, err := os.MkdirTemp("", "licet-ha-")
	if err != nil {
		c.t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	s := &HACluster{t: c.t, Dir: filepath.Join(base, "standby")}
	s.up(base, nil, "up", s.Dir, "--standby-of", c.Dir)
	return s
}

func (c *HACluster) up(base string, env []string, args ...string) {
	c.t.Helper()
	c.t.Cleanup(func() {
		if c.t.Failed() {
			// What Patroni said, for the failure's report.
			for _, n := range []string{"n1", "n2", "n3"} {
				b, _ := os.ReadFile(filepath.Join(c.Dir, n, "patroni.log"))
				var keep []string
				for _, l := range strings.Split(string(b), "\n") {
					if (strings.Contains(l, " INFO: ") || strings.Contains(l, " WARNING: ") || strings.Contains(l, " ERROR: ")) &&
						!strings.Contains(l, "no action.") && !strings.Contains(l, "Exception happened") && !strings.Contains(l, "Traceback") {
						keep = append(keep, l)
					}
				}
				c.t.Logf("%s's Patroni log (last lines):\n%s", n, strings.Join(keep[max(0, len(keep)-60):], "\n"))
			}
		}
		if out, err := HAScript("down", c.Dir); err != nil {
			c.t.Logf("ha-cluster.sh down: %v %s", err, out)
		}
		os.RemoveAll(base)
	})
	cmd := exec.Command(haScript(), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	Require(c.t, fmt.Sprintf("a Patroni + etcd cluster (ha-cluster.sh %v: %s)", args, out), err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-1], "postgres://") {
		c.t.Fatalf("ha-cluster.sh up printed no URL:\n%s", out)
	}
	c.URL = lines[len(lines)-1]
	c.Patroni = strings.TrimPrefix(lines[len(lines)-2], "patroni: ")
}

// Leader returns the PIDs of the leader node's Patroni and postmaster.
func (c *HACluster) Leader() (patroni, postmaster int) {
	c.t.Helper()
	out, err := HAScript("leader", c.Dir)
	if err != nil {
		c.t.Fatalf("ha-cluster.sh leader: %v %s", err, out)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		c.t.Fatalf("ha-cluster.sh leader printed %q; want two PIDs", out)
	}
	patroni, err1 := strconv.Atoi(f[0])
	postmaster, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		c.t.Fatalf("ha-cluster.sh leader printed %q", out)
	}
	return patroni, postmaster
}

// Member is one node as ha-cluster.sh members reports it.
type Member struct {
	Name, Role, State   string
	Patroni, Postmaster int
}

// Members lists the nodes.
func (c *HACluster) Members() []Member {
	c.t.Helper()
	out, err := HAScript("members", c.Dir)
	if err != nil {
		c.t.Fatalf("ha-cluster.sh members: %v %s", err, out)
	}
	var ms []Member
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		m := Member{Name: f[0], Role: f[1], State: f[2]}
		m.Patroni, _ = strconv.Atoi(f[3])
		m.Postmaster, _ = strconv.Atoi(f[4])
		ms = append(ms, m)
	}
	return ms
}

// Children lists a process's child processes.
func Children(pid int) []int {
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}
