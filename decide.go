package licet

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet/protocol"
)

// Action is what a decision asks the store to write.
type Action int

const (
	ActNone      Action = iota // answer from what is stored; nothing to write
	ActRecord                  // a new user without a license: record it
	ActAssign                  // assign a free seat of LicenseType
	ActReclaim                 // move the seat of a user unseen since ReclaimBefore
	ActTemporary               // grant a temporary license until Until
)

// Decision is the outcome of a check.
type Decision struct {
	Status      Status
	LicenseType string
	Message     string
	// Until bounds the lease: a pool's end or a temporary license's end.
	// Zero means only the lease length bounds it.
	Until time.Time

	Action        Action
	Candidates    []string  // ActReclaim: the types whose seats may move, best first
	ReclaimBefore time.Time // ActReclaim: only users last seen before this

	User      *User  // the user after the decision was applied
	Reclaimed string // the user whose seat moved to this one, if any
	Evicted   int    // users recorded without a license removed to keep the cap
}

// Decide answers a check from a consistent view of the data. It is pure: the
// store calls it inside its write transaction to apply the decision, and the
// hot path calls it on a read to answer without writing when it can.
func Decide(now time.Time, v *CheckView, edition string) *Decision {
	if v.Org == nil || (v.Org.Settings.BindURL && !SameHost(v.Org.URL, v.OrgURL)) {
		// A bound organization answers a check that names another host
		// exactly as if it did not exist.
		return deny(StatusUnknownOrganization, "this organization has no licenses on this server")
	}
	org, u := v.Org, v.User
	if u != nil && u.Disabled {
		return deny(StatusUserDisabled, "an administrator disabled this user")
	}
	if u != nil && u.State == UserLicensed {
		until, ok := ActiveUntil(now, v.Pools, u.LicenseType)
		if !ok {
			d := deny(StatusSubscriptionExpired, fmt.Sprintf("the organization's %s subscription has expired", u.LicenseType))
			d.LicenseType = u.LicenseType
			return d
		}
		return &Decision{Status: StatusLicensed, LicenseType: u.LicenseType, Until: until,
			Message: "licensed", User: u}
	}

	need := NeededType(org, v.Types, edition)
	temporary := func() *Decision {
		if u == nil || u.State != UserTemporary || !now.Before(u.TemporaryUntil) {
			return nil
		}
		until, ok := activeServing(now, v, u.LicenseType)
		if !ok {
			d := deny(StatusSubscriptionExpired, "the organization's subscription has expired; the temporary license ends with it")
			d.LicenseType, d.User = u.LicenseType, u
			return d
		}
		if until.IsZero() || u.TemporaryUntil.Before(until) {
			until = u.TemporaryUntil
		}
		return &Decision{Status: StatusTemporary, LicenseType: u.LicenseType, Until: until, User: u,
			Message: fmt.Sprintf("temporary license until %s; ask an administrator to assign a license", until.UTC().Format(time.DateOnly))}
	}

	if !org.Settings.AutoAssign {
		if d := temporary(); d != nil {
			return d
		}
		if WantsTemporary(v) {
			return grantTemporary(now, v, need)
		}
		if u != nil && !u.TemporaryUntil.IsZero() && !now.Before(u.TemporaryUntil) {
			return record(u, deny(StatusNotAssigned, fmt.Sprintf("the temporary license ended on %s and no license is assigned to this user; ask an administrator",
				u.TemporaryUntil.UTC().Format(time.DateOnly))))
		}
		return record(u, deny(StatusNotAssigned, "automatic assignment is off and no license is assigned to this user; ask an administrator"))
	}

	cands := servingTypes(v.Types, v.Pools, need)
	var sold, active []string
	for _, t := range cands {
		for _, p := range v.Pools {
			if p.LicenseType != t {
				continue
			}
			if !slices.Contains(sold, t) {
				sold = append(sold, t)
			}
			if p.Active(now) && !slices.Contains(active, t) {
				active = append(active, t)
			}
		}
	}
	what, kind := "a license", "license"
	if need != "" {
		what, kind = Article(need)+" license", need+" license"
	}
	if len(sold) == 0 {
		if d := temporary(); d != nil {
			return d
		}
		return record(u, deny(StatusNoLicenseAvailable, "this organization has no pool that sells "+what))
	}
	if len(active) == 0 {
		if d := temporary(); d != nil {
			return d
		}
		return record(u, deny(StatusSubscriptionExpired, "the organization's subscription for "+what+" has expired"))
	}
	for _, t := range active {
		total := 0
		for _, p := range v.Pools {
			if p.LicenseType == t && p.Active(now) {
				total += p.Seats
			}
		}
		if total > v.Used[t] {
			until, _ := ActiveUntil(now, v.Pools, t)
			return &Decision{Status: StatusLicensed, LicenseType: t, Until: until, Action: ActAssign,
				Message: Article(t) + " license was assigned automatically"}
		}
	}
	if d := temporary(); d != nil {
		return d
	}
	if org.Settings.FreeUnusedDays > 0 {
		return &Decision{Status: StatusLicensed, Action: ActReclaim, Candidates: active,
			ReclaimBefore: now.Add(-time.Duration(org.Settings.FreeUnusedDays) * 24 * time.Hour),
			Message:       "a license unused for " + fmt.Sprint(org.Settings.FreeUnusedDays) + " days was reassigned automatically"}
	}
	return record(u, deny(StatusNoLicenseAvailable, "all "+kind+" seats of this organization are taken"))
}

