package cli_test

import (
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

// adminToken signs email in to org's console and makes an API token.
func adminToken(t *testing.T, s *server, org, email string) string {
	c := signIn(t, s, s.invite(org, email), email)
	_, body := form(t, c, s.url+"/admin/tokens", url.Values{"name": {"script"}})
	tok := regexpFind(`lca_[A-Za-z0-9_-]+`, body)
	if tok == "" {
		t.Fatalf("no token shown:\n%s", body)
	}
	return tok
}

// The customer's administrator owns the backend once the vendor switched
// offline licenses on; the validity and automatic Update's permission stay
// the vendor's. The backend test reports each step and the page warns when
// devices would not find the file.
func TestAdministratorOwnsAndTestsTheBackend(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags("--offline-allow-private")...)
		mine, off := s.newOrg(1, 10, "--offline=true"), s.newOrg(2, 10)
		tok := adminToken(t, s, mine, "alice@customer.example")
		s.mustLicet("admin", "add", "--org", off, "--email", "alice@customer.example")
		dav := newDAV(t)
		dav.fs.Mkdir(context.Background(), "/crm", 0o755)
		js := "application/json"
		backend := dav.URL + "/crm/licet-offline.lic"
		for _, tc := range []struct {
			org, body string
			want      int
			says      string
		}{
			{mine, `{"backendUrl":"` + backend + `","location":"` + dav.URL + `/public/licet-offline.lic","username":"crm","password":"s3cret"}`, 200, `"hasCredentials": true`},
			{mine, `{"validDays":5}`, 403, "vendor's"},
			{mine, `{"autoUpdateAllowed":true}`, 403, "vendor's"},
			{mine, `{"autoUpdate":true}`, 409, "not allowed"},
			{off, `{"backendUrl":"` + backend + `"}`, 409, "ask your vendor"},
		} {
			code, out := s.op("PUT", "/v1/orgs/"+tc.org+"/offline", tok, js, tc.body)
			if code != tc.want || !strings.Contains(out, tc.says) {
				t.Errorf("PUT %s: %d %s; want %d saying %q", tc.body, code, out, tc.want, tc.says)
			}
			if strings.Contains(out, "s3cret") {
				t.Errorf("the password was shown back: %s", out)
			}
		}
		if audit := s.mustLicet("audit", "--org", mine); !strings.Contains(audit, "alice@customer.example  offline.configure") {
			t.Errorf("the administrator's change is not audited as theirs:\n%s", audit)
		}

		// Devices look elsewhere: the probe is not found there.
		_, err := s.licet("offline", "test", "--org", mine)
		if err == nil || !strings.Contains(err.Error(), "backend test failed") {
			t.Fatalf("test with devices looking elsewhere: %v", err)
		}
		code, out := s.op("POST", "/v1/orgs/"+mine+"/offline/test", tok, "", "")
		if code != 200 || !strings.Contains(out, `"ok": false`) || !strings.Contains(out, "the backend answered not found (GET "+dav.URL+"/public/licet-offline.lic.probe-") {
			t.Errorf("the administrator's test: %d %s", code, out)
		}
		c := signIn(t, s, s.invite(mine, "bob@customer.example"), "bob@customer.example")
		if _, page := fetch(c, t, s.url+"/admin/orgs/"+mine+"/offline"); !strings.Contains(page, `id="location-warning"`) || !strings.Contains(page, "did not find the probe") {
			t.Errorf("the Offline page does not warn:\n%s", page)
		}
		// Devices look where licet saves: every step passes; nothing is left.
		s.mustLicet("offline", "set", "--org", mine, "--location", backend)
		out = s.mustLicet("offline", "test", "--org", mine)
		for _, want := range []string{"upload", "read", "verify", "clean up", "where devices look"} {
			if !strings.Contains(out, want) {
				t.Errorf("test output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "FAILED") {
			t.Errorf("a step failed:\n%s", out)
		}
		if names := dav.names(t); len(names) != 0 {
			t.Errorf("the test left files on the backend: %v", names)
		}
		if _, page := fetch(c, t, s.url+"/admin/orgs/"+mine+"/offline"); strings.Contains(page, `id="location-warning"`) {
			t.Error("the warning stays after a passing test")
		}
		show := s.mustLicet("offline", "show", "--org", mine)
		if !regexp.MustCompile(`Apps read it at +`+regexp.QuoteMeta(backend)+"\n").MatchString(show) || !strings.Contains(show, "passed") {
			t.Errorf("offline show:\n%s", show)
		}
	})
}

