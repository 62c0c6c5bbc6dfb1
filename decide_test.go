package licet_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/licet/licet"
)

func TestParseGUID(t *testing.T) {
	const want = "4F767AFF-B33F-437C-A7CB-00249948C82B"
	for _, in := range []string{want, "4f767aff-b33f-437c-a7cb-00249948c82b", "{4F767AFF-B33F-437C-A7CB-00249948C82B}",
		"4f767affb33f437ca7cb00249948c82b", " 4F767AFF-B33F-437C-A7CB-00249948C82B "} {
		if got, ok := licet.ParseGUID(in); !ok || got != want {
			t.Errorf("ParseGUID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "4F767AFF", "4F767AFF-B33F-437C-A7CB-00249948C82G", "{4F767AFF-B33F-437C-A7CB-00249948C82B",
		"4F767AFFB-33F-437C-A7CB-00249948C82B", "4F767AFF-B33F-437C-A7CB-00249948C82B0", "../../etc/passwd"} {
		if got, ok := licet.ParseGUID(in); ok {
			t.Errorf("ParseGUID(%q) = %q, accepted", in, got)
		}
	}
}

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func org(mod func(*licet.Settings)) *licet.Organization {
	o := &licet.Organization{ID: "O", Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}
	if mod != nil {
		mod(&o.Settings)
	}
	return o
}

func pool(typ string, seats int, from, until time.Time) licet.Pool {
	return licet.Pool{LicenseType: typ, Seats: seats, From: from, Until: until}
}

var types = []licet.LicenseType{{Name: "Standard"}, {Name: "Inspections", Includes: []string{"Standard"}}, {Name: "Premium", Includes: []string{"Inspections"}}}

func TestDecide(t *testing.T) {
	day := 24 * time.Hour
	past, future := now.Add(-30*day), now.Add(30*day)
	licensed := &licet.User{ID: "U", State: licet.UserLicensed, LicenseType: "Standard", FirstSeen: past}
	tests := []struct {
		name    string
		view    licet.CheckView
		edition string
		status  licet.Status
		typ     string
		action  licet.Action
		until   time.Time
	}{
		{name: "unknown organization", view: licet.CheckView{}, status: licet.StatusUnknownOrganization},
		{name: "new user gets a free seat", view: licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Standard", 2, past, time.Time{})}, Types: types, Used: map[string]int{"Standard": 1}},
			status: licet.StatusLicensed, typ: "Standard", action: licet.ActAssign},
		{name: "pool full", view: licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Standard", 2, past, time.Time{})}, Types: types, Used: map[string]int{"Standard": 2}},
			status: licet.StatusNoLicenseAvailable, action: licet.ActRecord},
		{name: "several pools of one type add up", view: licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Standard", 2, past, time.Time{}), pool("Standard", 1, past, future)}, Types: types, Used: map[string]int{"Standard": 2}},
			status: licet.StatusLicensed, typ: "Standard", action: licet.ActAssign}, // one pool has no end: no bound
		{name: "an expired pool's seats are not available", view: licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Standard", 2, past, time.Time{}), pool("Standard", 5, past, now)}, Types: types, Used: map[string]int{"Standard": 2}},
			status: licet.StatusNoLicenseAvailable, action: licet.ActRecord},
		{name: "all pools expired", view: licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Standard", 5, past, now.Add(-time.Second))}, Types: types, Used: map[string]int{}},
			status: licet.StatusSubscriptionExpired, action: licet.ActRecord},
		{name: "a pool not started yet", view: licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Standard", 5, future, time.Time{})}, Types: types, Used: map[string]int{}},
			status: licet.StatusSubscriptionExpired, action: licet.ActRecord},
		{name: "no pool at all", view: licet.CheckView{Org: org(nil), Types: types, Used: map[string]int{}},
			status: licet.StatusNoLicenseAvailable, action: licet.ActRecord},
		{name: "licensed user", view: licet.CheckView{Org: org(nil), User: licensed, Pools: []licet.Pool{pool("Standard", 1, past, future)}, Types: types},
			status: licet.StatusLicensed, typ: "Standard", action: licet.ActNone, until: future},
		{name: "licensed user, subscription over", view: licet.CheckView{Org: org(nil), User: licensed, Pools: []licet.Pool{pool("Standard", 1, past, now)}, Types: types},
			status: licet.StatusSubscriptionExpired, typ: "Standard", action: licet.ActNone},
		{name: "disabled user", view: licet.CheckView{Org: org(nil), User: &licet.User{ID: "U", Disabled: true, State: licet.UserUnlicensed}, Pools: []licet.Pool{pool("Standard", 1, past, future)}},
			status: licet.StatusUserDisabled, action: licet.ActNone},
		{name: "edition needs Standard, Inspections serves it", edition: "standard",
			view:   licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Inspections", 1, past, time.Time{})}, Types: types, Used: map[string]int{}},
			status: licet.StatusLicensed, typ: "Inspections", action: licet.ActAssign},
		{name: "exact type preferred over an including one", edition: "Standard",
			view:   licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Premium", 1, past, time.Time{}), pool("Inspections", 1, past, time.Time{}), pool("Standard", 1, past, time.Time{})}, Types: types, Used: map[string]int{}},
			status: licet.StatusLicensed, typ: "Standard", action: licet.ActAssign},
		{name: "the smallest including type next", edition: "Standard",
			view:   licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Premium", 1, past, time.Time{}), pool("Inspections", 1, past, time.Time{}), pool("Standard", 1, past, time.Time{})}, Types: types, Used: map[string]int{"Standard": 1}},
			status: licet.StatusLicensed, typ: "Inspections", action: licet.ActAssign},
		{name: "a type no pool sells", edition: "Inspections",
			view:   licet.CheckView{Org: org(nil), Pools: []licet.Pool{pool("Standard", 5, past, time.Time{})}, Types: types, Used: map[string]int{}},
			status: licet.StatusNoLicenseAvailable, action: licet.ActRecord},
		{name: "the organization's assign type wins over the edition", edition: "Standard",
			view:   licet.CheckView{Org: org(func(s *licet.Settings) { s.AssignType = "Premium" }), Pools: []licet.Pool{pool("Standard", 5, past, time.Time{})}, Types: types, Used: map[string]int{}},
			status: licet.StatusNoLicenseAvailable, action: licet.ActRecord},
		{name: "auto off: a new user gets a temporary license", view: licet.CheckView{Org: org(func(s *licet.Settings) { s.AutoAssign = false }), Pools: []licet.Pool{pool("Standard", 5, past, time.Time{})}, Types: types, Used: map[string]int{}},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActTemporary, until: now.Add(14 * day)},
		{name: "auto off, no temporary licenses", view: licet.CheckView{Org: org(func(s *licet.Settings) { s.AutoAssign, s.TemporaryDays = false, 0 }), Types: types, Used: map[string]int{}},
			status: licet.StatusNotAssigned, action: licet.ActRecord},
		{name: "auto off: temporary license running", view: licet.CheckView{Org: org(func(s *licet.Settings) { s.AutoAssign = false }),
			User: &licet.User{ID: "U", State: licet.UserTemporary, LicenseType: "Standard", TemporaryUntil: now.Add(day), FirstSeen: past}, Types: types, Used: map[string]int{},
			Pools: []licet.Pool{pool("Standard", 5, past, time.Time{})}},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActNone, until: now.Add(day)},
		{name: "auto off: temporary license over", view: licet.CheckView{Org: org(func(s *licet.Settings) { s.AutoAssign = false }),
			User: &licet.User{ID: "U", State: licet.UserTemporary, TemporaryUntil: now, FirstSeen: past}, Types: types, Used: map[string]int{}},
			status: licet.StatusNotAssigned, action: licet.ActNone},
		{name: "auto off: a user seen before gets no second temporary license", view: licet.CheckView{Org: org(func(s *licet.Settings) { s.AutoAssign = false }),
			User: &licet.User{ID: "U", State: licet.UserUnlicensed, FirstSeen: past}, Types: types, Used: map[string]int{}},
			status: licet.StatusNotAssigned, action: licet.ActNone},
		{name: "full with free-up on: reclaim", view: licet.CheckView{Org: org(func(s *licet.Settings) { s.FreeUnusedDays = 90 }), Pools: []licet.Pool{pool("Standard", 1, past, time.Time{})}, Types: types, Used: map[string]int{"Standard": 1}},
			status: licet.StatusLicensed, action: licet.ActReclaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := licet.Decide(now, &tt.view, tt.edition)
			if d.Status != tt.status || d.LicenseType != tt.typ || d.Action != tt.action || !d.Until.Equal(tt.until) {
				t.Errorf("got %s %q action %d until %v (%s); want %s %q action %d until %v",
					d.Status, d.LicenseType, d.Action, d.Until, d.Message, tt.status, tt.typ, tt.action, tt.until)
			}
			if d.Message == "" {
				t.Error("no message")
			}
		})
	}
}

// TestDecideTemporaryBounds: a temporary license is a courtesy within what
// the organization bought, never a way around it (issue 13).
func TestDecideTemporaryBounds(t *testing.T) {
	day := 24 * time.Hour
	past, future := now.Add(-30*day), now.Add(30*day)
	off := func(mod func(*licet.Settings)) *licet.Organization {
		return org(func(s *licet.Settings) {
			s.AutoAssign = false
			if mod != nil {
				mod(s)
			}
		})
	}
	std := func(seats int) []licet.Pool { return []licet.Pool{pool("Standard", seats, past, time.Time{})} }
	tests := []struct {
		name    string
		view    licet.CheckView
		edition string
		status  licet.Status
		typ     string
		action  licet.Action
		until   time.Time
		message string // part of the message
	}{
		{name: "no pool at all: no temporary license", view: licet.CheckView{Org: off(nil), Types: types},
			status: licet.StatusNotAssigned, action: licet.ActRecord, message: "no active subscription"},
		{name: "only a pool that ended in 2020", view: licet.CheckView{Org: off(nil), Types: types,
			Pools: []licet.Pool{pool("Standard", 50, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))}},
			status: licet.StatusNotAssigned, action: licet.ActRecord, message: "no active subscription"},
		{name: "a pool not of the needed type", edition: "Inspections", view: licet.CheckView{Org: off(nil), Types: types, Pools: std(50)},
			status: licet.StatusNotAssigned, action: licet.ActRecord, message: "no active subscription for an Inspections license"},
		{name: "a pool of a type that includes the needed one", edition: "Standard", view: licet.CheckView{Org: off(nil), Types: types,
			Pools: []licet.Pool{pool("Premium", 50, past, future)}},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActTemporary, until: now.Add(14 * day)},
		{name: "the default allowance of 50 seats is 5: four holders leave room", view: licet.CheckView{Org: off(nil), Types: types, Pools: std(50), Temporary: 4},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActTemporary, until: now.Add(14 * day)},
		{name: "the default allowance of 50 seats is 5: five holders fill it", view: licet.CheckView{Org: off(nil), Types: types, Pools: std(50), Temporary: 5},
			status: licet.StatusNotAssigned, action: licet.ActRecord, message: "all 5 temporary licenses"},
		{name: "the default allowance is at least 1", view: licet.CheckView{Org: off(nil), Types: types, Pools: std(5), Temporary: 0},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActTemporary, until: now.Add(14 * day)},
		{name: "the default allowance is at least 1, and 1 is used", view: licet.CheckView{Org: off(nil), Types: types, Pools: std(5), Temporary: 1},
			status: licet.StatusNotAssigned, action: licet.ActRecord, message: "all 1 temporary licenses"},
		{name: "the vendor's allowance wins", view: licet.CheckView{Org: off(func(s *licet.Settings) { s.TemporaryMax = 20 }), Types: types, Pools: std(5), Temporary: 19},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActTemporary, until: now.Add(14 * day)},
		{name: "an allowance of 0: none", view: licet.CheckView{Org: off(func(s *licet.Settings) { s.TemporaryMax = 0 }), Types: types, Pools: std(500)},
			status: licet.StatusNotAssigned, action: licet.ActRecord, message: "does not grant temporary licenses"},
		{name: "a user ID that held one before (since deleted)", view: licet.CheckView{Org: off(nil), Types: types, Pools: std(50), HadTemporary: true},
			status: licet.StatusNotAssigned, action: licet.ActRecord, message: "already had"},
		{name: "temporaryDays above the vendor's maximum is capped", view: licet.CheckView{Org: off(func(s *licet.Settings) { s.TemporaryDays = 3650 }), Types: types, Pools: std(50)},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActTemporary, until: now.Add(30 * day)},
		{name: "never past the end of the pool", view: licet.CheckView{Org: off(nil), Types: types, Pools: []licet.Pool{pool("Standard", 50, past, now.Add(3*day))}},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActTemporary, until: now.Add(3 * day)},
		{name: "a running temporary license ends with the subscription", view: licet.CheckView{Org: off(nil), Types: types,
			Pools: []licet.Pool{pool("Standard", 50, past, now.Add(-time.Hour))},
			User:  &licet.User{ID: "U", State: licet.UserTemporary, LicenseType: "Standard", TemporaryUntil: now.Add(day), FirstSeen: past}},
			status: licet.StatusSubscriptionExpired, typ: "Standard", action: licet.ActNone, message: "expired"},
		{name: "a running temporary license says its type", view: licet.CheckView{Org: off(nil), Types: types, Pools: std(50),
			User: &licet.User{ID: "U", State: licet.UserTemporary, LicenseType: "Standard", TemporaryUntil: now.Add(day), FirstSeen: past}},
			status: licet.StatusTemporary, typ: "Standard", action: licet.ActNone, until: now.Add(day)},
		{name: "an ended temporary license says so", view: licet.CheckView{Org: off(nil), Types: types, Pools: std(50),
			User: &licet.User{ID: "U", State: licet.UserTemporary, LicenseType: "Standard", TemporaryUntil: now.Add(-day), FirstSeen: past}},
			status: licet.StatusNotAssigned, action: licet.ActNone, message: "temporary license ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := licet.Decide(now, &tt.view, tt.edition)
			if d.Status != tt.status || d.LicenseType != tt.typ || d.Action != tt.action || !d.Until.Equal(tt.until) || !strings.Contains(d.Message, tt.message) {
				t.Errorf("got %s %q action %d until %v (%s); want %s %q action %d until %v (…%s…)",
					d.Status, d.LicenseType, d.Action, d.Until, d.Message, tt.status, tt.typ, tt.action, tt.until, tt.message)
			}
		})
	}
	o := off(nil)
	for seats, want := range map[int]int{0: 1, 9: 1, 10: 1, 25: 2, 1000: 100} {
		if got := licet.TemporaryAllowance(o, std(seats), now); got != want {
			t.Errorf("allowance of %d seats: %d, want %d", seats, got, want)
		}
	}
	o.Settings.TemporaryDays = 31
	if err := o.CheckSettings(); licet.ErrorCode(err) != licet.EINVALID || !strings.Contains(err.Error(), "30 days") {
		t.Errorf("temporaryDays above the maximum: %v", err)
	}
}

