package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// licetBinary builds the real program once per test run.
func licetBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "licet-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "licet")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/licet/licet/cmd/licet").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// process is licet serve running as its own OS process.
func startProcess(t *testing.T, dir, database string, flags ...string) *server {
	t.Helper()
	cmd := exec.Command(licetBinary(t), append([]string{"serve", "--listen", "127.0.0.1:0", "--data", dir, "--database", database}, flags...)...)
	s := &server{t: t, dir: dir, logs: &syncBuffer{}}
	addr := make(chan string, 1)
	// A writer, not a pipe: Wait returns only after all the output was
	// copied, so the last lines are never lost.
	cmd.Stderr = &lineWriter{fn: func(line []byte) {
		s.logs.Write(append(line, '\n'))
		var l struct{ Msg, Addr string }
		if json.Unmarshal(line, &l) == nil && l.Msg == "licet serving" {
			addr <- l.Addr
		}
	}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.pid = cmd.Process.Pid
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("licet did not start:\n%s", s.logs)
	}
	var once sync.Once
	s.kill = func(sig os.Signal) {
		once.Do(func() {
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Errorf("licet did not stop on %v", sig)
			}
		})
	}
	s.stop = func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("licet exited: %v\n%s", err, s.logs)
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Errorf("licet did not stop on SIGINT")
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

// threeProcesses starts three licet processes on one database; the first
// creates the signing key, the secrets key and the operator token, and the
// keys are copied to the others as an operator would provision them.
func threeProcesses(t *testing.T) []*server {
	return processesOn(t, 3, storetest.PostgresURL(t))
}

// processesOn starts n licet processes on the database db, provisioned as
// an operator would: the keys and the secrets key of the first copied to
// the others.
func processesOn(t *testing.T, n int, db string, flags ...string) []*server {
	first := startProcess(t, t.TempDir(), db, flags...)
	procs := []*server{first}
	for range n - 1 {
		dir := t.TempDir()
		if out, err := exec.Command("cp", "-a", filepath.Join(first.dir, "keys"), filepath.Join(first.dir, "secrets.key"), dir).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		p := startProcess(t, dir, db, flags...)
		p.dir = first.dir // the operator token lives with the first
		procs = append(procs, p)
	}
	return procs
}

func TestThreeProcessesNeverOverAssign(t *testing.T) {
	assignmentRace(t, threeProcesses(t))
}

// Many processes behind one PgBouncer in transaction pooling, with fewer
// server connections than clients: seats still never over-assigned.
func TestPgBouncerNeverOverAssign(t *testing.T) {
	db := storetest.PgBouncer(t, storetest.PostgresURL(t), 4)
	assignmentRace(t, processesOn(t, 3, db, "--db-pgbouncer"))
}

// assignmentRace makes 150 users race for 25 seats through the processes,
// twice.
func assignmentRace(t *testing.T, procs []*server) {
	for round := range 2 {
		org := procs[0].newOrg(round+1, 25)
		var wg sync.WaitGroup
		statuses := make([]licet.Status, 150)
		keys := make([]string, 150)
		for i := range 150 {
			wg.Go(func() {
				a := procs[i%len(procs)].check(org, guid('u', i))
				statuses[i], keys[i] = a.Status, a.KeyID
			})
		}
		wg.Wait()
		n := map[licet.Status]int{}
		for i, st := range statuses {
			n[st]++
			if st == licet.StatusLicensed && keys[i] != keys[0] && keys[0] != "" {
				t.Errorf("processes sign with different keys: %s and %s", keys[0], keys[i])
			}
		}
		if n[licet.StatusLicensed] != 25 || n[licet.StatusNoLicenseAvailable] != 125 {
			t.Errorf("round %d: %v; want 25 Licensed, 125 NoLicenseAvailable", round, n)
		}
		for _, p := range procs {
			if c := p.orgShow(org)["Standard"]; c.Used != 25 || c.Available != 0 {
				t.Errorf("round %d: %s says %+v", round, p.url, c)
			}
		}
	}
}

