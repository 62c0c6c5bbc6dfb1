package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

// The high-availability tests run licet (the real binary, two processes) on
// a Patroni + etcd cluster of three PostgreSQL nodes made by
// scripts/ha-cluster.sh, lose the leader mid-burst in three ways, and check
// what devices were told against what the database holds afterwards.
// Run them alone with: go test ./internal/cli -run TestHA -v

// haLimitsOff turns off every rate limit the binary has, so that the burst
// measures the database and not the limits.
func haLimitsOff(t *testing.T) []string {
	out, _ := exec.Command(licetBinary(t), "serve", "--help").CombinedOutput()
	var flags []string
	for _, f := range []string{"rate-org", "rate-device", "rate-admissions", "rate-new-ip"} {
		if bytes.Contains(out, []byte("-"+f+" ")) {
			flags = append(flags, "--"+f, "0")
		}
	}
	return flags
}

// haFault is what a test does to the leader node; it returns what to do to
// end the fault (nil: nothing) and how long to wait before ending it.
type haFault func(t *testing.T, c *storetest.HACluster) (end func(), after time.Duration)

// haResult is what a burst measured.
type haResult struct {
	fault           time.Time // when the fault was made
	firstFailure    time.Time // the first answer other than 200 after it
	lastFailure     time.Time // the last
	resumed         time.Time // the first new assignment acknowledged that began after the last failure
	lastBefore      time.Time // the last new assignment acknowledged before the first failure
	answers         map[string]int
	knownNot200     []string
	assigned        int
	unknown         int
	licensedInFinal int
}

const (
	haKnown      = 16 // licensed devices that renew all along
	haTightSeats = 20 // the contended organization's pool
	haTightUsers = 60
)

