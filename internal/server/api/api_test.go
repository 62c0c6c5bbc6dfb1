package api

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

const (
	mine   = "0A000000-0000-0000-0000-000000000001"
	theirs = "0B000000-0000-0000-0000-000000000002"
	user   = "0C000000-0000-0000-0000-000000000001"
	admin  = "lca_alice"
	opTok  = "lct_operator"
)

func newAPI(t *testing.T) (*fake.APIStore, *httptest.Server) {
	t.Helper()
	clock := fake.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	store := fake.NewAPIStore(clock)
	for _, id := range []string{mine, theirs} {
		store.AddOrg(licet.Organization{ID: id, Name: "Org " + id[:2], URL: "https://" + strings.ToLower(id[:2]) + ".example.net",
			Settings: licet.DefaultSettings()}, licet.Pool{LicenseType: "Standard", Seats: 5})
	}
	store.AddUser(licet.User{OrgID: mine, ID: user, State: licet.UserUnlicensed})
	store.AddToken(web.TokenHash(admin), licet.Admin{ID: 1, Email: "alice@customer.example", Orgs: []string{mine}})
	h := sha256.Sum256([]byte(opTok))
	logger := slog.New(slog.DiscardHandler)
	a := New(Config{Store: store, Clock: clock, Logger: logger, Errors: &web.Errors{Logger: logger}, TokenHash: h[:],
		PublicURL: "https://licet.example.net"})
	mux := http.NewServeMux()
	a.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return store, srv
}

