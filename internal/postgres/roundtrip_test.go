package postgres_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/postgres"
	"github.com/licet/licet/internal/storetest"
)

// A check of a user not in the cache waits for PostgreSQL once: counted as
// the Sync and Query messages the store sends through a proxy, each of which
// PostgreSQL answers before the client goes on.
func TestCheckUserIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := startCountingProxy(t, u.Host)
	u.Host = p.addr
	s, err := postgres.Open(ctx, u.String(), postgres.Options{Clock: storetest.NewClock(storetest.Start)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	org := storetest.GUID('o', 1)
	if err := s.CreateOrganization(ctx, &licet.Organization{ID: org, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{"Standard", "Premium"} {
		if err := s.AddPool(ctx, &licet.Pool{OrgID: org, LicenseType: typ, Seats: 10, From: storetest.Start}, "op"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ChangeUser(ctx, org, storetest.GUID('u', 10+i), licet.ActionAssign, typ, "op"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ChangeUser(ctx, org, storetest.GUID('u', 2), licet.ActionAdd, "", "op"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, user string }{
		{"a new user", storetest.GUID('u', 1)},
		{"an unlicensed user", storetest.GUID('u', 2)},
		{"a licensed user", storetest.GUID('u', 10)},
	} {
		if _, _, err := s.CheckUser(ctx, org, c.user); err != nil { // prepares the statements
			t.Fatal(err)
		}
		const n = 20
		before := p.roundTrips.Load()
		for range n {
			if _, _, err := s.CheckUser(ctx, org, c.user); err != nil {
				t.Fatal(err)
			}
		}
		if got := p.roundTrips.Load() - before; got != n {
			t.Errorf("%s: %d checks took %d round trips; want one each", c.name, n, got)
		}
	}
}

type countingProxy struct {
	addr       string
	roundTrips atomic.Int64
}

// startCountingProxy forwards connections to target and counts the
// messages after which a PostgreSQL client waits for the server: Sync
// (extended protocol) and Query (simple protocol).
func startCountingProxy(t *testing.T, target string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &countingProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			srv, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(c, srv); c.Close() }()
			go func() { p.count(srv, c); srv.Close() }()
		}
	}()
	return p
}

// count copies the client's messages to the server, counting them.
func (p *countingProxy) count(srv io.Writer, client io.Reader) error {
	r := bufio.NewReader(io.TeeReader(client, srv))
	var hdr [5]byte
	// Untyped messages first: the startup message (sslmode=disable sends
	// no SSL request before it).
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return err
	}
	if _, err := r.Discard(int(binary.BigEndian.Uint32(hdr[:4])) - 4); err != nil {
		return err
	}
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		if hdr[0] == 'S' || hdr[0] == 'Q' {
			p.roundTrips.Add(1)
		}
		n := int(binary.BigEndian.Uint32(hdr[1:])) - 4
		if n < 0 {
			return errors.New("bad message length")
		}
		if _, err := r.Discard(n); err != nil {
			return err
		}
	}
}