// WantsTemporary reports whether a check may be granted a temporary
// license, bounds aside: automatic assignment is off, the organization
// grants temporary licenses, and the user was never seen (a new user, or
// one an administrator added who never checked in). Only then does the
// view need Temporary and HadTemporary.
func WantsTemporary(v *CheckView) bool {
	if v.Org == nil || v.Org.Settings.AutoAssign || v.Org.Settings.TemporaryDays <= 0 {
		return false
	}
	u := v.User
	return u == nil || (u.State == UserUnlicensed && !u.Disabled && u.FirstSeen.IsZero() && u.TemporaryUntil.IsZero())
}

// grantTemporary grants a temporary license within the vendor's bounds:
// only while a pool serving the needed type is within its term, only up to
// the organization's allowance at once, once per user ID, for at most the
// vendor's maximum of days and never past the pools' end.
func grantTemporary(now time.Time, v *CheckView, need string) *Decision {
	org, u := v.Org, v.User
	what := "a license"
	if need != "" {
		what = Article(need) + " license"
	}
	allowance := TemporaryAllowance(org, v.Pools, now)
	types := activeTypes(now, v, need)
	switch {
	case allowance == 0:
		return record(u, deny(StatusNotAssigned, "automatic assignment is off and this organization does not grant temporary licenses; ask an administrator to assign a license"))
	case v.HadTemporary:
		return record(u, deny(StatusNotAssigned, "this user already had a temporary license in this organization; ask an administrator to assign a license"))
	case len(types) == 0:
		return record(u, deny(StatusNotAssigned, "no temporary license: the organization has no active subscription for "+what+"; ask an administrator"))
	case v.Temporary >= allowance:
		return record(u, deny(StatusNotAssigned, fmt.Sprintf("no temporary license: all %d temporary licenses of this organization are in use; ask an administrator to assign a license", allowance)))
	}
	typ := need
	if typ == "" {
		typ = types[0]
	}
	days := min(org.Settings.TemporaryDays, org.Settings.TemporaryMaxDays)
	until := now.Add(time.Duration(days) * 24 * time.Hour)
	if end, _ := activeServing(now, v, typ); !end.IsZero() && end.Before(until) {
		until = end
	}
	return &Decision{Status: StatusTemporary, LicenseType: typ, Until: until, Action: ActTemporary,
		Message: fmt.Sprintf("temporary license until %s; ask an administrator to assign a license", until.UTC().Format(time.DateOnly))}
}

// activeTypes lists the types with a pool active at now that serve need,
// best first.
func activeTypes(now time.Time, v *CheckView, need string) []string {
	var out []string
	for _, t := range servingTypes(v.Types, v.Pools, need) {
		if _, ok := ActiveUntil(now, v.Pools, t); ok {
			out = append(out, t)
		}
	}
	return out
}

// activeServing reports whether a pool serving need is active at now, and
// until when the latest of them lasts (zero: one has no end).
func activeServing(now time.Time, v *CheckView, need string) (time.Time, bool) {
	var until time.Time
	ok := false
	for _, t := range activeTypes(now, v, need) {
		end, _ := ActiveUntil(now, v.Pools, t)
		switch {
		case !ok:
			until = end
		case until.IsZero() || end.IsZero():
			until = time.Time{}
		case end.After(until):
			until = end
		}
		ok = true
	}
	return until, ok
}

