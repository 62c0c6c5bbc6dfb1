// Command licet-bench is licet's load tool. It starts a licet server (or
// targets a running one), seeds organizations, pools and users through the
// operator API, drives license checks over keep-alive HTTP from N
// connections on loopback, and reports throughput, latency percentiles,
// errors by status and the server's memory, beside a minimal net/http
// handler measured the same way in the same run.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	licet, server, tokenFile, database string
	pid                                int
	scenario, format                   string
	orgs, users, hot                   int
	conns                              int
	duration                           time.Duration
	requests                           int
	baseline                           bool
	logLevel                           string
}

func main() {
	var c config
	flag.StringVar(&c.licet, "licet", "", "licet binary to start (default: target --server)")
	flag.StringVar(&c.server, "server", "", "a running licet server to target instead of starting one")
	flag.StringVar(&c.tokenFile, "token-file", "", "the operator token of --server")
	flag.IntVar(&c.pid, "pid", 0, "the process ID of --server, to report its memory")
	flag.StringVar(&c.database, "database", "", "--database for the started server (default: SQLite in a temporary folder)")
	flag.StringVar(&c.scenario, "scenario", "hot", "hot (licensed users), burst (new users taking seats), mix (95% hot, 5% new)")
	flag.StringVar(&c.format, "format", "json", "request format: json or xml")
	flag.IntVar(&c.orgs, "orgs", 1, "organizations to seed")
	flag.IntVar(&c.users, "users", 1000, "licensed users to seed, spread over the organizations")
	flag.IntVar(&c.hot, "hot", 0, "check in only this many of the seeded users (0: all)")
	flag.IntVar(&c.conns, "conns", 32, "concurrent keep-alive connections")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long to drive load")
	flag.IntVar(&c.requests, "requests", 0, "stop after this many requests (0: only --duration)")
	flag.BoolVar(&c.baseline, "baseline", true, "also measure a minimal net/http handler")
	flag.StringVar(&c.logLevel, "log-level", "info", "log level of the started server (info logs every request, as in production)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "licet-bench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	switch {
	case c.scenario != "hot" && c.scenario != "burst" && c.scenario != "mix":
		return errors.New("--scenario must be hot, burst or mix")
	case c.format != "json" && c.format != "xml":
		return errors.New("--format must be json or xml")
	case c.orgs < 1 || c.users < c.orgs || c.users > 10_000_000:
		return errors.New("--orgs must be at least 1 and --users at least --orgs")
	case c.conns < 1 || c.conns > 1024:
		return errors.New("--conns must be between 1 and 1024")
	case (c.licet == "") == (c.server == ""):
		return errors.New("give --licet (start a server) or --server (target one)")
	}
	if c.server != "" {
		if u, err := url.Parse(c.server); err != nil || !loopback(u.Hostname()) {
			return errors.New("--server must be on loopback: this tool only loads this machine")
		}
	}
	var srv *spawned
	var err error
	if c.licet != "" {
		if srv, err = spawn(c.licet, c.database, c.logLevel); err != nil {
			return err
		}
		defer srv.stop()
		c.server, c.tokenFile, c.pid = srv.url, filepath.Join(srv.dir, "operator-token"), srv.cmd.Process.Pid
	}
	tok, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return fmt.Errorf("operator token: %w", err)
	}
	op := &operator{base: c.server, token: strings.TrimSpace(string(tok))}
	start := time.Now()
	seed, err := op.seed(c)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d organizations, %d licensed users in %s\n", c.orgs, c.users, time.Since(start).Round(time.Millisecond))
	if srv != nil {
		if err := srv.restart(); err != nil {
			return err
		}
		c.server, c.pid = srv.url, srv.cmd.Process.Pid
		fmt.Printf("restart to ready with the seeded data: %s\n", srv.ready.Round(time.Millisecond))
	}

	var base *result
	if c.baseline {
		if base, err = baseline(c); err != nil {
			return err
		}
	}
	res := drive(c, c.server, seed.body(c))
	res.rss, res.hwm = memory(c.pid)
	fmt.Println()
	fmt.Printf("%-9s %-6s %-8s %5s %9s %9s %8s %8s %8s %7s %8s %s\n", "target", "format", "scenario", "conns", "requests", "req/s", "p50", "p99", "p99.9", "ratio", "rss", "errors")
	if base != nil {
		base.print("baseline", c, nil)
	}
	res.print("licet", c, base)
	return nil
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// spawned is a licet server this tool started in a temporary folder.
type spawned struct {
	bin, dir, database, logLevel, url string
	cmd                               *exec.Cmd
	ready                             time.Duration
}

func spawn(bin, database, logLevel string) (*spawned, error) {
	dir, err := os.MkdirTemp("", "licet-bench-")
	if err != nil {
		return nil, err
	}
	s := &spawned{bin: bin, dir: dir, database: database, logLevel: logLevel}
	return s, s.start()
}

func (s *spawned) start() error {
	// The load comes from few users checking in far more often than real
	// devices do: every limit is off.
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data", s.dir, "--log-level", s.logLevel, "--rate-org", "0", "--rate-device", "0",
		"--rate-admissions", "0", "--rate-new-ip", "0"}
	if s.database != "" {
		args = append(args, "--database", s.database)
	}
	t0 := time.Now()
	s.cmd = exec.Command(s.bin, args...)
	stderr, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		return err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "licet serving" {
				addr <- line.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		return errors.New("licet did not start within 60 s")
	}
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.ready = time.Since(t0)
	return nil
}

