package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// op sends an operator API request with the given token.
func (s *server) op(method, path, token, ctype, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *server) token() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "operator-token"))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestOperatorAPIRefusesBadRequestsAndChangesNothing(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 2)
	s.check(org, guid('u', 1))
	tok := s.token()
	const js = "application/json"
	big := `{"name":"` + strings.Repeat("x", 70_000) + `"}`
	tests := []struct {
		name, method, path, token, ctype, body string
		status                                 int
		says                                   string
	}{
		{"no token", "GET", "/v1/orgs", "", "", "", 401, "operator token"},
		{"wrong token", "GET", "/v1/orgs", "lct_wrong", "", "", 401, "operator token"},
		{"token in a query is not a token", "GET", "/v1/orgs?token=" + tok, "", "", "", 401, "operator token"},
		{"create: not JSON", "POST", "/v1/orgs", tok, js, "{", 400, "malformed JSON"},
		{"create: form", "POST", "/v1/orgs", tok, "application/x-www-form-urlencoded", "id=1", 415, "application/json"},
		{"create: unknown field", "POST", "/v1/orgs", tok, js, `{"id":"` + guid('o', 5) + `","name":"n","url":"https://x.example","admin":true}`, 400, "unknown field"},
		{"create: bad GUID", "POST", "/v1/orgs", tok, js, `{"id":"x","name":"n","url":"https://x.example"}`, 400, "not a GUID"},
		{"create: bad URL", "POST", "/v1/orgs", tok, js, `{"id":"` + guid('o', 5) + `","name":"n","url":"javascript:alert(1)"}`, 400, "not an absolute http"},
		{"create: no name", "POST", "/v1/orgs", tok, js, `{"id":"` + guid('o', 5) + `","url":"https://x.example"}`, 400, "name is required"},
		{"create: exists", "POST", "/v1/orgs", tok, js, `{"id":"` + strings.ToLower(org) + `","name":"n","url":"https://x.example"}`, 409, "exists already"},
		{"create: too large", "POST", "/v1/orgs", tok, js, big, 413, "larger"},
		{"create: two values", "POST", "/v1/orgs", tok, js, `{"id":"` + guid('o', 5) + `","name":"n","url":"https://x.example"}{}`, 400, "more than one"},
		{"set: negative days", "PATCH", "/v1/orgs/" + org, tok, js, `{"temporaryDays":-1}`, 400, "temporaryDays"},
		{"set: bad email", "PATCH", "/v1/orgs/" + org, tok, js, `{"notificationEmails":["Eve <eve@x.example>"]}`, 400, "plain e-mail"},
		{"set: wrong type", "PATCH", "/v1/orgs/" + org, tok, js, `{"autoAssign":"yes"}`, 400, "wrong type"},
		{"set: unknown org", "PATCH", "/v1/orgs/" + guid('o', 9), tok, js, `{"autoAssign":false}`, 404, "not found"},
		{"pool: negative seats", "POST", "/v1/orgs/" + org + "/pools", tok, js, `{"licenseType":"Standard","seats":-1}`, 400, "seats"},
		{"pool: huge seats", "POST", "/v1/orgs/" + org + "/pools", tok, js, `{"licenseType":"Standard","seats":99999999999}`, 400, "seats"},
		{"pool: bad type", "POST", "/v1/orgs/" + org + "/pools", tok, js, `{"licenseType":"<script>","seats":1}`, 400, "license type"},
		{"pool: bad date", "POST", "/v1/orgs/" + org + "/pools", tok, js, `{"licenseType":"Standard","seats":1,"until":"2027-02-30"}`, 400, "not a date"},
		{"pool: ends before it starts", "POST", "/v1/orgs/" + org + "/pools", tok, js, `{"licenseType":"Standard","seats":1,"from":"2027-01-02","until":"2027-01-01"}`, 400, "before"},
		{"pool: unknown pool", "PATCH", "/v1/orgs/" + org + "/pools/999", tok, js, `{"seats":1}`, 404, "not found"},
		{"user: bad action", "POST", "/v1/orgs/" + org + "/users/" + guid('u', 1) + "/promote", tok, "", "", 404, "no such action"},
		{"user: assign beyond seats", "POST", "/v1/orgs/" + org + "/users/" + guid('u', 2) + "/assign", tok, js, `{"licenseType":"Premium"}`, 409, "no pool"},
		{"user: bad GUID", "DELETE", "/v1/orgs/" + org + "/users/nope", tok, "", "", 400, "not a GUID"},
		{"user: unknown", "DELETE", "/v1/orgs/" + org + "/users/" + guid('u', 9), tok, "", "", 404, "not found"},
		{"users: bad state", "GET", "/v1/orgs/" + org + "/users?state=all", tok, "", "", 400, "state"},
		{"users: bad limit", "GET", "/v1/orgs/" + org + "/users?limit=100000", tok, "", "", 400, "limit"},
		{"type: includes itself", "PUT", "/v1/license-types/Standard", tok, js, `{"includes":["Standard"]}`, 400, "itself"},
		{"cross-site browser write", "POST", "/v1/orgs", tok, js, `{}`, 403, ""},
		{"batch: unknown action", "POST", "/v1/orgs/" + org + "/users/batch", tok, js, `{"action":"promote","userIds":["` + guid('u', 5) + `"]}`, 400, "action must be"},
		{"batch: no users", "POST", "/v1/orgs/" + org + "/users/batch", tok, js, `{"action":"add","userIds":[]}`, 400, "userIds must list"},
		{"batch: a bad GUID", "POST", "/v1/orgs/" + org + "/users/batch", tok, js, `{"action":"add","userIds":["` + guid('u', 5) + `","x"]}`, 400, "not a GUID"},
		{"batch: twice", "POST", "/v1/orgs/" + org + "/users/batch", tok, js, `{"action":"add","userIds":["` + guid('u', 5) + `","` + strings.ToLower(guid('u', 5)) + `"]}`, 400, "listed twice"},
		{"batch: beyond the seats", "POST", "/v1/orgs/" + org + "/users/batch", tok, js, `{"action":"assign","userIds":["` + guid('u', 5) + `","` + guid('u', 6) + `"]}`, 409, "taken"},
		{"batch: too large", "POST", "/v1/orgs/" + org + "/users/batch", tok, js, `{"action":"add","userIds":["` + strings.Repeat("x", 500_000) + `"]}`, 413, "larger"},
		{"admins: not an address", "POST", "/v1/orgs/" + org + "/admins", tok, js, `{"email":"Eve <eve@x.example>"}`, 400, "plain e-mail"},
		{"admins: unknown org", "POST", "/v1/orgs/" + guid('o', 9) + "/admins", tok, js, `{"email":"eve@x.example"}`, 404, "not found"},
		{"admins: remove a stranger", "DELETE", "/v1/orgs/" + org + "/admins/eve@x.example", tok, "", "", 404, "does not administer"},
		{"offline: credentials in the URL", "PUT", "/v1/orgs/" + org + "/offline", tok, js, `{"backendUrl":"https://u:p@dav.example/x.lic"}`, 400, "must not hold credentials"},
		{"offline: not http", "PUT", "/v1/orgs/" + org + "/offline", tok, js, `{"backendUrl":"file:///etc/passwd"}`, 400, "backendUrl"},
		{"offline: a folder", "PUT", "/v1/orgs/" + org + "/offline", tok, js, `{"backendUrl":"https://dav.example/crm/"}`, 400, "must name the file"},
		{"offline: validity", "PUT", "/v1/orgs/" + org + "/offline", tok, js, `{"validDays":0}`, 400, "validDays"},
		{"offline: validity over a year", "PUT", "/v1/orgs/" + org + "/offline", tok, js, `{"validDays":367}`, 400, "validDays"},
		{"offline: issue when not enabled", "POST", "/v1/orgs/" + org + "/offline/issue", tok, "", "", 409, "ask your vendor"},
		{"keys: retire an unknown key", "POST", "/v1/keys/0000000000000000/retire", tok, "", "", 409, "no key"},
		{"keys: revoke an unknown key", "POST", "/v1/keys/0000000000000000/revoke", tok, "", "", 409, "no key"},
		{"keys: revoke a path", "POST", "/v1/keys/..%2fx/revoke", tok, "", "", 409, "no key"},
		{"mail: bad status", "GET", "/v1/mail?status=everything", tok, "", "", 400, "status must be"},
		// The check's shortcut past the mux stops nothing the way through it stops.
		{"check: from a cross-site page", "POST", "/v1/license/check", "", js, `{}`, 403, "cross-origin"},
		{"check: from a page of another Origin", "POST", "/v1/license/check", "", js, `{}`, 403, "cross-origin"},
		{"check: a query that is not text", "POST", "/v1/license/check?x=%ff", "", js, `{}`, 400, "invalid UTF-8"},
		{"check: a query that cannot be read", "POST", "/v1/license/check?x=%zz", "", js, `{}`, 400, "could not be read"},
		{"check: GET", "GET", "/v1/license/check", "", "", "", 405, "Method Not Allowed"},
		{"audit: filter too long", "GET", "/v1/orgs/" + org + "/audit?user=" + strings.Repeat("A", 41), tok, "", "", 400, "too long"},
	}
	dbPath := filepath.Join(s.dir, "licet.db")
	before := dump(t, dbPath)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.url+tt.path, bytes.NewReader([]byte(tt.body)))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			switch {
			case strings.Contains(tt.name, "Origin"):
				req.Header.Set("Origin", "https://elsewhere.example")
			case tt.status == 403:
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.says) {
				t.Errorf("%d %s; want %d saying %q", resp.StatusCode, b, tt.status, tt.says)
			}
		})
	}
	if after := dump(t, dbPath); after != before {
		t.Errorf("a refused request changed the database:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if strings.Contains(s.logs.String(), tok) {
		t.Error("the operator token appears in the log")
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 1)
	s.check(org, guid('u', 1))
	s.check(org, guid('u', 2)) // no seat left
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready",
		"/metrics": `licet_checks_total{source="primary",status="Licensed"} 1`} {
		code, b := s.op("GET", path, s.token(), "", "")
		if code != 200 || !strings.Contains(b, want) {
			t.Errorf("%s: %d %s", path, code, b)
		}
	}
}

func TestMetricsMove(t *testing.T) {
	s := start(t, "", nil, "--flush-interval", "10ms", "--rate-device", "1")
	org := s.newOrg(1, 1)
	s.check(org, guid('u', 1))
	s.check(org, guid('u', 2))
	for range 12 { // the same device: 13 checks, a burst of 10
		s.check(org, guid('u', 1))
	}
	time.Sleep(100 * time.Millisecond)
	m := metrics(t, s)
	for _, want := range []string{
		`licet_checks_total{source="primary",status="NoLicenseAvailable"} 1`,
		"licet_assignments_total 1",
		`licet_rate_limited_total{limit="device"} 3`,
		"licet_sightings_flushed_total ",
		"licet_database_errors_total 0",
		"licet_replication_lag_seconds -1",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
