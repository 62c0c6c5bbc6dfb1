package storetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Cluster is a private PostgreSQL cluster made by scripts/pg-cluster.sh,
// for tests that stop, restart or replicate a server without disturbing
// the machine's own.
type Cluster struct {
	t    testing.TB
	Dir  string
	Port int
}

func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "pg-cluster.sh")
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *Cluster) run(args ...string) {
	c.t.Helper()
	out, err := exec.Command(script(), args...).CombinedOutput()
	Require(c.t, fmt.Sprintf("a private PostgreSQL cluster (pg-cluster.sh %v: %s)", args, out), err)
}

// NewPrimary makes and starts a primary cluster; it is stopped and removed
// when the test ends.
func NewPrimary(t testing.TB) *Cluster {
	t.Helper()
	base, err := os.MkdirTemp("", "licet-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755) // the server's user must reach its folder
	c := &Cluster{t: t, Dir: filepath.Join(base, "primary"), Port: freePort(t)}
	t.Cleanup(func() {
		exec.Command(script(), "stop", c.Dir).Run()
		os.RemoveAll(base)
	})
	c.run("primary", c.Dir, fmt.Sprint(c.Port))
	return c
}

// NewStandby makes a hot standby of c by pg_basebackup and starts it.
func (c *Cluster) NewStandby() *Cluster {
	c.t.Helper()
	s := &Cluster{t: c.t, Dir: filepath.Join(filepath.Dir(c.Dir), fmt.Sprintf("standby-%d", freePort(c.t))), Port: freePort(c.t)}
	c.t.Cleanup(func() { exec.Command(script(), "stop", s.Dir).Run() })
	s.run("standby", s.Dir, fmt.Sprint(s.Port), fmt.Sprint(c.Port))
	return s
}

// URL is the cluster's postgres database.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
}

// Stop stops the server (fast shutdown: sessions are cut).
func (c *Cluster) Stop() { c.t.Helper(); c.run("stop", c.Dir) }

// Start starts it again.
func (c *Cluster) Start() { c.t.Helper(); c.run("start", c.Dir) }