func (s *spawned) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		s.cmd.Wait()
	}
	os.RemoveAll(s.dir)
}

func (s *spawned) restart() error {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
	return s.start()
}

// operator seeds through the operator API.
type operator struct {
	base, token string
	hc          http.Client
}

func (o *operator) do(method, path string, body any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, o.base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+o.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, msg)
	}
	io.Copy(io.Discard, resp.Body)
	return nil
}

// seeded is what the seeding made: per organization, its licensed users.
type seeded struct {
	orgs  []string
	users [][]string
	next  atomic.Int64
}

func guid(kind, n int) string { return fmt.Sprintf("%08X-0000-4000-8000-%012X", n, kind<<40|n) }

func (o *operator) seed(c config) (*seeded, error) {
	s := &seeded{}
	per := c.users / c.orgs
	seats := per
	if c.scenario != "hot" {
		seats = 1_000_000 // room for the new users of a burst (the most one pool may sell)
	}
	for i := range c.orgs {
		org := guid(0xA, i+1)
		if err := o.do("POST", "/v1/orgs", map[string]string{"id": org, "name": fmt.Sprintf("bench %d", i+1), "url": "https://crm.example.net"}); err != nil {
			return nil, err
		}
		if err := o.do("POST", "/v1/orgs/"+org+"/pools", map[string]any{"licenseType": "Standard", "seats": seats}); err != nil {
			return nil, err
		}
		var users []string
		for j := range per {
			users = append(users, guid(0xB, i*per+j+1))
		}
		for k := 0; k < len(users); k += 10_000 {
			batch := users[k:min(k+10_000, len(users))]
			if err := o.do("POST", "/v1/orgs/"+org+"/users/batch", map[string]any{"action": "assign", "userIds": batch, "licenseType": "Standard"}); err != nil {
				return nil, err
			}
		}
		s.orgs = append(s.orgs, org)
		s.users = append(s.users, users)
	}
	return s, nil
}

func render(format, org, user string) []byte {
	if format == "xml" {
		return fmt.Appendf(nil, `<MobileClient><Version>6.1.0.0</Version><Edition>Resco</Edition><DeviceId>45d780e4f18354949676f743b0h11633951652bc</DeviceId><DeviceInfo>iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0</DeviceInfo><OrganizationId>%s</OrganizationId><OrganizationUrl>https://crm.example.net</OrganizationUrl><OrganizationName>bench</OrganizationName><UserId>%s</UserId></MobileClient>`, org, user)
	}
	return fmt.Appendf(nil, `{"version":"6.1.0.0","edition":"Resco","deviceId":"45d780e4f18354949676f743b0h11633951652bc","deviceInfo":"iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0","organizationId":%q,"organizationUrl":"https://crm.example.net","organizationName":"bench","userId":%q}`, org, user)
}