// The Offline page and "offline show" say what changed since the last
// Update, and that automatically assigned users are not in the file yet.
func TestOfflineChangesSinceTheLastUpdate(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags("--rate-device", "0")...)
		org := s.newOrg(1, 10, "--offline=true")
		if show := s.mustLicet("offline", "show", "--org", org); !regexp.MustCompile(`Apps read it at +https://crm.example.net/licet-offline.lic \(the default`).MatchString(show) {
			t.Errorf("offline show names no location:\n%s", show)
		}
		s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
		s.check(org, guid('u', 2)) // automatic
		s.check(org, guid('u', 3)) // automatic
		s.mustLicet("offline", "issue", "--org", org, "--out", filepath.Join(t.TempDir(), "o.lic"))
		s.mustLicet("user", "unassign", "--org", org, "--user", guid('u', 1))
		s.mustLicet("user", "disable", "--org", org, "--user", guid('u', 2))
		s.check(org, guid('u', 4))
		s.check(org, guid('u', 5))
		show := s.mustLicet("offline", "show", "--org", org)
		for _, want := range []string{"2 licensed, 1 unassigned, 1 disabled (offline license 1", "users assigned after the last Update are not in the file"} {
			if !strings.Contains(show, want) {
				t.Errorf("offline show lacks %q:\n%s", want, show)
			}
		}
	})
}

// Hostile requests to the offline entry points get a precise 4xx (or a
// one-line CLI error) and change nothing stored.
func TestOfflineEntryPointsRefuseBadInputAndChangeNothing(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags()...)
		org, other := s.newOrg(1, 10, "--offline=true"), s.newOrg(2, 10, "--offline=true")
		tok := adminToken(t, s, org, "alice@customer.example")
		c := signIn(t, s, s.invite(org, "bob@customer.example"), "bob@customer.example")
		before := db.dump(t, s)
		keyBefore := readFile(t, filepath.Join(s.dir, "secrets.key"))
		js := "application/json"
		huge := strings.Repeat("x", 70_000)
		for _, tc := range []struct {
			name, method, path, ctype, body string
			want                            int
			says                            string
		}{
			{"malformed JSON", "PUT", "/v1/orgs/" + org + "/offline", js, `{"backendUrl":`, 400, "malformed JSON"},
			{"unknown field", "PUT", "/v1/orgs/" + org + "/offline", js, `{"backend":"https://dav.example/x.lic"}`, 400, "unknown field"},
			{"wrong type", "PUT", "/v1/orgs/" + org + "/offline", js, `{"autoUpdate":"yes"}`, 400, "wrong type"},
			{"too large", "PUT", "/v1/orgs/" + org + "/offline", js, `{"password":"` + huge + `"}`, 413, "larger than"},
			{"not JSON", "PUT", "/v1/orgs/" + org + "/offline", "text/plain", `backendUrl=x`, 415, "application/json"},
			{"a loopback backend", "PUT", "/v1/orgs/" + org + "/offline", js, `{"backendUrl":"http://127.0.0.1:6379/x.lic"}`, 400, "a loopback address is not allowed as a backend; see --offline-allow-private"},
			{"cloud metadata", "PUT", "/v1/orgs/" + org + "/offline", js, `{"location":"http://169.254.169.254/latest/meta-data"}`, 400, "a link-local address"},
			{"a script location", "PUT", "/v1/orgs/" + org + "/offline", js, `{"location":"javascript:alert(1)"}`, 400, "location"},
			// Found in review: a location holding credentials was kept and shown
			// back (API, console, audit), though devices read it anonymously.
			{"credentials in the location", "PUT", "/v1/orgs/" + org + "/offline", js, `{"location":"https://crm:s3cret@dav.example/x.lic"}`, 400, "location must not hold credentials"},
			{"a colon in the user", "PUT", "/v1/orgs/" + org + "/offline", js, `{"username":"a:b","password":"p"}`, 400, "user name"},
			{"a user without password", "PUT", "/v1/orgs/" + org + "/offline", js, `{"username":"crm"}`, 400, "both the user name and the password"},
			{"a line break in a token", "PUT", "/v1/orgs/" + org + "/offline", js, `{"bearerToken":"a\r\nX-Evil: 1"}`, 400, "line breaks"},
			{"another organization", "PUT", "/v1/orgs/" + other + "/offline", js, `{"location":"https://dav.example/x.lic"}`, 404, "not found"},
			{"test without a backend", "POST", "/v1/orgs/" + org + "/offline/test", "", "", 409, "no backend"},
			{"test another organization", "POST", "/v1/orgs/" + other + "/offline/test", "", "", 404, "not found"},
			{"test a bad GUID", "POST", "/v1/orgs/nope/offline/test", "", "", 404, ""},
			{"rotate the secrets key", "POST", "/v1/secrets/rotate", "", "", 403, "operator token"},
		} {
			code, out := s.op(tc.method, tc.path, tok, tc.ctype, tc.body)
			if code != tc.want || !strings.Contains(out, tc.says) {
				t.Errorf("%s: %d %s; want %d saying %q", tc.name, code, out, tc.want, tc.says)
			}
		}
		for _, tc := range []struct {
			name string
			form url.Values
			want int
			says string
		}{
			{"a private backend", url.Values{"backendUrl": {"http://10.0.0.5/x.lic"}}, 400, "a private address"},
			{"a folder", url.Values{"backendUrl": {"https://dav.example/crm/"}}, 400, "must name the file"},
			{"automatic Update not allowed", url.Values{"backendUrl": {""}, "validDays": {"9"}, "autoUpdate": {"on"}}, 409, "not allowed"},
			{"too large", url.Values{"backendUrl": {huge}}, 400, "could not be read"},
		} {
			resp, body := form(t, c, s.url+"/admin/orgs/"+org+"/offline/backend", tc.form)
			if resp.StatusCode != tc.want || !strings.Contains(body, tc.says) {
				t.Errorf("console %s: %d; want %d saying %q\n%.400s", tc.name, resp.StatusCode, tc.want, tc.says, body)
			}
		}
		if resp, body := form(t, c, s.url+"/admin/orgs/"+org+"/offline/test", nil); resp.StatusCode != 409 || !strings.Contains(body, "no backend") {
			t.Errorf("console test without a backend: %d", resp.StatusCode)
		}
		for _, args := range [][]string{{"offline", "test"}, {"offline", "test", "--org", "nope"}, {"offline", "set", "--org", org, "--auto-update=maybe"}} {
			if _, err := s.licet(args...); err == nil || strings.Count(strings.TrimSpace(err.Error()), "\n") > 0 {
				t.Errorf("licet %v: %v; want a one-line error", args, err)
			}
		}
		if after := db.dump(t, s); after != before {
			t.Errorf("a refused request changed the database:\n--- before\n%s\n--- after\n%s", before, after)
		}
		if key := readFile(t, filepath.Join(s.dir, "secrets.key")); key != keyBefore {
			t.Error("a refused rotation changed the secrets key")
		}
	})
}

