package cli_test

import (
	"database/sql"
	"encoding/json"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/licet/licet"
)

// TestTemporaryLicensesCannotLeak: with automatic assignment off, the
// temporary license was granted to every new user before pools were looked
// at: no seat count, no subscription, any number of days, again after a
// deletion (issue 13). Each hole, against the real program.
func TestTemporaryLicensesCannotLeak(t *testing.T) {
	s := start(t, "", nil, "--rate-device", "0")
	off := []string{"--auto-assign=false", "--temporary-days", "14"}

	// An organization that bought nothing, and one whose only pool ended in 2020.
	nothing := s.newOrg(1, 0, off...)
	ended := s.newOrg(2, 0, off...)
	s.mustLicet("pool", "add", "--org", ended, "--type", "Standard", "--seats", "50", "--from", "2019-01-01", "--until", "2019-12-31")
	for name, org := range map[string]string{"no pool": nothing, "a pool that ended in 2020": ended} {
		for i := range 3 {
			a := s.check(org, guid('t', i))
			if a.Status != licet.StatusNotAssigned || a.Licensed || a.Lease != "" || !strings.Contains(a.Message, "no active subscription") {
				t.Errorf("%s, user %d: %s %q lease %v", name, i, a.Status, a.Message, a.Lease != "")
			}
		}
	}

	// A 5-seat organization: the default allowance is max(1, 10 %) = 1.
	org := s.newOrg(3, 5, off...)
	if d := orgJSON(t, s, org); d.TemporaryAllowance != 1 || d.Settings.TemporaryMax != -1 || d.Settings.TemporaryMaxDays != 30 {
		t.Errorf("defaults: allowance %d, temporaryMax %d, temporaryMaxDays %d", d.TemporaryAllowance, d.Settings.TemporaryMax, d.Settings.TemporaryMaxDays)
	}
	first := s.check(org, guid('u', 1))
	if first.Status != licet.StatusTemporary || first.LicenseType != "Standard" {
		t.Fatalf("first new user: %s %q (%s)", first.Status, first.LicenseType, first.Message)
	}
	if l := s.lease(first); l.LicenseType != "Standard" || l.Status != licet.StatusTemporary {
		t.Errorf("the temporary lease names type %q, status %s", l.LicenseType, l.Status)
	}
	second := s.check(org, guid('u', 2))
	if second.Status != licet.StatusNotAssigned || second.Lease != "" || !strings.Contains(second.Message, "all 1 temporary licenses") {
		t.Errorf("beyond the allowance: %s %q", second.Status, second.Message)
	}
	if again := s.check(org, guid('u', 1)); again.Status != licet.StatusTemporary {
		t.Errorf("the holder's next check: %s", again.Status)
	}

	// Deleting the holder frees the allowance, but never gives its ID a second one.
	s.mustLicet("user", "delete", "--org", org, "--user", guid('u', 1))
	if a := s.check(org, guid('u', 1)); a.Status != licet.StatusNotAssigned || !strings.Contains(a.Message, "already had a temporary license") {
		t.Errorf("the deleted holder checks in again: %s %q", a.Status, a.Message)
	}
	if a := s.check(org, guid('u', 3)); a.Status != licet.StatusTemporary {
		t.Errorf("after the deletion a new user: %s %q", a.Status, a.Message)
	}

	// The vendor raises the allowance.
	s.mustLicet("org", "set", "--org", org, "--temporary-max", "3")
	for i := 4; i <= 5; i++ {
		if a := s.check(org, guid('u', i)); a.Status != licet.StatusTemporary {
			t.Errorf("user %d within an allowance of 3: %s %q", i, a.Status, a.Message)
		}
	}
	if a := s.check(org, guid('u', 6)); a.Status != licet.StatusNotAssigned {
		t.Errorf("user 6 beyond an allowance of 3: %s", a.Status)
	}

	// temporaryDays above the vendor's maximum: 400 naming the limit, for
	// the operator as for an administrator; only the operator moves it.
	c := signIn(t, s, s.invite(org, "alice@customer.example"), "alice@customer.example")
	_, body := form(t, c, s.url+"/admin/tokens", url.Values{"name": {"script"}})
	admin := regexpFind(`lca_[A-Za-z0-9_-]+`, body)
	before := orgJSON(t, s, org)
	for _, tc := range []struct {
		who, token, body string
		code             int
		says             string
	}{
		{"operator", s.token(), `{"temporaryDays":3650}`, 400, "maximum of 30 days"},
		{"administrator", admin, `{"temporaryDays":3650}`, 400, "maximum of 30 days"},
		{"administrator", admin, `{"temporaryDays":31}`, 400, "maximum of 30 days"},
		{"administrator", admin, `{"temporaryMaxDays":3650}`, 403, "vendor"},
		{"administrator", admin, `{"temporaryMax":1000}`, 403, "vendor"},
		{"administrator", admin, `{"admissionsPerMinute":0}`, 403, "vendor"},
		{"operator", s.token(), `{"temporaryMax":-2}`, 400, "temporaryMax"},
		{"operator", s.token(), `{"temporaryMaxDays":3651}`, 400, "temporaryMaxDays"},
		{"operator", s.token(), `{"temporaryMaxDays":"x"}`, 400, ""},
		{"operator", s.token(), `{"temporaryMaxDays":10}`, 400, "maximum of 10 days"}, // below the current 14
	} {
		code, out := s.op("PATCH", "/v1/orgs/"+org, tc.token, "application/json", tc.body)
		if code != tc.code || !strings.Contains(out, tc.says) {
			t.Errorf("%s PATCH %s: %d %s; want %d …%s…", tc.who, tc.body, code, out, tc.code, tc.says)
		}
	}
	if after := orgJSON(t, s, org); !reflect.DeepEqual(after.Settings, before.Settings) {
		t.Errorf("refused changes changed the settings: %+v → %+v", before.Settings, after.Settings)
	}
	if _, err := s.licet("org", "set", "--org", org, "--temporary-days", "45"); err == nil || !strings.Contains(err.Error(), "maximum of 30 days") {
		t.Errorf("licet org set --temporary-days 45: %v", err)
	}
	s.mustLicet("org", "set", "--org", org, "--temporary-max-days", "60")
	if code, out := s.op("PATCH", "/v1/orgs/"+org, admin, "application/json", `{"temporaryDays":45}`); code != 200 {
		t.Errorf("within the raised maximum: %d %s", code, out)
	}

	// The store keeps a keyed hash of the IDs that held one, never the ID.
	s.stop()
	db, err := sql.Open("sqlite", filepath.Join(s.dir, "licet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	var hashes []string
	rows, err := db.Query(`SELECT user_hash FROM temporary_grants`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h string
		rows.Scan(&h)
		hashes = append(hashes, h)
		n++
	}
	rows.Close()
	if n != 4 {
		t.Errorf("%d grants recorded; want 4", n)
	}
	for _, h := range hashes {
		for i := 1; i <= 6; i++ {
			if strings.Contains(strings.ToUpper(h), strings.ReplaceAll(guid('u', i), "-", "")) || strings.Contains(strings.ToUpper(h), guid('u', i)) {
				t.Errorf("a grant record holds a user ID: %s", h)
			}
		}
	}
}

type orgDetailJSON struct {
	Settings           licet.Settings `json:"settings"`
	TemporaryAllowance int            `json:"temporaryAllowance"`
}

func orgJSON(t *testing.T, s *server, org string) orgDetailJSON {
	t.Helper()
	var d orgDetailJSON
	if err := json.Unmarshal([]byte(s.mustLicet("org", "show", "--org", org, "--json")), &d); err != nil {
		t.Fatal(err)
	}
	d.Settings.NotificationEmails = nil
	return d
}
