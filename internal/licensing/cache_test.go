package licensing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
)

// fakeSeqs is just enough of a store to drive the cache's poll.
type fakeSeqs struct {
	Store
	seqs    map[string]int64
	changes map[string][]string
	during  func() // runs while the poll reads the change log
}

func (f *fakeSeqs) ChangeSeq(context.Context) (int64, error) { return 1, nil }
func (f *fakeSeqs) UserSeqs(context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for k, v := range f.seqs {
		out[k] = v
	}
	return out, nil
}
func (f *fakeSeqs) UserChangesSince(_ context.Context, org string, _ int64) ([]string, bool, error) {
	if f.during != nil {
		f.during()
		f.during = nil
	}
	return f.changes[org], true, nil
}

func licensed(org, id string) *licet.User {
	return &licet.User{OrgID: org, ID: id, State: licet.UserLicensed, LicenseType: "Standard"}
}

// A user read before another process unassigned it, and filled while the
// poll is between looking and applying, must not stay cached.
func TestCacheRefusesAFillThatRacesThePoll(t *testing.T) {
	f := &fakeSeqs{seqs: map[string]int64{"A": 1, "B": 5}, changes: map[string][]string{}}
	c := newCache(f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	if err := c.poll(ctx); err != nil {
		t.Fatal(err)
	}
	_, ta := c.user("A", "Y")
	c.fillUser(ta, licensed("A", "Y")) // A has a cached user, so the poll reads A's changes
	_, stale := c.user("B", "X")       // X read while licensed, at B's seq 5

	f.seqs["A"], f.seqs["B"] = 2, 6 // another process changed Y... and unassigned X
	f.during = func() { c.fillUser(stale, licensed("B", "X")) }
	if err := c.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if u, _ := c.user("B", "X"); u != nil {
		t.Fatal("a user unassigned elsewhere stays cached as licensed")
	}
	// And a fill after forgetUsers with a ticket from before is refused.
	_, t2 := c.user("B", "Z")
	c.forgetUsers("B", []string{"Z"})
	c.fillUser(t2, licensed("B", "Z"))
	if u, _ := c.user("B", "Z"); u != nil {
		t.Error("a fill read before a local change landed after it")
	}
	// A fresh fill works.
	_, t3 := c.user("B", "Z")
	c.fillUser(t3, licensed("B", "Z"))
	if u, _ := c.user("B", "Z"); u == nil {
		t.Error("a fresh fill was refused")
	}
}

// slowOrgs is a store whose organization read waits until released.
type slowOrgs struct {
	Store
	mu      sync.Mutex
	calls   int
	entered chan struct{} // closed by the first read
	release chan struct{}
}

func (f *slowOrgs) OrgData(ctx context.Context, orgID string) (*licet.Organization, []licet.Pool, error) {
	f.mu.Lock()
	f.calls++
	if f.calls == 1 {
		close(f.entered)
	}
	f.mu.Unlock()
	select {
	case <-f.release:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return &licet.Organization{ID: orgID}, nil, nil
}

func (f *slowOrgs) LicenseTypes(context.Context) ([]licet.LicenseType, error) { return nil, nil }

// A flood of checks on an organization the cache does not hold (a cold
// start, a change) reads it once, not once per check: 150 identical reads
// at once made a flood's checks time out with 503. The checks that joined
// the read are not failed by the one that started it giving up.
func TestColdOrganizationIsReadOnce(t *testing.T) {
	f := &slowOrgs{entered: make(chan struct{}), release: make(chan struct{})}
	c := newCache(f, slog.New(slog.DiscardHandler))
	first, giveUp := context.WithCancel(context.Background())
	errs := make(chan error, 50)
	read := func(ctx context.Context) {
		org, _, _, err := c.orgData(func() context.Context { return ctx }, "A")
		if err == nil && (org == nil || org.ID != "A") {
			err = fmt.Errorf("read %+v", org)
		}
		errs <- err
	}
	go read(first)
	<-f.entered
	for range 48 {
		go read(context.Background())
	}
	impatient, cancel := context.WithCancel(context.Background())
	cancel()
	go read(impatient)
	time.Sleep(100 * time.Millisecond) // the others wait on the first read
	giveUp()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that started the read and gave up, or the impatient one: %v", err)
	}
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that started the read and gave up, or the impatient one: %v", err)
	}
	close(f.release)
	for range 48 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if f.calls != 1 {
		t.Errorf("the organization was read %d times for 50 concurrent checks; want once", f.calls)
	}
}