// body returns the request maker for the scenario: each call the next
// request body.
func (s *seeded) body(c config) func(r *rand.Rand) []byte {
	var hot [][]byte
	for i, org := range s.orgs {
		users := s.users[i]
		if c.hot > 0 {
			users = users[:min(len(users), max(1, c.hot/len(s.orgs)))]
		}
		for _, u := range users {
			hot = append(hot, render(c.format, org, u))
		}
	}
	fresh := func(r *rand.Rand) []byte {
		n := int(s.next.Add(1))
		return render(c.format, s.orgs[n%len(s.orgs)], guid(0xC, n))
	}
	switch c.scenario {
	case "burst":
		return fresh
	case "mix":
		return func(r *rand.Rand) []byte {
			if r.IntN(100) < 5 {
				return fresh(r)
			}
			return hot[r.IntN(len(hot))]
		}
	}
	return func(r *rand.Rand) []byte { return hot[r.IntN(len(hot))] }
}

type result struct {
	requests int
	elapsed  time.Duration
	lat      []time.Duration
	errors   map[string]int
	rss, hwm int64
}

// drive sends requests from c.conns connections until the duration or the
// request count is reached.
func drive(c config, target string, next func(*rand.Rand) []byte) *result {
	ctype := "application/json"
	if c.format == "xml" {
		ctype = "application/xml"
	}
	tr := &http.Transport{MaxIdleConnsPerHost: c.conns, MaxConnsPerHost: c.conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), c.duration)
	defer cancel()
	var sent atomic.Int64
	var mu sync.Mutex
	res := &result{errors: map[string]int{}}
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range c.conns {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			lat := make([]time.Duration, 0, 1<<16)
			errs := map[string]int{}
			for ctx.Err() == nil && (c.requests == 0 || sent.Add(1) <= int64(c.requests)) {
				body := next(r)
				start := time.Now()
				resp, err := client.Post(target+"/v1/license/check", ctype, bytes.NewReader(body))
				if err != nil {
					if ctx.Err() == nil {
						errs["transport"]++
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != 200 {
					errs[strconv.Itoa(resp.StatusCode)]++
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			for k, v := range errs {
				res.errors[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(t0)
	res.requests = len(res.lat)
	slices.Sort(res.lat)
	return res
}

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

func (r *result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *result) print(name string, c config, base *result) {
	ratio, rss := "-", "-"
	if base != nil {
		ratio = fmt.Sprintf("%.2f", r.rate()/base.rate())
	}
	if r.rss > 0 {
		rss = fmt.Sprintf("%dMiB", r.rss>>20)
	}
	errs := "0"
	if len(r.errors) > 0 {
		b, _ := json.Marshal(r.errors)
		errs = string(b)
	}
	fmt.Printf("%-9s %-6s %-8s %5d %9d %9.0f %8s %8s %8s %7s %8s %s\n", name, c.format, c.scenario, c.conns, r.requests, r.rate(),
		short(r.pct(0.50)), short(r.pct(0.99)), short(r.pct(0.999)), ratio, rss, errs)
}

func short(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

// baseline measures a minimal net/http handler that reads the body and
// answers a fixed small XML document, with the same driver.
func baseline(c config) (*result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	answer := []byte(`<?xml version="1.0" encoding="UTF-8"?><LicenseResponse><Status>Licensed</Status><Licensed>true</Licensed></LicenseResponse>`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.Write(answer)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	body := render(c.format, guid(0xA, 1), guid(0xB, 1))
	return drive(c, "http://"+ln.Addr().String(), func(*rand.Rand) []byte { return body }), nil
}

// memory reads a process's resident and peak resident memory.
func memory(pid int) (rss, hwm int64) {
	if pid == 0 {
		return 0, 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "VmRSS:" {
				rss = kb << 10
			} else {
				hwm = kb << 10
			}
		}
	}
	return rss, hwm
}