// SameHost reports whether two URLs name the same host in canonical form
// (protocol.SameHost): case, a final dot and IDN spellings aside, whatever
// the scheme, port or path. A URL without a valid host matches nothing.
func SameHost(a, b string) bool { return protocol.SameHost(a, b) }

// NoSeatToReclaim is the decision when a reclaim found no user to take a
// seat from.
func NoSeatToReclaim(u *User) *Decision {
	return record(u, deny(StatusNoLicenseAvailable, "all seats of this organization are taken and none has been unused long enough to free"))
}

func deny(s Status, msg string) *Decision { return &Decision{Status: s, Message: msg} }

// record marks a denial for a user never seen before so that the store keeps
// the user (administrators see who asked).
func record(u *User, d *Decision) *Decision {
	if u == nil {
		d.Action = ActRecord
	}
	d.User = u
	return d
}

// ActiveUntil returns the latest end of the active pools of type t, zero if
// one of them has no end, and whether any is active.
func ActiveUntil(now time.Time, pools []Pool, t string) (time.Time, bool) {
	var until time.Time
	ok := false
	for _, p := range pools {
		if p.LicenseType != t || !p.Active(now) {
			continue
		}
		if !ok {
			until = p.Until
		} else if until.IsZero() || p.Until.IsZero() {
			until = time.Time{}
		} else if p.Until.After(until) {
			until = p.Until
		}
		ok = true
	}
	return until, ok
}

// NeededType is the license type a user of org needs: the organization's
// setting, else the app's Edition when it names a known type, else "" (any).
func NeededType(org *Organization, types []LicenseType, edition string) string {
	if org.Settings.AssignType != "" {
		return org.Settings.AssignType
	}
	for _, t := range types {
		if edition != "" && strings.EqualFold(t.Name, edition) {
			return t.Name
		}
	}
	return ""
}

// Includes reports whether a seat of type have serves a need for type need,
// following inclusion transitively.
func Includes(types []LicenseType, have, need string) bool {
	return have == need || slices.Contains(closure(types, have), need)
}

// closure lists every type that t includes, directly or not.
func closure(types []LicenseType, t string) []string {
	byName := make(map[string][]string, len(types))
	for _, lt := range types {
		byName[lt.Name] = lt.Includes
	}
	var out []string
	stack := slices.Clone(byName[t])
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == t || slices.Contains(out, n) {
			continue
		}
		out = append(out, n)
		stack = append(stack, byName[n]...)
	}
	return out
}

// servingTypes lists the types sold in pools that serve need, best first:
// the exact type, then the type including the fewest others, then by name.
func servingTypes(types []LicenseType, pools []Pool, need string) []string {
	var out []string
	for _, p := range pools {
		if slices.Contains(out, p.LicenseType) {
			continue
		}
		if need == "" || Includes(types, p.LicenseType, need) {
			out = append(out, p.LicenseType)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if (a == need) != (b == need) {
			if a == need {
				return -1
			}
			return 1
		}
		if d := len(closure(types, a)) - len(closure(types, b)); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}

// ChooseAssignment picks the license type an administrator's assignment
// gives u (want, or the type automatic assignment would take) and checks
// that a seat of it is free now.
func ChooseAssignment(now time.Time, org *Organization, u *User, pools []Pool, types []LicenseType, used map[string]int, want string) (string, error) {
	if u.Disabled {
		return "", Errorf(ECONFLICT, "user %s is disabled; enable it first", u.ID)
	}
	cands := []string{want}
	if want == "" {
		cands = servingTypes(types, pools, NeededType(org, types, u.Last.Edition))
	}
	if len(cands) == 0 {
		return "", Errorf(ECONFLICT, "organization %s has no license pool", org.ID)
	}
	var reason error
	for _, t := range cands {
		if u.State == UserLicensed && u.LicenseType == t {
			return t, nil
		}
		total, sold := 0, false
		for _, p := range pools {
			if p.LicenseType == t {
				sold = true
				if p.Active(now) {
					total += p.Seats
				}
			}
		}
		switch {
		case !sold:
			reason = Errorf(ECONFLICT, "organization %s has no pool of license type %q", org.ID, t)
		case total == 0:
			reason = Errorf(ECONFLICT, "the %s subscription of organization %s has expired", t, org.ID)
		case used[t] >= total:
			reason = Errorf(ECONFLICT, "all %d %s seats of organization %s are taken", total, t, org.ID)
		default:
			return t, nil
		}
	}
	return "", reason
}