// TestDecideURLBinding: with binding on, a check that names another host
// than the organization's URL is answered as if the organization did not
// exist; the default leaves OrganizationUrl informative.
func TestDecideURLBinding(t *testing.T) {
	licensed := &licet.User{ID: "U", State: licet.UserLicensed, LicenseType: "Standard"}
	view := func(bind bool, url string) *licet.CheckView {
		return &licet.CheckView{Org: org(func(s *licet.Settings) { s.BindURL = bind }), User: licensed, OrgURL: url,
			Pools: []licet.Pool{pool("Standard", 1, now.Add(-time.Hour), time.Time{})}, Types: types}
	}
	for _, tc := range []struct {
		bind bool
		url  string
		want licet.Status
	}{
		{false, "https://attacker.example", licet.StatusLicensed},
		{false, "", licet.StatusLicensed},
		{true, "https://o.example", licet.StatusLicensed},
		{true, "HTTPS://O.Example:443/crm/", licet.StatusLicensed},
		{true, "https://o.example.", licet.StatusLicensed},
		{true, "https://attacker.example", licet.StatusUnknownOrganization},
		{true, "https://o.example.attacker.example", licet.StatusUnknownOrganization},
		{true, "", licet.StatusUnknownOrganization},
		{true, "not a url", licet.StatusUnknownOrganization},
	} {
		d := licet.Decide(now, view(tc.bind, tc.url), "")
		if d.Status != tc.want || (d.Status == licet.StatusUnknownOrganization && (d.Action != licet.ActNone || d.Message != licet.Decide(now, &licet.CheckView{}, "").Message)) {
			t.Errorf("bind %v, url %q: %s %q action %d", tc.bind, tc.url, d.Status, d.Message, d.Action)
		}
	}
}

