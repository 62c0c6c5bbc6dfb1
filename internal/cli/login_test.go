package cli_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// from is a browser-like client whose connections come from the loopback
// address ip (127.0.0.0/8 is all local on Linux): a distinct source address.
func from(ip string) *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func login(t *testing.T, c *http.Client, s *server, email, pw string) *http.Response {
	t.Helper()
	resp, _ := form(t, c, s.url+"/admin/login", url.Values{"email": {email}, "password": {pw}})
	return resp
}

// peakRSS is the process's high-water mark of resident memory, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// Each login runs a 19 MiB argon2id hash. A crowd of failed logins from a
// few addresses, each with a new e-mail address, must not take the
// server's memory (and every customer's license checks) with it.
func TestFailedLoginCrowdKeepsMemoryBounded(t *testing.T) {
	dir := t.TempDir()
	s := startProcess(t, dir, filepath.Join(dir, "licet.db"))
	org := s.newOrg(1, 5)
	signIn(t, s, s.invite(org, "owner@customer.example"), "owner@customer.example")
	before := peakRSS(t, s.pid)

	var wg sync.WaitGroup
	statuses := make([]int, 100)
	retry := make([]string, 100)
	start := make(chan struct{})
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := from(fmt.Sprintf("127.0.0.%d", 11+i%5))
			<-start
			resp, err := c.PostForm(s.url+"/admin/login", url.Values{"email": {fmt.Sprintf("guess%d@attacker.example", i)}, "password": {"wrong password " + strconv.Itoa(i)}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i], retry[i] = resp.StatusCode, resp.Header.Get("Retry-After")
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for i, st := range statuses {
		count[st]++
		switch st {
		case 401:
		case 429, 503:
			if n, err := strconv.Atoi(retry[i]); err != nil || n < 1 || n > 60 {
				t.Errorf("a %d without a usable Retry-After: %q", st, retry[i])
			}
		default:
			t.Errorf("a failed login answered %d", st)
		}
	}
	peak := peakRSS(t, s.pid)
	t.Logf("answers %v; peak RSS %d MiB before, %d MiB after", count, before>>20, peak>>20)
	if peak > 512<<20 {
		t.Errorf("100 concurrent failed logins took the server to %d MiB of memory; want under 512 MiB", peak>>20)
	}
	if resp := login(t, from("127.0.0.30"), s, "owner@customer.example", adminPW); resp.StatusCode != 303 {
		t.Errorf("the owner cannot log in after the crowd: %d", resp.StatusCode)
	}
}

// Whoever knows an administrator's address must not be able to lock the
// owner out: failures count per (account, source address) and per source
// address, and a success clears its address's failures.
func TestWrongPasswordsDoNotLockTheOwnerOut(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 5)
	owner := "owner@customer.example"
	signIn(t, s, s.invite(org, owner), owner)
	attacker := from("127.0.0.2")
	refused := 0
	for range 8 {
		if resp := login(t, attacker, s, owner, "not the password"); resp.StatusCode == 429 {
			refused++
		}
	}
	if refused == 0 {
		t.Error("eight wrong passwords in a row from one address were never throttled")
	}
	if resp := login(t, from("127.0.0.3"), s, owner, adminPW); resp.StatusCode != 303 {
		t.Errorf("after an attacker's wrong passwords from another address, the owner's login answers %d; want 303", resp.StatusCode)
	}
	// Attackers on several addresses: still far below the account's own bound.
	for ip := 4; ip < 10; ip++ {
		c := from("127.0.0." + strconv.Itoa(ip))
		for range 5 {
			login(t, c, s, owner, "not the password")
		}
	}
	if resp := login(t, from("127.0.0.10"), s, owner, adminPW); resp.StatusCode != 303 {
		t.Errorf("after 30 wrong passwords from six addresses, the owner's login answers %d; want 303", resp.StatusCode)
	}
	// The owner mistypes a few times, then succeeds: the slate is clean.
	own := from("127.0.0.20")
	for range 4 {
		login(t, own, s, owner, "a typo")
	}
	if resp := login(t, own, s, owner, adminPW); resp.StatusCode != 303 {
		t.Fatalf("the owner's login after four typos: %d", resp.StatusCode)
	}
	for i := range 4 {
		if resp := login(t, own, s, owner, "another typo"); resp.StatusCode != 401 {
			t.Errorf("typo %d after a successful login: %d; want 401 (its failures were cleared)", i+1, resp.StatusCode)
		}
	}
}

// An attacker on many addresses can spend the account's own bound (100
// guesses, then one per 6 s from everywhere) and keep it spent. The owner's
// browser, which has signed in before, must still get in.
func TestAttackersSpendingTheAccountBoundDoNotLockTheOwnerOut(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 5)
	owner := "owner@customer.example"
	signIn(t, s, s.invite(org, owner), owner)
	own := from("127.0.1.1")
	if resp := login(t, own, s, owner, adminPW); resp.StatusCode != 303 {
		t.Fatalf("the owner's first login: %d", resp.StatusCode)
	}
	for ip := 2; ip < 24; ip++ {
		c := from("127.0.1." + strconv.Itoa(ip))
		for range 5 {
			login(t, c, s, owner, "not the password")
		}
	}
	if resp := login(t, from("127.0.1.30"), s, owner, "not the password"); resp.StatusCode != 429 {
		t.Errorf("after 110 wrong passwords from 22 addresses, a new address's guess answers %d; want 429 (the account's bound)", resp.StatusCode)
	}
	if resp := login(t, own, s, owner, adminPW); resp.StatusCode != 303 {
		t.Errorf("after attackers spent the account's bound, the owner's own browser answers %d; want 303", resp.StatusCode)
	}
}

// A crowd of failed logins from many addresses keeps every hashing slot and
// the line behind them full, so a new login is turned away with 503. The
// owner's browser, which has signed in before, is served next.
func TestLoginCrowdDoesNotTurnTheOwnerAway(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 5)
	owner := "owner@customer.example"
	signIn(t, s, s.invite(org, owner), owner)
	own := from("127.0.2.1")
	if resp := login(t, own, s, owner, adminPW); resp.StatusCode != 303 {
		t.Fatalf("the owner's first login: %d", resp.StatusCode)
	}
	stop := make(chan struct{})
	var busy sync.WaitGroup
	busy.Add(1)
	var once sync.Once
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := from(fmt.Sprintf("127.0.3.%d", i+1))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.PostForm(s.url+"/admin/login", url.Values{"email": {fmt.Sprintf("guess%d.%d@attacker.example", i, n)}, "password": {"wrong"}})
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == 503 {
					once.Do(busy.Done)
				}
			}
		}()
	}
	busy.Wait() // the crowd fills the line
	resp := login(t, own, s, owner, adminPW)
	close(stop)
	wg.Wait()
	if resp.StatusCode != 303 {
		t.Errorf("during a crowd of failed logins, the owner's own browser answers %d; want 303", resp.StatusCode)
	}
}