// Automatic Update: the vendor allows it, the administrator switches it on;
// the file is reissued after changes (once they settle, at most hourly) and
// before it expires, with the same history.
func TestOfflineAutomaticUpdate(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		clk := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
		s := start(t, "", clk, db.flags("--offline-auto-interval", "20ms", "--rate-device", "0")...)
		org := s.newOrg(1, 10, "--offline=true")
		if _, err := s.licet("offline", "set", "--org", org, "--auto-update=true"); err == nil || !strings.Contains(err.Error(), "ask your vendor") {
			t.Fatalf("automatic Update before the vendor allows it: %v", err)
		}
		s.mustLicet("offline", "set", "--org", org, "--auto-update-allowed=true", "--auto-update=true")
		history := func() []licet.OfflineIssue {
			var v struct{ History []licet.OfflineIssue }
			mustJSON(t, s.mustLicet("offline", "show", "--org", org, "--json"), &v)
			return v.History
		}
		waitIssued := func(n int) []licet.OfflineIssue {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if h := history(); len(h) >= n {
					return h
				}
			}
			t.Fatalf("no automatic Update %d:\n%s", n, s.mustLicet("offline", "show", "--org", org))
			return nil
		}
		settle := func() { time.Sleep(150 * time.Millisecond) } // several ticks

		s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
		s.check(org, guid('u', 2))
		settle()
		if len(history()) != 0 {
			t.Fatal("issued before the changes settled")
		}
		clk.Add(6 * time.Minute)
		h := waitIssued(1)
		if h[0].IssuedBy != "automatic" || h[0].Users != 2 {
			t.Errorf("first automatic Update: %+v", h[0])
		}
		// More changes: not within the hour.
		s.check(org, guid('u', 3))
		settle()
		clk.Add(10 * time.Minute)
		settle()
		if len(history()) != 1 {
			t.Error("issued again within the hour")
		}
		clk.Add(time.Hour)
		h = waitIssued(2)
		if h[0].Users != 3 {
			t.Errorf("second automatic Update holds %d users; want 3", h[0].Users)
		}
		// No changes, but the file nears its end: reissued.
		clk.Add(29*24*time.Hour + 2*time.Hour)
		h = waitIssued(3)
		if !h[0].ValidUntil.After(clk.Now().Add(24 * time.Hour)) {
			t.Errorf("the file reissued before expiry runs until %s", h[0].ValidUntil)
		}
		if audit := s.mustLicet("audit", "--org", org); strings.Count(audit, "automatic") < 3 || !strings.Contains(audit, "offline.issue") {
			t.Errorf("automatic Updates are not audited:\n%s", audit)
		}
		// Switched off: nothing more.
		s.mustLicet("offline", "set", "--org", org, "--auto-update=false")
		s.check(org, guid('u', 4))
		settle()
		clk.Add(2 * time.Hour)
		settle()
		if len(history()) != 3 {
			t.Error("issued after automatic Update was switched off")
		}
	})
}

