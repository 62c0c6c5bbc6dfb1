package cli_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

// TestKnownDeviceSurvivesAStrangerOnItsUser: after a restart a licensed
// device is known only as its user's last device. A stranger who knows the
// user ID checks in once on a device of their own, which then becomes the
// user's last device, and once the server reads the user again (here after
// an administrator's change) the real device must still count as known,
// since this process answered it: a flood of new pairs at its organization
// never answers it 429 (issue 13, "known devices first").
func TestKnownDeviceSurvivesAStrangerOnItsUser(t *testing.T) {
	dir := t.TempDir()
	// New pairs: one a second per organization, bursts of 2.
	flags := []string{"--rate-device", "0", "--rate-new-ip", "0", "--rate-org", "1", "--flush-interval", "50ms"}
	s := start(t, dir, nil, flags...)
	org := s.newOrg(1, 5)
	user := guid('u', 1)
	if a := s.check(org, user); a.Status != licet.StatusLicensed {
		t.Fatalf("first check: %d %s", a.HTTP, a.Status)
	}
	s.stop()

	s = start(t, dir, nil, flags...)
	if a := s.check(org, user); a.HTTP != 200 || a.Status != licet.StatusLicensed {
		t.Fatalf("the real device after the restart: %d %s", a.HTTP, a.Status)
	}
	s.clock.Add(time.Minute)
	stranger, _ := json.Marshal(map[string]string{"organizationId": org, "userId": user, "deviceId": "stranger"})
	if a := s.post("application/json", stranger); a.HTTP != 200 {
		t.Fatalf("the stranger's first check: %d %s", a.HTTP, a.Status)
	}
	time.Sleep(500 * time.Millisecond) // the stranger's sighting is written: their device is the user's last
	// An administrator's change to the user makes the server read it again,
	// stranger's device and all.
	s.mustLicet("user", "enable", "--org", org, "--user", user)
	time.Sleep(500 * time.Millisecond)
	for i := range 10 {
		s.check(org, guid('f', i)) // strangers empty the organization's bucket for new pairs
	}
	if a := s.check(org, user); a.HTTP != 200 || a.Status != licet.StatusLicensed {
		t.Errorf("the real, licensed device during the flood: %d %s %s", a.HTTP, a.Status, a.Error.Message)
	}
}

// TestPathValuesRefuseInvalidTextOnPostgres: invalid UTF-8 or a NUL in a
// path value of the operator API answers 4xx on PostgreSQL as on SQLite,
// never 500 (issue 21, "filters"). The real binary.
func TestPathValuesRefuseInvalidTextOnPostgres(t *testing.T) {
	s := startProcess(t, t.TempDir(), storetest.PostgresURL(t))
	org := s.newOrg(1, 5)
	tok := s.token()
	for _, v := range []string{"%FF", "a%00b", "%C3%28"} {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/v1/sso/" + v, ""},
			{"DELETE", "/v1/sso/" + v, ""},
			{"DELETE", "/v1/orgs/" + org + "/admins/" + v, ""},
			{"PUT", "/v1/license-types/" + v, `{"includes":[]}`},
		} {
			ctype := ""
			if c.body != "" {
				ctype = "application/json"
			}
			if code, body := s.op(c.method, c.path, tok, ctype, c.body); code < 400 || code >= 500 {
				t.Errorf("%s %s: %d %.200s", c.method, c.path, code, body)
			}
		}
	}
}

// TestJSONBodiesRefuseNULOnPostgres: a NUL written as \u0000 is valid JSON
// but no text PostgreSQL stores; every JSON body of the API answers 4xx to
// it, never 500 (issue 21, "filters"). The real binary.
func TestJSONBodiesRefuseNULOnPostgres(t *testing.T) {
	s := startProcess(t, t.TempDir(), storetest.PostgresURL(t))
	org := s.newOrg(1, 5)
	s.check(org, guid('u', 1))
	tok := s.token()
	const nul = `\u0000`
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/orgs", `{"name":"x` + nul + `","url":"https://x.example"}`},
		{"POST", "/v1/orgs", `{"name":"x","url":"https://x` + nul + `.example"}`},
		{"PATCH", "/v1/orgs/" + org, `{"assignType":"Standard` + nul + `"}`},
		{"PATCH", "/v1/orgs/" + org, `{"notificationEmails":["a` + nul + `@x.example"]}`},
		{"POST", "/v1/orgs/" + org + "/pools", `{"licenseType":"Standard` + nul + `","seats":1}`},
		{"POST", "/v1/orgs/" + org + "/users", `{"userId":"` + guid('u', 9) + nul + `"}`},
		{"POST", "/v1/orgs/" + org + "/users/" + guid('u', 1) + "/assign", `{"licenseType":"Standard` + nul + `"}`},
		{"POST", "/v1/orgs/" + org + "/admins", `{"email":"a` + nul + `@x.example"}`},
		{"POST", "/v1/privacy/erase", `{"email":"a` + nul + `@x.example"}`},
		{"PUT", "/v1/license-types/Extra", `{"includes":["Standard` + nul + `"]}`},
		{"PUT", "/v1/orgs/" + org + "/offline", `{"backendUrl":"https://dav.example/a` + nul + `"}`},
	} {
		if code, body := s.op(c.method, c.path, tok, "application/json", c.body); code < 400 || code >= 500 {
			t.Errorf("%s %s %s: %d %.200s", c.method, c.path, c.body, code, body)
		}
	}
}

// TestThreeProcessesHoldTheTemporaryAllowance: three processes on one
// PostgreSQL database, 60 new users at once on a 20-seat organization
// without automatic assignment (allowance max(1, 10 %) = 2): exactly 2 get
// a temporary license, the others NotAssigned, and the same user IDs never
// get a second one (issue 13). The real binary.
func TestThreeProcessesHoldTheTemporaryAllowance(t *testing.T) {
	procs := processesOn(t, 3, storetest.PostgresURL(t), "--rate-device", "0", "--rate-admissions", "0", "--rate-new-ip", "0")
	org := procs[0].newOrg(1, 20, "--auto-assign=false", "--temporary-days", "14")
	run := func(from int) map[licet.Status]int {
		statuses := make([]licet.Status, 60)
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() { statuses[i] = procs[i%3].check(org, guid('t', from+i)).Status })
		}
		wg.Wait()
		n := map[licet.Status]int{}
		for _, st := range statuses {
			n[st]++
		}
		return n
	}
	if n := run(0); n[licet.StatusTemporary] != 2 || n[licet.StatusNotAssigned] != 58 {
		t.Errorf("60 new users at once on three processes: %v; want 2 Temporary, 58 NotAssigned", n)
	}
	for _, p := range procs {
		code, out := p.op("GET", "/v1/orgs/"+org+"/users?state=temporary", p.token(), "", "")
		if code != 200 || strings.Count(out, `"state": "temporary"`)+strings.Count(out, `"state":"temporary"`) != 2 {
			t.Errorf("%s: temporary holders %d %.300s", p.url, code, out)
		}
	}
}