func TestDecideReclaimCutoff(t *testing.T) {
	o := org(func(s *licet.Settings) { s.FreeUnusedDays = 90 })
	d := licet.Decide(now, &licet.CheckView{Org: o, Pools: []licet.Pool{pool("Standard", 1, now.Add(-time.Hour), time.Time{})}, Types: types, Used: map[string]int{"Standard": 1}}, "")
	if want := now.Add(-90 * 24 * time.Hour); !d.ReclaimBefore.Equal(want) || len(d.Candidates) != 1 || d.Candidates[0] != "Standard" {
		t.Errorf("reclaim before %v from %v; want %v from [Standard]", d.ReclaimBefore, d.Candidates, want)
	}
}

func TestIncludesIsTransitiveAndSafeWithCycles(t *testing.T) {
	if !licet.Includes(types, "Premium", "Standard") {
		t.Error("Premium should serve Standard through Inspections")
	}
	if licet.Includes(types, "Standard", "Inspections") {
		t.Error("Standard does not serve Inspections")
	}
	cyc := []licet.LicenseType{{Name: "A", Includes: []string{"B"}}, {Name: "B", Includes: []string{"A"}}}
	if !licet.Includes(cyc, "A", "B") || licet.Includes(cyc, "A", "C") {
		t.Error("cycle handled wrongly")
	}
}

