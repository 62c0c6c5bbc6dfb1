// Command licet-bench is licet's load tool. It starts a licet server (or
// targets a running one), seeds organizations, pools and users through the
// operator API, drives license checks over keep-alive HTTP from N
// connections on loopback, and reports throughput, latency percentiles,
// errors by status and the server's memory, beside a minimal net/http
// handler measured the same way in the same run, and optionally beside a
// second server (another build, another product) in alternating rounds.
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
	burstSeats                         int
	conns                              int
	duration                           time.Duration
	requests                           int
	rate                               float64
	baseline                           bool
	logLevel                           string
	leaseReuse                         string
	seed                               bool
	rounds                             int
	compareLicet, compareURL           string
	compareTokenFile, compareDatabase  string
	comparePID                         int
	bareListen                         string
}

func main() {
	var c config
	flag.StringVar(&c.licet, "licet", "", "licet binary to start (default: target --server)")
	flag.StringVar(&c.server, "server", "", "a running licet server to target instead of starting one")
	flag.StringVar(&c.tokenFile, "token-file", "", "the operator token of --server")
	flag.IntVar(&c.pid, "pid", 0, "the process ID of --server, to report its memory")
	flag.StringVar(&c.database, "database", "", "--database for the started server (default: SQLite in a temporary folder)")
	flag.StringVar(&c.scenario, "scenario", "hot", "hot (licensed users), field (licensed users, each check a different one, every check signing), burst (new users taking seats), mix (95% hot, 5% new)")
	flag.StringVar(&c.format, "format", "json", "request format: json or xml")
	flag.IntVar(&c.orgs, "orgs", 1, "organizations to seed")
	flag.IntVar(&c.users, "users", 0, "licensed users to seed, spread over the organizations (default 1000; 100000 for field)")
	flag.IntVar(&c.burstSeats, "burst-seats", -1, "burst: free seats per organization for the new users (default: room for all); fewer seats than new users makes the rest refused")
	flag.IntVar(&c.hot, "hot", 0, "check in only this many of the seeded users (0: all)")
	flag.IntVar(&c.conns, "conns", 32, "concurrent keep-alive connections")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long to drive load")
	flag.IntVar(&c.requests, "requests", 0, "stop after this many requests (0: only --duration)")
	flag.Float64Var(&c.rate, "rate", 0, "send this many requests a second in all, each at its set time, whether or not the answers keep up; latency counts from the set time (0: each connection sends as soon as it has its answer)")
	flag.BoolVar(&c.baseline, "baseline", true, "also measure a minimal net/http handler")
	flag.StringVar(&c.logLevel, "log-level", "info", "log level of the started server (info logs every request, as in production)")
	flag.StringVar(&c.leaseReuse, "lease-reuse", "", "--lease-reuse of the started servers (default: the server's, 5m; 0 for field)")
	flag.BoolVar(&c.seed, "seed", true, "seed the target; false: it was seeded by an earlier run with the same --orgs, --users and --scenario")
	flag.IntVar(&c.rounds, "rounds", 1, "rounds of runs: each round measures the baseline, licet and the compared server, in alternating order; medians are reported")
	flag.StringVar(&c.compareLicet, "compare-licet", "", "a second licet binary (another build) to start, seed and measure beside the first")
	flag.StringVar(&c.compareURL, "compare-url", "", "a second running server (loopback) to measure beside licet, with the same requests")
	flag.StringVar(&c.compareTokenFile, "compare-token-file", "", "the operator token of --compare-url, to seed it (without it, it is not seeded)")
	flag.IntVar(&c.comparePID, "compare-pid", 0, "the process ID of --compare-url, to report its memory")
	flag.StringVar(&c.compareDatabase, "compare-database", "", "--database for --compare-licet (default: SQLite in a temporary folder)")
	flag.StringVar(&c.bareListen, "bare-listen", "", "only serve the baseline handler on this loopback address until interrupted (a target for wrk)")
	flag.Parse()
	if c.users == 0 {
		c.users = 1000
		if c.scenario == "field" {
			c.users = 100_000
		}
	}
	if c.leaseReuse == "" && c.scenario == "field" {
		c.leaseReuse = "0"
	}
	if c.bareListen != "" {
		if err := serveBare(c.bareListen); err != nil {
			fmt.Fprintln(os.Stderr, "licet-bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "licet-bench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	switch {
	case c.scenario != "hot" && c.scenario != "field" && c.scenario != "burst" && c.scenario != "mix":
		return errors.New("--scenario must be hot, field, burst or mix")
	case c.format != "json" && c.format != "xml":
		return errors.New("--format must be json or xml")
	case c.orgs < 1 || c.users < c.orgs || c.users > 10_000_000:
		return errors.New("--orgs must be at least 1 and --users at least --orgs")
	case c.conns < 1 || c.conns > 1024:
		return errors.New("--conns must be between 1 and 1024")
	case c.rounds < 1 || c.rounds > 50:
		return errors.New("--rounds must be between 1 and 50")
	case c.rate != 0 && !(c.rate >= 1 && c.rate <= 1e6): // NaN too
		return errors.New("--rate must be 0 (off) or between 1 and 1,000,000 requests a second")
	case (c.licet == "") == (c.server == ""):
		return errors.New("give --licet (start a server) or --server (target one)")
	case c.compareLicet != "" && c.compareURL != "":
		return errors.New("give --compare-licet or --compare-url, not both")
	}
	for _, u := range []string{c.server, c.compareURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || !loopback(pu.Hostname()) {
			return errors.New("--server and --compare-url must be on loopback: this tool only loads this machine")
		}
	}
	main := &target{name: "licet", url: c.server, tokenFile: c.tokenFile, pid: c.pid}
	if c.licet != "" {
		srv, err := spawn(c.licet, c.database, c)
		if err != nil {
			return err
		}
		defer srv.stop()
		main.spawned = srv
	}
	if err := main.prepare(c); err != nil {
		return err
	}
	targets := []*target{main}
	switch {
	case c.compareLicet != "":
		srv, err := spawn(c.compareLicet, c.compareDatabase, c)
		if err != nil {
			return err
		}
		defer srv.stop()
		cmp := &target{name: "compared", spawned: srv}
		if err := cmp.prepare(c); err != nil {
			return err
		}
		targets = append(targets, cmp)
	case c.compareURL != "":
		cmp := &target{name: "compared", url: c.compareURL, tokenFile: c.compareTokenFile, pid: c.comparePID}
		if c.compareTokenFile == "" {
			c := c
			c.seed = false // not a licet server, or seeded already
			if err := cmp.prepare(c); err != nil {
				return err
			}
		} else if err := cmp.prepare(c); err != nil {
			return err
		}
		targets = append(targets, cmp)
	}
	if c.baseline {
		// The baseline runs in a process of its own, as licet does: served
		// from this one, it would share the driver's runtime and skip the
		// wake-ups across processes that every real server pays (it then
		// did 10–25 % more requests a second than the same handler in its
		// own process, driven alike).
		base, stop, err := spawnBare()
		if err != nil {
			return err
		}
		defer stop()
		targets = append([]*target{base}, targets...)
	}
	plan := newPlan(c)
	for round := range c.rounds {
		// Alternate the order, so that no target always runs on a machine
		// warmed (or heated) by the same neighbour.
		order := slices.Clone(targets)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			if err := t.newSeats(c, plan, round); err != nil {
				return err
			}
			d := c
			if t.name == "baseline" {
				d.scenario = "hot" // the same bodies licet gets; the bare handler ignores them
			}
			res := drive(d, t.url, plan.body(d))
			res.rss, res.hwm = memory(t.pid)
			t.results = append(t.results, res)
		}
	}
	fmt.Println()
	fmt.Printf("%-9s %-6s %-8s %5s %9s %9s %8s %8s %8s %7s %8s %8s %9s %s\n", "target", "format", "scenario", "conns", "requests", "req/s", "p50", "p99", "p99.9", "ratio", "p99/base", "rss", "licensed", "errors")
	var base []*result
	if c.baseline {
		base = targets[0].results
	}
	for round := range c.rounds {
		for _, t := range targets {
			var b *result
			if base != nil {
				b = base[round]
			}
			t.results[round].print(t.name, c, b)
		}
	}
	if c.rounds > 1 {
		fmt.Printf("\nmedians of %d rounds (each figure's own median; ratios are medians of the per-round ratios):\n", c.rounds)
		for _, t := range targets {
			medianRow(t, base, c)
		}
	}
	return nil
}

// target is one server driven: licet, the compared server, or the baseline.
type target struct {
	name, url, tokenFile string
	pid                  int
	spawned              *spawned
	results              []*result
}

// prepare seeds the target (unless --seed=false) and restarts a spawned
// server on the seeded data, as the hot path meets it after a restart.
func (t *target) prepare(c config) error {
	if t.spawned != nil {
		t.url, t.tokenFile, t.pid = t.spawned.url, filepath.Join(t.spawned.dir, "operator-token"), t.spawned.cmd.Process.Pid
	}
	if !c.seed {
		return nil
	}
	tok, err := os.ReadFile(t.tokenFile)
	if err != nil {
		return fmt.Errorf("operator token: %w", err)
	}
	op := &operator{base: t.url, token: strings.TrimSpace(string(tok))}
	start := time.Now()
	if err := op.seed(c, newPlan(c)); err != nil {
		return err
	}
	fmt.Printf("%s: seeded %d organizations, %d licensed users in %s\n", t.name, c.orgs, c.users, time.Since(start).Round(time.Millisecond))
	if t.spawned != nil {
		if err := t.spawned.restart(); err != nil {
			return err
		}
		t.url, t.pid = t.spawned.url, t.spawned.cmd.Process.Pid
		fmt.Printf("%s: restart to ready with the seeded data: %s\n", t.name, t.spawned.ready.Round(time.Millisecond))
	}
	if c.scenario == "field" {
		// One cycle through the users first, as a server that has been up
		// for a while holds them: the measured checks are not cache misses.
		w := c
		w.requests, w.duration = c.users, time.Hour
		start := time.Now()
		res := drive(w, t.url, newPlan(c).body(w))
		fmt.Printf("%s: warmed with %d checks in %s\n", t.name, res.requests, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// newSeats gives a burst's later rounds seats of their own: the round
// before took its --burst-seats, and a round without free seats would
// measure refusals only. Each round's new users are new (the plan counts
// them across rounds).
func (t *target) newSeats(c config, p *plan, round int) error {
	if round == 0 || c.scenario != "burst" || c.burstSeats <= 0 || t.tokenFile == "" {
		return nil
	}
	tok, err := os.ReadFile(t.tokenFile)
	if err != nil {
		return fmt.Errorf("operator token: %w", err)
	}
	op := &operator{base: t.url, token: strings.TrimSpace(string(tok))}
	for _, org := range p.orgs {
		if err := op.do("POST", "/v1/orgs/"+org+"/pools", map[string]any{"licenseType": "Standard", "seats": c.burstSeats}); err != nil {
			return err
		}
	}
	return nil
}

func medianRow(t *target, base []*result, c config) {
	med := func(f func(i int, r *result) float64) float64 {
		v := make([]float64, len(t.results))
		for i, r := range t.results {
			v[i] = f(i, r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	ratio, p99ratio := "-", "-"
	if base != nil && t.name != "baseline" {
		ratio = fmt.Sprintf("%.2f", med(func(i int, r *result) float64 { return r.rate() / base[i].rate() }))
		p99ratio = fmt.Sprintf("%.2f", med(func(i int, r *result) float64 { return float64(r.pct(0.99)) / float64(base[i].pct(0.99)) }))
	}
	d := func(p float64) string {
		return short(time.Duration(med(func(_ int, r *result) float64 { return float64(r.pct(p)) })))
	}
	fmt.Printf("%-9s %-6s %-8s %5d %9.0f %9.0f %8s %8s %8s %7s %8s\n", t.name, c.format, c.scenario, c.conns,
		med(func(_ int, r *result) float64 { return float64(r.requests) }), med(func(_ int, r *result) float64 { return r.rate() }),
		d(0.50), d(0.99), d(0.999), ratio, p99ratio)
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// spawned is a licet server this tool started in a temporary folder.
type spawned struct {
	bin, dir, database, logLevel, leaseReuse, url string
	cmd                                           *exec.Cmd
	ready                                         time.Duration
}

func spawn(bin, database string, c config) (*spawned, error) {
	dir, err := os.MkdirTemp("", "licet-bench-")
	if err != nil {
		return nil, err
	}
	s := &spawned{bin: bin, dir: dir, database: database, logLevel: c.logLevel, leaseReuse: c.leaseReuse}
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
	if s.leaseReuse != "" {
		args = append(args, "--lease-reuse", s.leaseReuse)
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

// plan is what the seeding makes, known without asking the server: per
// organization, its licensed users.
type plan struct {
	orgs  []string
	users [][]string
	next  atomic.Int64 // new users of burst and mix
	field atomic.Int64 // the next licensed user of field
	order []int        // field: every licensed user once per cycle, shuffled
}

func guid(kind, n int) string { return fmt.Sprintf("%08X-0000-4000-8000-%012X", n, kind<<40|n) }

func newPlan(c config) *plan {
	p := &plan{}
	per := c.users / c.orgs
	for i := range c.orgs {
		p.orgs = append(p.orgs, guid(0xA, i+1))
		users := make([]string, per)
		for j := range users {
			users[j] = guid(0xB, i*per+j+1)
		}
		p.users = append(p.users, users)
	}
	return p
}

func (o *operator) seed(c config, p *plan) error {
	for i, org := range p.orgs {
		users := p.users[i]
		seats := len(users)
		switch {
		case c.scenario == "hot" || c.scenario == "field":
		case c.burstSeats >= 0:
			seats += c.burstSeats
		default:
			seats = 1_000_000 // room for the new users of a burst (the most one pool may sell)
		}
		if err := o.do("POST", "/v1/orgs", map[string]string{"id": org, "name": fmt.Sprintf("bench %d", i+1), "url": "https://crm.example.net"}); err != nil {
			return err
		}
		if err := o.do("POST", "/v1/orgs/"+org+"/pools", map[string]any{"licenseType": "Standard", "seats": seats}); err != nil {
			return err
		}
		for k := 0; k < len(users); k += 10_000 {
			batch := users[k:min(k+10_000, len(users))]
			if err := o.do("POST", "/v1/orgs/"+org+"/users/batch", map[string]any{"action": "assign", "userIds": batch, "licenseType": "Standard"}); err != nil {
				return err
			}
		}
	}
	return nil
}

func render(format, org, user string) []byte {
	if format == "xml" {
		return fmt.Appendf(nil, `<MobileClient><Version>6.1.0.0</Version><Edition>Resco</Edition><DeviceId>45d780e4f18354949676f743b0h11633951652bc</DeviceId><DeviceInfo>iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0</DeviceInfo><OrganizationId>%s</OrganizationId><OrganizationUrl>https://crm.example.net</OrganizationUrl><OrganizationName>bench</OrganizationName><UserId>%s</UserId></MobileClient>`, org, user)
	}
	return fmt.Appendf(nil, `{"version":"6.1.0.0","edition":"Resco","deviceId":"45d780e4f18354949676f743b0h11633951652bc","deviceInfo":"iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0","organizationId":%q,"organizationUrl":"https://crm.example.net","organizationName":"bench","userId":%q}`, org, user)
}

// body returns the request maker for the scenario: each call the next
// request body.
func (p *plan) body(c config) func(r *rand.Rand) []byte {
	var hot [][]byte
	for i, org := range p.orgs {
		users := p.users[i]
		if c.hot > 0 {
			users = users[:min(len(users), max(1, c.hot/len(p.orgs)))]
		}
		for _, u := range users {
			hot = append(hot, render(c.format, org, u))
		}
	}
	fresh := func(r *rand.Rand) []byte {
		n := int(p.next.Add(1))
		return render(c.format, p.orgs[n%len(p.orgs)], guid(0xC, n))
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
	case "field":
		// Devices check in hours apart: each check is a different user,
		// every user once per cycle through the set, in a shuffled order.
		if p.order == nil {
			p.order = rand.New(rand.NewPCG(3, 5)).Perm(len(hot))
		}
		return func(*rand.Rand) []byte {
			return hot[p.order[int(p.field.Add(1))%len(p.order)]]
		}
	}
	return func(r *rand.Rand) []byte { return hot[r.IntN(len(hot))] }
}

type result struct {
	requests int
	licensed int // answers that hold a license
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
			licensed := 0
			var buf bytes.Buffer
			// With --rate, this connection's k-th request is due at
			// t0 + (w + k·conns)/rate, and a late answer makes the next
			// requests late: their latency counts from when they were due,
			// so a server that stalls is not measured only by the few
			// requests that waited for it.
			var every time.Duration
			due := t0
			if c.rate > 0 {
				every = time.Duration(float64(c.conns) / c.rate * float64(time.Second))
				due = t0.Add(time.Duration(float64(w) / c.rate * float64(time.Second)))
			}
			for ctx.Err() == nil && (c.requests == 0 || sent.Add(1) <= int64(c.requests)) {
				body := next(r)
				start := time.Now()
				if every > 0 {
					if wait := time.Until(due); wait > 0 {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
							continue
						}
					}
					start, due = due, due.Add(every)
				}
				resp, err := client.Post(target+"/v1/license/check", ctype, bytes.NewReader(body))
				if err != nil {
					if ctx.Err() == nil {
						errs["transport"]++
					}
					continue
				}
				buf.Reset()
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if b := buf.Bytes(); bytes.Contains(b, []byte(`"licensed":true`)) || bytes.Contains(b, []byte("<Licensed>true<")) {
					licensed++
				}
				if resp.StatusCode != 200 {
					errs[strconv.Itoa(resp.StatusCode)]++
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.licensed += licensed
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
	ratio, p99ratio, rss := "-", "-", "-"
	if base != nil && name != "baseline" {
		ratio = fmt.Sprintf("%.2f", r.rate()/base.rate())
		p99ratio = fmt.Sprintf("%.2f", float64(r.pct(0.99))/float64(base.pct(0.99)))
	}
	if r.rss > 0 {
		rss = fmt.Sprintf("%dMiB", r.rss>>20)
	}
	errs := "0"
	if len(r.errors) > 0 {
		b, _ := json.Marshal(r.errors)
		errs = string(b)
	}
	fmt.Printf("%-9s %-6s %-8s %5d %9d %9.0f %8s %8s %8s %7s %8s %8s %9d %s\n", name, c.format, c.scenario, c.conns, r.requests, r.rate(),
		short(r.pct(0.50)), short(r.pct(0.99)), short(r.pct(0.999)), ratio, p99ratio, rss, r.licensed, errs)
}

func short(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

// spawnBare starts this program again as the baseline server
// (--bare-listen on a free loopback port) and returns it as a target.
func spawnBare() (*target, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, "--bare-listen", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	u, _, found := strings.Cut(strings.TrimPrefix(line, "baseline handler on "), " ")
	if err != nil || !found || !strings.HasPrefix(u, "http://127.0.0.1:") {
		stop()
		return nil, nil, fmt.Errorf("the baseline server did not start: %q", line)
	}
	return &target{name: "baseline", url: u, pid: cmd.Process.Pid}, stop, nil
}

// bare is the baseline: net/http reading the body and answering a fixed
// small XML document.
func bare() http.Handler {
	answer := []byte(`<?xml version="1.0" encoding="UTF-8"?><LicenseResponse><Status>Licensed</Status><Licensed>true</Licensed></LicenseResponse>`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.Write(answer)
	})
}

// serveBare serves the baseline handler alone, for other load tools.
func serveBare(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !loopback(host) {
		return errors.New("--bare-listen must be a loopback address")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("baseline handler on http://%s (POST anything; interrupt to stop)\n", ln.Addr())
	return http.Serve(ln, bare())
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