func runHABurst(t *testing.T, fault haFault, maxResume time.Duration) (*storetest.HACluster, haResult) {
	c := storetest.NewHACluster(t)
	flags := append([]string{"--patroni", c.Patroni, "--flush-interval", "200ms"}, haLimitsOff(t)...)
	procs := processesOn(t, 2, c.URL, flags...)
	first := procs[0]

	big := first.newOrg(1, 100_000)
	tight := first.newOrg(2, haTightSeats)
	seats := map[string]int{big: 100_000, tight: haTightSeats}
	var h storetest.History
	client := &http.Client{Timeout: 60 * time.Second}
	check := func(p *server, id int, org, user string) storetest.Outcome {
		start := time.Now()
		body, _ := json.Marshal(map[string]string{"organizationId": org, "userId": user, "deviceId": "dev-" + user, "version": "6.1.0.0"})
		o := storetest.Unknown
		status := "error"
		resp, err := client.Post(p.url+"/v1/license/check", "application/json", bytes.NewReader(body))
		if err == nil {
			var a answer
			json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			status = fmt.Sprint(resp.StatusCode)
			if resp.StatusCode == 200 {
				status = string(a.Status)
			}
			switch {
			case resp.StatusCode == 200 && a.Status == licet.StatusLicensed:
				o = storetest.Licensed
			case resp.StatusCode == 200 && a.Status == licet.StatusNoLicenseAvailable:
				o = storetest.Denied
			case resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "":
				t.Errorf("503 without Retry-After")
			case resp.StatusCode != 503:
				t.Errorf("check of %s: %d %s: only 200 Licensed, NoLicenseAvailable and 503 are right here", user, resp.StatusCode, a.Status)
			}
		}
		h.Add(storetest.Op{Client: id, Org: org, User: user, Outcome: o, Call: start, Return: time.Now()})
		_ = status
		return o
	}

	// Known devices: licensed before the burst, seen by both processes.
	known := make([]string, haKnown)
	for i := range known {
		known[i] = guid('k', i)
		for _, p := range procs {
			if o := check(p, 0, big, known[i]); o != storetest.Licensed {
				t.Fatalf("known device %d: %s", i, o)
			}
		}
	}

	var (
		mu       sync.Mutex
		res      = haResult{answers: map[string]int{}}
		stop     = make(chan struct{})
		tightOn  = make(chan struct{})
		wg       sync.WaitGroup
		faulted  bool
		faultAt  time.Time
		assigned []string
	)
	note := func(f func()) { mu.Lock(); f(); mu.Unlock() }
	for w := range 8 {
		wg.Go(func() {
			id := w + 1
			p := procs[w%2]
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			next := 0
			pending := "" // a new device retries until it has an answer
			tightOpen, tightPending := false, ""
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tightOn:
					tightOpen = true
				default:
				}
				// A known device renews: it must be Licensed, every time.
				k := known[(w+i)%haKnown]
				start := time.Now()
				if o := check(p, id, big, k); o != storetest.Licensed {
					note(func() {
						res.knownNot200 = append(res.knownNot200, fmt.Sprintf("%s at +%v: %s", k, start.Sub(faultAt).Round(time.Millisecond), o))
					})
				}
				// A new device claims a seat.
				if pending == "" {
					pending = guid('n', id*1_000_000+next)
					next++
				}
				start = time.Now()
				o := check(p, id, big, pending)
				end := time.Now()
				note(func() {
					res.answers[string(o)]++
					switch {
					case o == storetest.Licensed:
						assigned = append(assigned, pending)
						if !faulted || res.firstFailure.IsZero() {
							res.lastBefore = end
						} else if start.After(res.lastFailure) && (res.resumed.IsZero() || res.resumed.Before(res.lastFailure)) {
							res.resumed = end
						}
					case o == storetest.Unknown && faulted:
						if res.firstFailure.IsZero() {
							res.firstFailure = end
						}
						res.lastFailure = end
					}
				})
				switch o {
				case storetest.Unknown:
					time.Sleep(100 * time.Millisecond) // a device waits before it tries again
				default:
					pending = ""
				}
				// Devices of the small organization contend for its seats;
				// each asks again until it has an answer, as devices do.
				if tightOpen {
					if tightPending == "" {
						tightPending = guid('t', rnd.IntN(haTightUsers))
					}
					if check(p, id, tight, tightPending) != storetest.Unknown {
						tightPending = ""
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	// /readyz of one process, all along.
	var ready []struct {
		at   time.Time
		code int
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			code := 0
			if resp, err := client.Get(procs[1].url + "/readyz"); err == nil {
				resp.Body.Close()
				code = resp.StatusCode
			}
			note(func() {
				ready = append(ready, struct {
					at   time.Time
					code int
				}{time.Now(), code})
			})
		}
	})
	time.Sleep(3 * time.Second)
	close(tightOn)
	time.Sleep(500 * time.Millisecond)
	note(func() { faulted, faultAt = true, time.Now(); res.fault = faultAt })
	end, after := fault(t, c)
	var endAt time.Time
	if end != nil {
		endAt = time.Now().Add(after)
	}
	// Run until assignments resumed (and the fault ended) and a little more.
	deadline := time.Now().Add(maxResume + after + 10*time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		if end != nil && time.Now().After(endAt) {
			end()
			end = nil
		}
		var resumed, lastFailure time.Time
		note(func() { resumed, lastFailure = res.resumed, res.lastFailure })
		if !resumed.IsZero() && resumed.After(lastFailure) && end == nil && time.Since(lastFailure) > 3*time.Second {
			break
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if end != nil {
		end()
	}
	close(stop)
	wg.Wait()

	notReady := false
	for _, r := range ready {
		if r.at.After(res.fault) && r.code == http.StatusServiceUnavailable {
			notReady = true
		}
	}
	if !notReady && !res.firstFailure.IsZero() {
		t.Errorf("/readyz never said not ready while assignments failed")
	}
	// A thawed old leader still claims leadership for a moment while it
	// demotes, and licet refuses to choose between two leaders (it answers
	// "unavailable", as it should). Let the cluster settle, within bounds,
	// before reading what it holds.
	settled := time.Now().Add(30 * time.Second)
	for time.Now().Before(settled) && (get(t, procs[0].url+"/readyz") != 200 || get(t, procs[1].url+"/readyz") != 200) {
		time.Sleep(200 * time.Millisecond)
	}
	if code := get(t, procs[1].url+"/readyz"); code != 200 {
		t.Errorf("/readyz after the failover: %d", code)
	}

	// What the database holds now, read through the new leader.
	for _, org := range []string{big, tight} {
		start := time.Now()
		var users []licet.User
		out, err := first.licet("user", "list", "--org", org, "--state", "licensed", "--json")
		for retry := time.Now().Add(20 * time.Second); err != nil && strings.Contains(err.Error(), "unavailable") && time.Now().Before(retry); {
			time.Sleep(500 * time.Millisecond)
			start = time.Now()
			out, err = first.licet("user", "list", "--org", org, "--state", "licensed", "--json")
		}
		if err != nil {
			t.Fatalf("%v; cluster %+v\nlicet's log:\n%s", err, c.Members(), first.logs)
		}
		mustJSON(t, out, &users)
		ids := make([]string, 0, len(users))
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		h.Add(storetest.Op{Client: 99, Org: org, IsList: true, List: ids, Call: start, Return: time.Now()})
		if org == tight && len(ids) > haTightSeats {
			t.Errorf("over-sold: %d users hold the %d seats", len(ids), haTightSeats)
		}
		if org == big {
			res.licensedInFinal = len(ids)
			have := map[string]bool{}
			for _, id := range ids {
				have[id] = true
			}
			for _, u := range assigned {
				if !have[u] {
					t.Errorf("acknowledged assignment of %s lost", u)
				}
			}
		}
		if c := first.orgShow(org)["Standard"]; c.Used != len(ids) {
			t.Errorf("org show counts %d used; the list has %d", c.Used, len(ids))
		}
	}
	res.assigned = len(assigned)
	res.unknown = res.answers[string(storetest.Unknown)]
	if len(res.knownNot200) > 0 {
		t.Errorf("known devices were not answered Licensed %d times: %v", len(res.knownNot200), res.knownNot200[:min(10, len(res.knownNot200))])
	}
	switch {
	case res.firstFailure.IsZero():
		t.Logf("no check failed during the fault")
	case res.resumed.IsZero():
		t.Errorf("new assignments never resumed after the first failure at +%v", res.firstFailure.Sub(res.fault))
	case res.resumed.Sub(res.fault) > maxResume:
		t.Errorf("new assignments resumed %v after the fault; want within %v", res.resumed.Sub(res.fault), maxResume)
	}
	ops := h.Ops()
	pres, why := storetest.CheckSeats(seats, ops, time.Minute)
	if pres != porcupine.Ok {
		t.Errorf("history of %d operations is not linearizable against the seat model: %s", len(ops), why)
	}
	// Then the change polling that keeps the caches coherent follows the new
	// leader: a change through one process reaches the other.
	first.mustLicet("user", "disable", "--org", big, "--user", known[0])
	within(t, "disable after the failover", func() licet.Status { return procs[1].check(big, known[0]).Status }, licet.StatusUserDisabled)

	t.Logf("fault at 0; first failure +%v, last +%v; last assignment before %v; resumed +%v (stall %v); answers %v; %d assignments acknowledged, %d in the database; %d operations checked by porcupine: %s",
		res.firstFailure.Sub(res.fault).Round(time.Millisecond), res.lastFailure.Sub(res.fault).Round(time.Millisecond), res.lastBefore.Sub(res.fault).Round(time.Millisecond),
		res.resumed.Sub(res.fault).Round(time.Millisecond), res.resumed.Sub(res.lastBefore).Round(time.Millisecond),
		res.answers, res.assigned, res.licensedInFinal, len(ops), pres)
	for i, p := range procs {
		if t.Failed() {
			var follow []string
			for _, l := range strings.Split(p.logs.String(), "\n") {
				if strings.Contains(l, "patroni:") {
					follow = append(follow, l)
				}
			}
			t.Logf("licet %d followed:\n%s", i+1, strings.Join(follow, "\n"))
		}
		if strings.Contains(p.logs.String(), "panic") {
			t.Errorf("panic in the log:\n%s", p.logs)
		}
	}
	return c, res
}

func kill(t *testing.T, sig syscall.Signal, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Logf("kill %d: %v", pid, err)
		}
	}
}

// The leader node is lost: its Patroni and its PostgreSQL killed with -9.
func TestHALeaderNodeKilled(t *testing.T) {
	runHABurst(t, func(t *testing.T, c *storetest.HACluster) (func(), time.Duration) {
		patroni, postmaster := c.Leader()
		pids := append([]int{patroni, postmaster}, storetest.Children(postmaster)...)
		kill(t, syscall.SIGKILL, pids...)
		return nil, 0
	}, 15*time.Second)
}

// Only the leader's Patroni dies: its PostgreSQL keeps running read-write
// (a zombie primary) while another node is promoted.
func TestHAZombiePrimary(t *testing.T) {
	var zombie int
	c, _ := runHABurst(t, func(t *testing.T, c *storetest.HACluster) (func(), time.Duration) {
		patroni, postmaster := c.Leader()
		zombie = postmaster
		kill(t, syscall.SIGKILL, patroni)
		return nil, 0
	}, 20*time.Second)
	if err := syscall.Kill(zombie, 0); err != nil {
		t.Errorf("the zombie's PostgreSQL was not running at the end (the test lost its point): %v", err)
	}
	_ = c
}

// The leader node freezes (every process stopped) for 30 s, then thaws: it
// must come back as a replica of the new leader.
func TestHALeaderNodeFrozen(t *testing.T) {
	var frozen []int
	var name string
	c, _ := runHABurst(t, func(t *testing.T, c *storetest.HACluster) (func(), time.Duration) {
		patroni, postmaster := c.Leader()
		for _, m := range c.Members() {
			if m.Patroni == patroni {
				name = m.Name
			}
		}
		frozen = append([]int{patroni, postmaster}, storetest.Children(postmaster)...)
		kill(t, syscall.SIGSTOP, frozen...)
		return func() { kill(t, syscall.SIGCONT, frozen...) }, 30 * time.Second
	}, 20*time.Second)
	deadline := time.Now().Add(90 * time.Second)
	for {
		ms := c.Members()
		i := slices.IndexFunc(ms, func(m storetest.Member) bool { return m.Name == name })
		if i >= 0 && ms[i].Role == "replica" && ms[i].State == "running" {
			t.Logf("the thawed node %s rejoined as a replica", name)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the thawed node %s did not rejoin as a replica: %+v", name, ms)
		}
		time.Sleep(time.Second)
	}
}

// The disaster drill of docs/OPERATIONS.md, run by scripts/ha-drill.sh with
// the real binary: the backup region is a Patroni standby_cluster serving
// licet --read-only; the primary region is lost; the standby cluster is
// promoted and licet restarted read-write there; devices carry on; the old
// region rejoins as the new standby cluster.
func TestHADisasterDrill(t *testing.T) {
	base, err := os.MkdirTemp("", "licet-drill-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "ha-drill.sh")
	out, err := exec.Command(script, licetBinary(t), filepath.Join(base, "drill")).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the drill failed: %v", err)
	}
	if !strings.Contains(string(out), "== drill passed") {
		t.Fatal("the drill did not finish")
	}
}