func TestChooseAssignment(t *testing.T) {
	o := org(nil)
	u := &licet.User{ID: "U", State: licet.UserUnlicensed}
	pools := []licet.Pool{pool("Standard", 1, now.Add(-time.Hour), time.Time{})}
	if got, err := licet.ChooseAssignment(now, o, u, pools, types, map[string]int{}, ""); err != nil || got != "Standard" {
		t.Errorf("got %q %v", got, err)
	}
	if _, err := licet.ChooseAssignment(now, o, u, pools, types, map[string]int{"Standard": 1}, "Standard"); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("full pool: %v", err)
	}
	if _, err := licet.ChooseAssignment(now, o, u, pools, types, map[string]int{}, "Premium"); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("unsold type: %v", err)
	}
	if _, err := licet.ChooseAssignment(now, o, &licet.User{Disabled: true}, pools, types, map[string]int{}, ""); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("disabled: %v", err)
	}
}

func TestCheckRequestNormalize(t *testing.T) {
	ok := licet.CheckRequest{OrganizationID: "{4f767aff-b33f-437c-a7cb-00249948c82b}", UserID: "661BAC34-1128-40B1-9653-00B9F54158CD", DeviceID: "45d780e4f18354949676f743b0h11633951652bc"}
	r := ok
	if err := r.Normalize(); err != nil || r.OrganizationID != "4F767AFF-B33F-437C-A7CB-00249948C82B" {
		t.Fatalf("%v %q", err, r.OrganizationID)
	}
	bad := map[string]func(*licet.CheckRequest){
		"OrganizationId": func(r *licet.CheckRequest) { r.OrganizationID = "nope" },
		"UserId":         func(r *licet.CheckRequest) { r.UserID = "" },
		"DeviceId":       func(r *licet.CheckRequest) { r.DeviceID = "a\x00b" },
		"DeviceInfo":     func(r *licet.CheckRequest) { r.DeviceInfo = string(make([]byte, 600)) },
	}
	for field, mod := range bad {
		r := ok
		mod(&r)
		err := r.Normalize()
		if licet.ErrorCode(err) != licet.EINVALID || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
}

// The fast text check of a request's fields says what the definition
// (valid UTF-8, no control character) says, for ASCII and for the rest.
func TestCheckRequestTextCheckIsTheDefinition(t *testing.T) {
	pieces := []string{"a", "Z", "0", " ", "-", "~", "\x00", "\x1f", "\x7f", "\x80", "\xc2\x80", "\xc2\x9f", "\xc2\xa0",
		"é", "日", "\xff", "\xe6\x97", "\xed\xa0\x80", "\U0001F600", "\t", "\n"}
	valid := func(s string) bool {
		return utf8.ValidString(s) && !strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) })
	}
	n := 0
	for _, a := range pieces {
		for _, b := range pieces {
			for _, c := range pieces {
				s := "x" + a + b + c
				r := licet.CheckRequest{OrganizationID: "4F767AFF-B33F-437C-A7CB-00249948C82B", UserID: "661BAC34-1128-40B1-9653-00B9F54158CD", DeviceID: s}
				err := r.Normalize()
				want := valid(strings.TrimSpace(s)) // Normalize trims first
				if got := licet.ErrorCode(err) != licet.EINVALID; got != want {
					t.Errorf("DeviceId %q: accepted %v, want %v (%v)", s, got, want, err)
				}
				if want {
					n++
				}
			}
		}
	}
	if n == 0 || n == len(pieces)*len(pieces)*len(pieces) {
		t.Fatalf("%d of the strings are valid: the cases do not tell the two apart", n)
	}
}
