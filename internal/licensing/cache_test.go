package licensing

import (
	"context"
	"io"
	"log/slog"
	"testing"

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