// within polls until the check answers want, failing after a second.
func within(t *testing.T, what string, check func() licet.Status, want licet.Status) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	var got licet.Status
	for time.Now().Before(deadline) {
		if got = check(); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("%s: still %s after a second; want %s", what, got, want)
}

func TestChangesThroughOneProcessReachTheOthers(t *testing.T) {
	procs := threeProcesses(t)
	p1, p2, p3 := procs[0], procs[1], procs[2]
	org := p1.newOrg(1, 3)
	a, b, c := guid('u', 1), guid('u', 2), guid('u', 3)
	for _, u := range []string{a, b, c} {
		if st := p3.check(org, u).Status; st != licet.StatusLicensed {
			t.Fatalf("%s: %s", u, st)
		}
	}
	p2.mustLicet("user", "disable", "--org", org, "--user", a)
	within(t, "disable", func() licet.Status { return p3.check(org, a).Status }, licet.StatusUserDisabled)

	p2.mustLicet("org", "set", "--org", org, "--auto-assign=false", "--temporary-days", "0")
	p2.mustLicet("user", "unassign", "--org", org, "--user", b)
	within(t, "unassign", func() licet.Status { return p3.check(org, b).Status }, licet.StatusNotAssigned)

	p1.mustLicet("org", "set", "--org", org, "--auto-assign=true")
	var pools []licet.Pool
	json.Unmarshal([]byte(p1.mustLicet("pool", "list", "--org", org, "--json")), &pools)
	p1.mustLicet("pool", "set", "--org", org, "--pool", fmt.Sprint(pools[0].ID), "--seats", "1")
	within(t, "pool reduced", func() licet.Status { return p3.check(org, guid('u', 4)).Status }, licet.StatusNoLicenseAvailable)
	if st := p2.check(org, c).Status; st != licet.StatusLicensed {
		t.Errorf("a licensed user keeps the seat when the pool shrinks: %s", st)
	}
}

func TestPostgresRestartUnderLoad(t *testing.T) {
	cluster := storetest.NewPrimary(t)
	// A load test: every limit on new devices is off, as for benchmarks.
	s := start(t, "", nil, "--database", cluster.URL(), "--db-statement-timeout", "2s", "--flush-interval", "50ms", "--rate-admissions", "0", "--rate-new-ip", "0")
	org := s.newOrg(1, 10_000)

	var mu sync.Mutex
	codes := map[int]int{}
	var licensed []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				user := guid('u', w*100_000+i)
				start := time.Now()
				a := s.check(org, user)
				if time.Since(start) > 8*time.Second {
					t.Errorf("a check took %v while the database was down", time.Since(start))
				}
				mu.Lock()
				codes[a.HTTP]++
				if a.Status == licet.StatusLicensed {
					licensed = append(licensed, user)
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	cluster.Stop()
	time.Sleep(2 * time.Second)
	if code := get(t, s.url+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d; want 503", code)
	}
	cluster.Start()
	deadline := time.Now().Add(30 * time.Second)
	for get(t, s.url+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("licet did not recover after PostgreSQL came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	if codes[503] == 0 || codes[200] == 0 {
		t.Errorf("answers %v; want 200s and, while down, 503s", codes)
	}
	for code := range codes {
		if code != 200 && code != 503 {
			t.Errorf("answers %v: only 200 and 503 are right", codes)
		}
	}
	// Every assignment a device was told about is still there.
	var users []licet.User
	json.Unmarshal([]byte(s.mustLicet("user", "list", "--org", org, "--state", "licensed", "--json")), &users)
	have := map[string]bool{}
	for _, u := range users {
		have[u.ID] = true
	}
	for _, u := range licensed {
		if !have[u] {
			t.Errorf("acknowledged assignment of %s lost", u)
		}
	}
	t.Logf("answers %v; %d assignments acknowledged and kept", codes, len(licensed))
	if strings.Contains(s.logs.String(), "panic") {
		t.Errorf("panic in the log:\n%s", s.logs)
	}
}

func get(t *testing.T, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// lineWriter calls fn with each complete line written to it.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func([]byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.fn(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}
