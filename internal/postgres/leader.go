package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// conns tracks every connection the pool opened, by the address it dialed,
// so that connections to a node that stops being the leader can be closed
// at once: a commit waiting on such a node then fails (its outcome
// unknown, answered 503) instead of hanging until its timeout.
type conns struct {
	dialer net.Dialer
	// allow, when set, refuses to dial an address that is not the leader's.
	allow func(addr string) error

	mu   sync.Mutex
	open map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	addr string
	c    *conns
	once sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() {
		t.c.mu.Lock()
		delete(t.c.open, t)
		t.c.mu.Unlock()
	})
	return t.Conn.Close()
}

func (c *conns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.allow != nil {
		if err := c.allow(addr); err != nil {
			return nil, err
		}
	}
	nc, err := c.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: nc, addr: addr, c: c}
	c.mu.Lock()
	if c.open == nil {
		c.open = map[*trackedConn]struct{}{}
	}
	c.open[t] = struct{}{}
	c.mu.Unlock()
	return t, nil
}

// closeExcept closes every connection not to addr ("" closes all) and says
// how many it closed.
func (c *conns) closeExcept(addr string) int {
	c.mu.Lock()
	var victims []*trackedConn
	for t := range c.open {
		if t.addr != addr {
			victims = append(victims, t)
		}
	}
	c.mu.Unlock()
	for _, t := range victims {
		t.Close()
	}
	return len(victims)
}

// patroniLeader follows the node that Patroni names leader. Every poll it
// asks each member's REST API for GET /primary, which answers 200 only on
// the member whose Patroni holds the leader lock in the DCS and runs
// PostgreSQL as a primary. A PostgreSQL whose Patroni died (a zombie
// primary), or a frozen node, does not answer: it is not the leader, even
// though PostgreSQL itself would still accept writes. The leader's
// PostgreSQL address comes from Patroni's /cluster member list.
type patroniLeader struct {
	endpoints []string // REST API base URLs
	client    *http.Client
	every     time.Duration
	// grace is how long a leader that stopped confirming is still trusted:
	// a poll or two lost to a busy machine does not cut every connection.
	grace  time.Duration
	conns  *conns
	logger *slog.Logger

	mu        sync.RWMutex
	members   map[string]map[string]bool // REST API → its PostgreSQL addresses
	addrs     map[string]bool            // the leader's PostgreSQL addresses (ip:port); empty: no leader
	endpoint  string                     // the leader's REST API
	confirmed time.Time
}

func newPatroniLeader(endpoints []string, c *conns, every time.Duration, logger *slog.Logger) *patroniLeader {
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	return &patroniLeader{endpoints: endpoints, conns: c, every: every, grace: 3 * every, logger: logger,
		client: &http.Client{Timeout: 2 * every, Transport: &http.Transport{MaxIdleConnsPerHost: 2,
			DialContext: (&net.Dialer{Timeout: 2 * every}).DialContext}}}
}

// ParsePatroni checks a comma-separated list of Patroni REST API URLs.
func ParsePatroni(list string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimRight(strings.TrimSpace(e), "/")
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
			//lint:ignore ST1005 Patroni is a name; the message, printed after "--patroni: ", stays as users know it
			return nil, fmt.Errorf("Patroni REST API %q: want http://host:port", e)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("no Patroni REST API named")
	}
	if len(out) > 16 {
		return nil, errors.New("at most 16 Patroni REST APIs")
	}
	return out, nil
}

// allow refuses a connection to any node but the leader.
func (p *patroniLeader) allow(addr string) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.addrs) == 0 {
		return errors.New("no PostgreSQL node is the Patroni leader now")
	}
	if !p.addrs[addr] {
		return fmt.Errorf("%s is not the Patroni leader", addr)
	}
	return nil
}

// isLeader says whether a connection to addr may still be used.
func (p *patroniLeader) isLeader(addr string) bool { return p.allow(addr) == nil }

// known reports whether a leader is known now.
func (p *patroniLeader) known() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.addrs) > 0
}

// run polls until ctx ends.
func (p *patroniLeader) run(ctx context.Context) {
	t := time.NewTicker(p.every)
	defer t.Stop()
	relearn := time.NewTicker(30 * time.Second) // members may be added or moved
	defer relearn.Stop()
	for {
		p.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-relearn.C:
			lctx, cancel := context.WithTimeout(ctx, 2*p.every)
			p.learnMembers(lctx)
			cancel()
		}
	}
}