// The operator's Offline page has the vendor's controls (validity,
// automatic Update allowed); an administrator's form does not change them.
func TestOfflineVendorControlsInTheConsole(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags()...)
		org := s.newOrg(1, 5, "--offline=true")
		op := browserless(t)
		if resp, _ := form(t, op, s.url+"/admin/login/operator", url.Values{"token": {s.token()}}); resp.StatusCode != 303 {
			t.Fatalf("operator login: %d", resp.StatusCode)
		}
		if _, page := fetch(op, t, s.url+"/admin/orgs/"+org+"/offline"); !strings.Contains(page, `name="validDays"`) || !strings.Contains(page, `name="autoUpdateAllowed"`) {
			t.Fatal("the operator's Offline page lacks the vendor's controls")
		}
		resp, _ := form(t, op, s.url+"/admin/orgs/"+org+"/offline/backend", url.Values{"backendUrl": {"https://dav.example.net/crm/licet-offline.lic"},
			"validDays": {"9"}, "autoUpdateAllowed": {"on"}})
		if resp.StatusCode != 303 {
			t.Fatalf("the operator's form: %d", resp.StatusCode)
		}
		var v struct {
			ValidDays   int  `json:"validDays"`
			AutoAllowed bool `json:"autoUpdateAllowed"`
			AutoUpdate  bool `json:"autoUpdate"`
		}
		mustJSON(t, s.mustLicet("offline", "show", "--org", org, "--json"), &v)
		if v.ValidDays != 9 || !v.AutoAllowed || v.AutoUpdate {
			t.Errorf("after the operator's form: %+v", v)
		}
		c := signIn(t, s, s.invite(org, "alice@customer.example"), "alice@customer.example")
		_, page := fetch(c, t, s.url+"/admin/orgs/"+org+"/offline")
		if strings.Contains(page, `name="validDays"`) || strings.Contains(page, `name="autoUpdateAllowed"`) || !strings.Contains(page, `name="autoUpdate"`) {
			t.Error("the administrator's page shows the vendor's controls, or lacks automatic Update")
		}
		resp, _ = form(t, c, s.url+"/admin/orgs/"+org+"/offline/backend", url.Values{"backendUrl": {"https://dav.example.net/crm/licet-offline.lic"},
			"validDays": {"365"}, "autoUpdateAllowed": {""}, "autoUpdate": {"on"}})
		if resp.StatusCode != 303 {
			t.Fatalf("the administrator's form: %d", resp.StatusCode)
		}
		mustJSON(t, s.mustLicet("offline", "show", "--org", org, "--json"), &v)
		if v.ValidDays != 9 || !v.AutoAllowed || !v.AutoUpdate {
			t.Errorf("after the administrator's form: %+v; want the vendor's settings kept and automatic Update on", v)
		}
	})
}

// Found in review: the backend test was limited per organization but
// Update was not, so an administrator (or a leaked API token) could make
// licet send PUT, MOVE and GET to the backend URL, and add a history row,
// as fast as it could ask. Updates by administrators are limited per
// organization, and a refused one sends nothing.
func TestAdministratorUpdatesAreRateLimited(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags("--offline-allow-private")...)
		org := s.newOrg(1, 10, "--offline=true")
		tok := adminToken(t, s, org, "alice@customer.example")
		dav := newDAV(t)
		dav.fs.Mkdir(context.Background(), "/crm", 0o755)
		if code, out := s.op("PUT", "/v1/orgs/"+org+"/offline", tok, "application/json", `{"backendUrl":"`+dav.URL+`/crm/licet-offline.lic"}`); code != 200 {
			t.Fatalf("configure: %d %s", code, out)
		}
		limited := 0
		for i := 0; i < 20; i++ {
			code, out := s.op("POST", "/v1/orgs/"+org+"/offline/issue", tok, "", "")
			switch code {
			case 201:
			case 429:
				limited++
				if !strings.Contains(out, "try again in") {
					t.Errorf("429 without saying when: %s", out)
				}
			default:
				t.Fatalf("issue %d: %d %s", i, code, out)
			}
		}
		if limited == 0 {
			t.Error("20 Updates in a row by an administrator were all carried out")
		}
	})
}