func call(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Every route says who may call it: an administrator's token reaches only
// its own organizations' routes that adminMay lets through; another
// organization is not found; the vendor's routes are forbidden; no valid
// token is unauthorized. Each refusal comes before the handler reads
// anything.
func TestEachRouteSaysWhoMayCallIt(t *testing.T) {
	store, srv := newAPI(t)
	for _, tc := range []struct {
		method, path string
		vendor       bool // the vendor's: an administrator gets 403 (404 on another organization's)
	}{
		{"GET", "/v1/orgs", true},
		{"POST", "/v1/orgs", true},
		{"GET", "/v1/orgs/{org}", false},
		{"PATCH", "/v1/orgs/{org}", false},
		{"GET", "/v1/orgs/{org}/pools", false},
		{"POST", "/v1/orgs/{org}/pools", true},
		{"PATCH", "/v1/orgs/{org}/pools/1", true},
		{"GET", "/v1/orgs/{org}/users", false},
		{"POST", "/v1/orgs/{org}/users", false},
		{"POST", "/v1/orgs/{org}/users/batch", false},
		{"GET", "/v1/orgs/{org}/users/" + user, false},
		{"POST", "/v1/orgs/{org}/users/" + user + "/assign", false},
		{"DELETE", "/v1/orgs/{org}/users/" + user, false},
		{"GET", "/v1/orgs/{org}/users/" + user + "/export", false},
		{"GET", "/v1/orgs/{org}/audit", false},
		{"GET", "/v1/orgs/{org}/offline", false},
		{"PUT", "/v1/orgs/{org}/offline", false},
		{"POST", "/v1/orgs/{org}/offline/issue", false},
		{"POST", "/v1/orgs/{org}/offline/test", false},
		{"GET", "/v1/orgs/{org}/offline/license", false},
		{"POST", "/v1/orgs/{org}/admins", true},
		{"DELETE", "/v1/orgs/{org}/admins/eve@x.example", true},
		{"GET", "/v1/license-types", true},
		{"PUT", "/v1/license-types/Standard", true},
		{"POST", "/v1/keys/rotate", true},
		{"POST", "/v1/secrets/rotate", true},
		{"POST", "/v1/keys/k1/retire", true},
		{"POST", "/v1/keys/k1/revoke", true},
		{"GET", "/v1/backup", true},
		{"GET", "/v1/mail", true},
		{"POST", "/v1/privacy/erase", true},
		{"GET", "/v1/sso", true},
		{"GET", "/v1/sso/corp", true},
		{"PUT", "/v1/sso/corp", true},
		{"DELETE", "/v1/sso/corp", true},
	} {
		other := strings.ReplaceAll(tc.path, "{org}", theirs)
		own := strings.ReplaceAll(tc.path, "{org}", mine)
		for _, c := range []struct {
			name, path, token string
			want              int
		}{
			{"no token", own, "", 401},
			{"a wrong operator token", own, "lct_wrong", 401},
			{"an unknown API token", own, "lca_unknown", 401},
		} {
			if got, body := call(t, srv, tc.method, c.path, c.token, ""); got != c.want {
				t.Errorf("%s %s with %s: %d; want %d\n%s", tc.method, c.path, c.name, got, c.want, body)
			}
		}
		if own != tc.path { // an organization's route
			if got, body := call(t, srv, tc.method, other, admin, ""); got != 404 || !strings.Contains(body, `"code": "`+licet.ENOTFOUND+`"`) {
				t.Errorf("%s %s by another organization's administrator: %d; want 404\n%s", tc.method, other, got, body)
			}
		}
		if tc.vendor {
			if got, body := call(t, srv, tc.method, own, admin, ""); got != 403 {
				t.Errorf("%s %s by an administrator: %d; want 403\n%s", tc.method, own, got, body)
			}
		}
	}
	if p := store.Patches(); len(p) != 0 {
		t.Errorf("refused calls changed settings: %+v", p)
	}
}

// What an administrator may change is licet.SettingsPatch.ForAdmin's rule.
func TestAdministratorChangesOnlyWhatForAdminAllows(t *testing.T) {
	store, srv := newAPI(t)
	if got, body := call(t, srv, "PATCH", "/v1/orgs/"+mine, admin, `{"temporaryDays":3}`); got != 200 {
		t.Errorf("an administrator's own setting: %d\n%s", got, body)
	}
	for _, b := range []string{`{"offline":true}`, `{"name":"Mine"}`, `{"url":"https://x.example"}`, `{"temporaryMax":9}`,
		`{"temporaryMaxDays":9}`, `{"admissionsPerMinute":9}`} {
		if got, body := call(t, srv, "PATCH", "/v1/orgs/"+mine, admin, b); got != 403 {
			t.Errorf("an administrator's PATCH %s: %d; want 403\n%s", b, got, body)
		}
		if got, body := call(t, srv, "PATCH", "/v1/orgs/"+mine, opTok, b); got != 200 {
			t.Errorf("the operator's PATCH %s: %d; want 200\n%s", b, got, body)
		}
	}
	if p := store.Patches(); len(p) != 7 || p[0].TemporaryDays == nil {
		t.Errorf("%d patches applied; want the administrator's one and the operator's six", len(p))
	}
}

// The answers are the payload types, as the command line reads them.
func TestAnswersAreThePayloadTypes(t *testing.T) {
	_, srv := newAPI(t)
	code, body := call(t, srv, "GET", "/v1/orgs/"+mine+"/users?limit=1", admin, "")
	var page payload.UserPage
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || page.Total != 1 || len(page.Users) != 1 || page.Users[0].ID != user {
		t.Errorf("users: %d %v\n%s", code, err, body)
	}
	if !strings.HasPrefix(body, "{\n  \"offset\": 0,\n  \"total\": 1,\n  \"users\": [") {
		t.Errorf("the users page is not in its order on the wire:\n%s", body)
	}
	code, body = call(t, srv, "GET", "/v1/orgs", opTok, "")
	var orgs payload.OrgList
	if err := json.Unmarshal([]byte(body), &orgs); code != 200 || err != nil || len(orgs.Organizations) != 2 {
		t.Errorf("organizations: %d %v\n%s", code, err, body)
	}
	code, body = call(t, srv, "POST", "/v1/orgs/"+mine+"/admins", opTok, `{"email":"Bob@Customer.example"}`)
	var inv payload.Invitation
	if err := json.Unmarshal([]byte(body), &inv); code != 201 || err != nil || inv.Admin.Email != "bob@customer.example" ||
		!strings.HasPrefix(inv.Link, "https://licet.example.net/admin/invite/") || inv.Expires != "2026-03-04T08:00:00Z" {
		t.Errorf("invitation: %d %v\n%s", code, err, body)
	}
	code, body = call(t, srv, "GET", "/v1/orgs/"+mine+"/users?state=nonsense", opTok, "")
	var e payload.Error
	if err := json.Unmarshal([]byte(body), &e); code != 400 || err != nil || e.Error.Code != licet.EINVALID {
		t.Errorf("a bad filter: %d %v\n%s", code, err, body)
	}
}
