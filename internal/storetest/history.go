package storetest

import (
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Outcome is what a client learned from one license check.
type Outcome string

const (
	Licensed Outcome = "licensed" // 200 Licensed
	Denied   Outcome = "denied"   // 200 NoLicenseAvailable: the pool was full
	Unknown  Outcome = "unknown"  // 503, a timeout, a cut connection: it may or may not have assigned
)

// Op is one operation of a recorded history: a check by one user, or, at
// the end, the list of an organization's licensed users as the database
// holds them.
type Op struct {
	Client       int
	Org, User    string
	Outcome      Outcome
	List         []string // for a list: the licensed users
	IsList       bool
	Call, Return time.Time
}

// History records operations from many goroutines.
type History struct {
	mu  sync.Mutex
	ops []Op
}

// Add records an operation.
func (h *History) Add(op Op) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Ops returns the operations recorded so far.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ops)
}

// seatState is one organization's licensed users, as a bit per user.
type seatState struct {
	n    int
	bits string
}

func (s seatState) has(i int) bool { return s.bits[i/8]&(1<<(i%8)) != 0 }

func (s seatState) with(i int) seatState {
	b := []byte(s.bits)
	b[i/8] |= 1 << (i % 8)
	return seatState{n: s.n + 1, bits: string(b)}
}

type seatInput struct {
	user   int // index of the user in its organization
	list   []int
	isList bool
}

// CheckSeats checks a history with porcupine against a model of each
// organization's seats: a set of licensed users no larger than seats[org],
// where a check answered Licensed holds (or takes) a seat, a check answered
// NoLicenseAvailable finds the pool full and the user without a seat, a
// check whose outcome is unknown may or may not have taken one, and
// nothing ever gives a seat back (the history has no unassignment). The
// final list must be exactly the set. So it fails on an over-sold seat, on
// an acknowledged assignment that vanished, and on a denial while seats
// were free. Each organization is checked on its own; the result is the
// first that is not Ok, with a description.
func CheckSeats(seats map[string]int, ops []Op, timeout time.Duration) (porcupine.CheckResult, string) {
	byOrg := map[string][]Op{}
	for _, op := range ops {
		byOrg[op.Org] = append(byOrg[op.Org], op)
	}
	orgs := make([]string, 0, len(byOrg))
	for org := range byOrg {
		orgs = append(orgs, org)
	}
	sort.Strings(orgs)
	for _, org := range orgs {
		limit, ok := seats[org]
		if !ok {
			return porcupine.Illegal, fmt.Sprintf("organization %s has no seat count", org)
		}
		if res, why := checkOrg(limit, byOrg[org], timeout); res != porcupine.Ok {
			return res, fmt.Sprintf("organization %s: %s", org, why)
		}
	}
	return porcupine.Ok, ""
}

func checkOrg(limit int, ops []Op, timeout time.Duration) (porcupine.CheckResult, string) {
	users := map[string]int{}
	index := func(user string) int {
		i, ok := users[user]
		if !ok {
			i = len(users)
			users[user] = i
		}
		return i
	}
	base := ops[0].Call
	for _, op := range ops {
		if op.Call.Before(base) {
			base = op.Call
		}
	}
	history := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		in := seatInput{isList: op.IsList}
		if op.IsList {
			for _, u := range op.List {
				in.list = append(in.list, index(u))
			}
		} else {
			in.user = index(op.User)
		}
		history = append(history, porcupine.Operation{ClientId: op.Client, Input: in, Output: op.Outcome,
			Call: int64(op.Call.Sub(base)), Return: int64(op.Return.Sub(base))})
	}
	empty := seatState{bits: strings.Repeat("\x00", (len(users)+7)/8)}
	seed := maphash.MakeSeed()
	model := porcupine.NondeterministicModel{
		Init: func() []any { return []any{empty} },
		Step: func(state, input, output any) []any {
			s, in := state.(seatState), input.(seatInput)
			if in.isList {
				if len(in.list) != s.n {
					return nil
				}
				for _, i := range in.list {
					if !s.has(i) {
						return nil
					}
				}
				return []any{s}
			}
			switch output.(Outcome) {
			case Licensed:
				if s.has(in.user) {
					return []any{s}
				}
				if s.n < limit {
					return []any{s.with(in.user)}
				}
				return nil
			case Denied:
				if !s.has(in.user) && s.n >= limit {
					return []any{s}
				}
				return nil
			default:
				if s.has(in.user) || s.n >= limit {
					return []any{s}
				}
				return []any{s, s.with(in.user)}
			}
		},
		Equal: func(a, b any) bool { return a.(seatState) == b.(seatState) },
		Hash:  func(state any) uint64 { return maphash.String(seed, state.(seatState).bits) },
		DescribeOperation: func(input, output any) string {
			in := input.(seatInput)
			if in.isList {
				return fmt.Sprintf("list → %d users", len(in.list))
			}
			return fmt.Sprintf("check user#%d → %s", in.user, output)
		},
		DescribeState: func(state any) string { return fmt.Sprintf("%d of %d seats", state.(seatState).n, limit) },
	}
	res, info := porcupine.CheckOperationsVerbose(model.ToModel(), history, timeout)
	if res == porcupine.Ok {
		return res, ""
	}
	longest := 0
	for _, part := range info.PartialLinearizations() {
		for _, l := range part {
			longest = max(longest, len(l))
		}
	}
	return res, fmt.Sprintf("porcupine: %s over %d operations (longest linearizable prefix: %d)", res, len(history), longest)
}
