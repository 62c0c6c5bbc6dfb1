package cli_test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licet/licet/internal/storetest"
)

// Invalid UTF-8 or a NUL in any filter, search or form field answers 400,
// on both databases, in the API, the console and the CSV export; nothing
// is logged as an error and nothing changes. The real binary.
func TestFiltersRefuseInvalidTextOnBothDatabases(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			database := ""
			if db == "postgres" {
				database = storetest.PostgresURL(t)
			}
			s := startProcess(t, t.TempDir(), database)
			org := s.newOrg(1, 5)
			s.check(org, guid('u', 1))
			tok := s.token()
			c := signIn(t, s, s.invite(org, "alice@customer.example"), "alice@customer.example")
			var before string
			if db == "sqlite" {
				before = dump(t, filepath.Join(s.dir, "licet.db"))
			}
			bad := []string{"%00", "%FF", "a%00b", "%C3%28", "Standard%00"}
			for _, v := range bad {
				for _, q := range []string{"q", "type", "state"} {
					if code, body := s.op("GET", "/v1/orgs/"+org+"/users?"+q+"="+v, tok, "", ""); code != 400 {
						t.Errorf("API users ?%s=%s: %d %.200s", q, v, code, body)
					}
					for _, page := range []string{"/users", "/users.csv"} {
						if resp, body := fetch(c, t, s.url+"/admin/orgs/"+org+page+"?"+q+"="+v); resp.StatusCode != 400 {
							t.Errorf("console %s ?%s=%s: %d %.200s", page, q, v, resp.StatusCode, body)
						}
					}
				}
				for _, q := range []string{"user", "action"} {
					if code, body := s.op("GET", "/v1/orgs/"+org+"/audit?"+q+"="+v, tok, "", ""); code != 400 {
						t.Errorf("API audit ?%s=%s: %d %.200s", q, v, code, body)
					}
					if resp, body := fetch(c, t, s.url+"/admin/orgs/"+org+"/audit?"+q+"="+v); resp.StatusCode != 400 {
						t.Errorf("console audit ?%s=%s: %d %.200s", q, v, resp.StatusCode, body)
					}
				}
			}
			for _, f := range []url.Values{
				{"action": {"assign"}, "user": {guid('u', 1)}, "type": {"Standard\x00"}},
				{"action": {"assign"}, "user": {guid('u', 1)}, "type": {"\xff"}},
				{"do": {"add"}, "ids": {guid('u', 7) + "\x00"}},
				{"action": {"disable\x00"}, "user": {guid('u', 1)}},
			} {
				if resp, body := form(t, c, s.url+"/admin/orgs/"+org+"/users", f); resp.StatusCode != 400 {
					t.Errorf("console form %q: %d %.200s", f, resp.StatusCode, body)
				}
			}
			if resp, body := form(t, c, s.url+"/admin/login", url.Values{"email": {"alice@customer.example\x00"}, "password": {"x"}}); resp.StatusCode != 400 {
				t.Errorf("login form with a NUL: %d %.200s", resp.StatusCode, body)
			}
			if strings.Contains(s.logs.String(), `"level":"ERROR"`) {
				t.Errorf("bad filters were logged as errors:\n%s", s.logs)
			}
			if db == "sqlite" {
				if after := dump(t, filepath.Join(s.dir, "licet.db")); after != before {
					t.Errorf("a refused request changed the database")
				}
			}
		})
	}
}