// poll asks every member once and updates the leader.
func (p *patroniLeader) poll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*p.every)
	defer cancel()
	ok := make([]bool, len(p.endpoints))
	var wg sync.WaitGroup
	for i, e := range p.endpoints {
		wg.Go(func() { ok[i] = p.get(ctx, e+"/primary", nil) == nil })
	}
	wg.Wait()
	leader := ""
	for i, yes := range ok {
		if !yes {
			continue
		}
		if leader != "" {
			leader = "" // two claim it: trust neither until it settles
			break
		}
		leader = p.endpoints[i]
	}
	now := time.Now()
	p.mu.RLock()
	cur, confirmed := p.endpoint, p.confirmed
	p.mu.RUnlock()
	switch {
	case leader != "" && leader == cur:
		p.mu.Lock()
		p.confirmed = now
		p.mu.Unlock()
	case leader != "":
		addrs, err := p.addressOf(ctx, leader)
		if err != nil {
			p.logger.Warn("patroni: leader's PostgreSQL address unknown", "leader", leader, "err", err)
			if cur != "" {
				p.set("", nil, now) // not the node we know, and no other known either
			}
			return
		}
		p.set(leader, addrs, now)
	case cur != "" && now.Sub(confirmed) > p.grace:
		p.set("", nil, now)
	}
}

// set makes leader the leader and closes connections to any other node.
func (p *patroniLeader) set(endpoint string, addrs map[string]bool, now time.Time) {
	p.mu.Lock()
	p.endpoint, p.addrs, p.confirmed = endpoint, addrs, now
	p.mu.Unlock()
	keep := ""
	for a := range addrs {
		keep = a
	}
	closed := p.conns.closeExcept(keep)
	if endpoint == "" {
		p.logger.Warn("patroni: no leader; database connections closed", "closed", closed)
	} else {
		p.logger.Info("patroni: following the leader", "patroni", endpoint, "postgres", keep, "closed", closed)
	}
}

// addressOf returns the PostgreSQL address of the member whose REST API is
// endpoint. The members' addresses are learned from /cluster, asked of
// every member at once (the first full answer wins) and remembered: a
// fresh leader is often too busy to answer /cluster quickly, while the
// member list rarely changes.
func (p *patroniLeader) addressOf(ctx context.Context, endpoint string) (map[string]bool, error) {
	p.mu.RLock()
	addrs, ok := p.members[endpoint]
	p.mu.RUnlock()
	if ok {
		return addrs, nil
	}
	if err := p.learnMembers(ctx); err != nil {
		return nil, err
	}
	p.mu.RLock()
	addrs, ok = p.members[endpoint]
	p.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s is not in the cluster's member list", endpoint)
	}
	return addrs, nil
}

// learnMembers reads the member list from whichever member answers first.
func (p *patroniLeader) learnMembers(ctx context.Context) error {
	type cluster struct {
		Members []struct {
			Host   string
			Port   int
			APIURL string `json:"api_url"`
		}
	}
	answers := make(chan cluster, len(p.endpoints))
	errs := make(chan error, len(p.endpoints))
	for _, e := range p.endpoints {
		go func() {
			var c cluster
			if err := p.get(ctx, e+"/cluster", &c); err != nil {
				errs <- err
				return
			}
			answers <- c
		}()
	}
	var lastErr error
	for range p.endpoints {
		select {
		case c := <-answers:
			members := map[string]map[string]bool{}
			for _, m := range c.Members {
				ips, err := net.DefaultResolver.LookupHost(ctx, m.Host)
				if err != nil {
					return err
				}
				addrs := map[string]bool{}
				for _, ip := range ips {
					addrs[net.JoinHostPort(ip, strconv.Itoa(m.Port))] = true
				}
				api := strings.TrimSuffix(m.APIURL, "/patroni")
				members[api] = addrs
			}
			p.mu.Lock()
			p.members = members
			p.mu.Unlock()
			return nil
		case err := <-errs:
			lastErr = err
		}
	}
	return lastErr
}

// get fetches url; an answer other than 200 is an error. v, when not nil,
// receives the JSON body (at most 1 MiB).
func (p *patroniLeader) get(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || v == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection for the next poll
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(v)
}
