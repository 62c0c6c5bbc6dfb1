package sqlstore_test

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
	"github.com/licet/licet/internal/sqlstore"
	"github.com/licet/licet/internal/storetest"
)

// A check of a user not in the cache waits for PostgreSQL once: counted as
// the Sync and Query messages the store sends through a proxy, each of which
// PostgreSQL answers before the client goes on.
func TestCheckUserIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, p := openCounted(t)
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

// A group of admissions waits for PostgreSQL three times, whatever its
// size and however many of it are refused: one batch that begins the
// transaction, locks the organization and reads its pools, the license
// types, the seat counts and the group's users; one with the writes so far
// and the count of users recorded without a license (for the first
// refusal); one with the last writes and the commit. When the last group of
// the organization refused users too, that count comes with the first
// batch: twice. Each wait is a wake-up of the single writer; on a loaded
// machine one took 0.5–0.8 ms, and a group used to wait ten times.
func TestAdmissionGroupWaitsThreeTimes(t *testing.T) {
	ctx := context.Background()
	s, p := openCounted(t)
	// group admits, together, the new users from, from+1, … of an
	// organization, and returns how many it licensed and the round trips
	// their admission took.
	group := func(org string, from, n int) (licensed int, trips int64) {
		t.Helper()
		reqs := make([]licet.AdmitRequest, n)
		for i := range reqs {
			reqs[i] = licet.AdmitRequest{OrgID: org, UserID: storetest.GUID('u', from+i),
				Sighting: licet.Sighting{DeviceID: "d", At: storetest.Start}}
		}
		before := p.roundTrips.Load()
		ds, err := s.AdmitTogether(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		trips = p.roundTrips.Load() - before
		for _, d := range ds {
			if d.Status == licet.StatusLicensed {
				licensed++
			}
		}
		return licensed, trips
	}
	// org makes an organization with seats seats.
	org := func(o, seats int) string {
		t.Helper()
		id := storetest.GUID('o', o)
		if err := s.CreateOrganization(ctx, &licet.Organization{ID: id, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddPool(ctx, &licet.Pool{OrgID: id, LicenseType: "Standard", Seats: seats, From: storetest.Start}, "op"); err != nil {
			t.Fatal(err)
		}
		return id
	}
	group(org(1, 4), 0, 8) // prepares the statements
	for i, n := range []int{16, 64} {
		o := org(2+i, n/2)
		// Seats for half of them.
		licensed, trips := group(o, 10_000*(i+1), n)
		if trips != 3 {
			t.Errorf("a group of %d admissions waited for PostgreSQL %d times, want 3", n, trips)
		}
		if licensed != n/2 {
			t.Errorf("a group of %d admissions licensed %d users on %d seats", n, licensed, n/2)
		}
		// No seat left, and the last group refused users.
		licensed, trips = group(o, 10_000*(i+1)+n, n)
		if trips != 2 {
			t.Errorf("a group of %d admissions after refusals waited for PostgreSQL %d times, want 2", n, trips)
		}
		if licensed != 0 {
			t.Errorf("a group of %d admissions licensed %d users with no seat free", n, licensed)
		}
	}
}

// openCounted opens a store on a fresh PostgreSQL database through a
// proxy that counts the round trips.
func openCounted(t *testing.T) (*sqlstore.Store, *countingProxy) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := startCountingProxy(t, u.Host)
	u.Host = p.addr
	s, err := postgres.Open(context.Background(), u.String(), postgres.Options{Clock: storetest.NewClock(storetest.Start)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, p
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

// count copies the client's messages to the server, counting each before
// it is sent on (so the server's answer never comes before the count).
func (p *countingProxy) count(srv io.Writer, client io.Reader) error {
	r := bufio.NewReader(client)
	// Untyped messages first: the startup message (sslmode=disable sends
	// no SSL request before it).
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	if err := forward(srv, r, n[:], int(binary.BigEndian.Uint32(n[:]))-4); err != nil {
		return err
	}
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		if hdr[0] == 'S' || hdr[0] == 'Q' {
			p.roundTrips.Add(1)
		}
		if err := forward(srv, r, hdr[:], int(binary.BigEndian.Uint32(hdr[1:]))-4); err != nil {
			return err
		}
	}
}

// forward sends a message's header and its body of n bytes on.
func forward(srv io.Writer, r io.Reader, hdr []byte, n int) error {
	if n < 0 {
		return errors.New("bad message length")
	}
	if _, err := srv.Write(hdr); err != nil {
		return err
	}
	_, err := io.CopyN(srv, r, int64(n))
	return err
}
