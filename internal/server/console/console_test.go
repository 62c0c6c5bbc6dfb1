package console

import (
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/server/api"
	"github.com/licet/licet/internal/server/web"
)

var operatorHash = sha256.Sum256([]byte("lct_operator"))

const (
	mine   = "0A000000-0000-0000-0000-000000000001"
	theirs = "0B000000-0000-0000-0000-000000000002"
)

// consoleWorld is the console above a fake store, on a clock the test
// moves, served by httptest.
type consoleWorld struct {
	store *fake.ConsoleStore
	clock *fake.Clock
	srv   *httptest.Server
	mux   *http.ServeMux // to send requests from other addresses
}

func newConsoleWorld(t *testing.T) *consoleWorld {
	t.Helper()
	w := &consoleWorld{clock: fake.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))}
	w.store = fake.NewConsoleStore(w.clock)
	for _, id := range []string{mine, theirs} {
		w.store.AddOrg(licet.Organization{ID: id, Name: "Org " + id[:2], URL: "https://" + strings.ToLower(id[:2]) + ".example.net",
			Settings: licet.DefaultSettings()}, licet.Pool{LicenseType: "Standard", Seats: 5})
	}
	w.store.AddUser(licet.User{OrgID: mine, ID: "0C000000-0000-0000-0000-000000000001", State: licet.UserUnlicensed})
	logger := slog.New(slog.DiscardHandler)
	errs := &web.Errors{Logger: logger}
	c := New(Config{Store: w.store, API: api.New(api.Config{Clock: w.clock, Logger: logger, Errors: errs}), Clock: w.clock,
		Logger: logger, Errors: errs, PublicURL: "https://licet.example.net", TokenHash: operatorHash[:]})
	mux := http.NewServeMux()
	c.Routes(mux)
	w.mux = mux
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	return w
}

// browser is a client that keeps cookies and does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (w *consoleWorld) do(t *testing.T, c *http.Client, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, w.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// An administrator signs in with a password, sees its own organization
// and not another, and the session ends at its time on the injected clock.
func TestSignInSeesOnlyItsOwnOrganization(t *testing.T) {
	w := newConsoleWorld(t)
	w.store.AddAdministrator("alice@customer.example", hashPassword("correct horse battery"), "", mine)
	c := browser(t)
	if resp, _ := w.do(t, c, "GET", "/admin/orgs/"+mine+"/users", nil); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/admin/login?next=") {
		t.Fatalf("signed out: %d %s; want 303 to the login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := w.do(t, c, "POST", "/admin/login", url.Values{"email": {"alice@customer.example"}, "password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The e-mail or the password is wrong.") {
		t.Fatalf("a wrong password: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = w.do(t, c, "POST", "/admin/login", url.Values{"email": {"Alice@Customer.example"}, "password": {"correct horse battery"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session string
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			session = ck.Value
		}
	}
	if until, _, ok := w.store.Session(web.TokenHash(session)); !ok || !until.Equal(w.clock.Now().Add(sessionLife)) {
		t.Errorf("the session ends at %v; want the clock's now plus %v (%v)", until, sessionLife, w.clock.Now().Add(sessionLife))
	}
	if resp, body := w.do(t, c, "GET", "/admin/orgs/"+mine+"/users", nil); resp.StatusCode != 200 || !strings.Contains(body, "0C000000-0000-0000-0000-000000000001") {
		t.Errorf("own organization's users: %d\n%s", resp.StatusCode, body)
	}
	for _, p := range []string{"/admin/orgs/" + theirs + "/users", "/admin/orgs/" + theirs + "/settings", "/admin/orgs/not-a-guid/audit"} {
		if resp, _ := w.do(t, c, "GET", p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d; want 404", p, resp.StatusCode)
		}
	}
	w.clock.Add(sessionLife)
	if resp, _ := w.do(t, c, "GET", "/admin/orgs/"+mine+"/users", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the session's life on the clock: %d; want 303 to the login", resp.StatusCode)
	}
}

// The Settings form of an administrator changes only what
// licet.SettingsPatch.ForAdmin allows, whatever the form holds; the
// operator's changes the offline switch too.
func TestSettingsFormObeysForAdmin(t *testing.T) {
	w := newConsoleWorld(t)
	w.store.AddAdministrator("alice@customer.example", hashPassword("correct horse battery"), "", mine)
	c := browser(t)
	w.do(t, c, "POST", "/admin/login", url.Values{"email": {"alice@customer.example"}, "password": {"correct horse battery"}})
	form := url.Values{"autoAssign": {"on"}, "offline": {"on"}, "temporaryDays": {"7"}, "freeUnusedDays": {"90"}, "notifyWindow": {"60"}}
	if resp, body := w.do(t, c, "POST", "/admin/orgs/"+mine+"/settings", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", resp.StatusCode, body)
	}
	p := w.store.Patches()
	if len(p) != 1 || p[0].Offline != nil || p[0].AutoAssign == nil || !*p[0].AutoAssign || p[0].TemporaryDays == nil || *p[0].TemporaryDays != 7 {
		t.Fatalf("the administrator's patch: %+v; want autoAssign and the days, no offline switch", p)
	}
	op := browser(t)
	if resp, _ := w.do(t, op, "POST", "/admin/login/operator", url.Values{"token": {"lct_wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong operator token: %d; want 401", resp.StatusCode)
	}
	if resp, _ := w.do(t, op, "POST", "/admin/login/operator", url.Values{"token": {"lct_operator"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the operator's sign-in: %d", resp.StatusCode)
	}
	if resp, body := w.do(t, op, "POST", "/admin/orgs/"+theirs+"/settings", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the operator's save: %d\n%s", resp.StatusCode, body)
	}
	if p = w.store.Patches(); len(p) != 2 || p[1].Offline == nil || !*p[1].Offline {
		t.Errorf("the operator's patch: %+v; want the offline switch on", p[len(p)-1])
	}
}

// A form that changes users redirects with a notice code the next page
// turns into its message; a form that changes nothing says why, 400.
func TestUsersFormRedirectsWithANotice(t *testing.T) {
	w := newConsoleWorld(t)
	w.store.AddAdministrator("alice@customer.example", hashPassword("correct horse battery"), "", mine)
	c := browser(t)
	w.do(t, c, "POST", "/admin/login", url.Values{"email": {"alice@customer.example"}, "password": {"correct horse battery"}})
	resp, _ := w.do(t, c, "POST", "/admin/orgs/"+mine+"/users", url.Values{"action": {"assign"}, "user": {"0c000000-0000-0000-0000-000000000001"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/orgs/"+mine+"/users?done=users-assign&n=1" {
		t.Fatalf("assign: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := w.do(t, c, "GET", resp.Header.Get("Location"), nil); !strings.Contains(body, "Assign: 1 user done.") {
		t.Errorf("the notice is not shown:\n%s", body)
	}
	if resp, body := w.do(t, c, "POST", "/admin/orgs/"+mine+"/users", url.Values{"action": {"assign"}, "user": {"not a user"}}); resp.StatusCode != 400 ||
		!strings.Contains(body, "is not a user ID") {
		t.Errorf("a bad ID: %d\n%s", resp.StatusCode, body)
	}
	if _, body := w.do(t, c, "GET", "/admin/orgs/"+mine+"/users?done=users-assign&n=1&n=2", nil); strings.Contains(body, "done.") {
		t.Error("a notice with the wrong numbers is shown")
	}
}

// An API token is shown once, listed by name, and revoked by its owner.
func TestTokensAreShownOnceAndRevoked(t *testing.T) {
	w := newConsoleWorld(t)
	w.store.AddAdministrator("alice@customer.example", hashPassword("correct horse battery"), "", mine)
	c := browser(t)
	w.do(t, c, "POST", "/admin/login", url.Values{"email": {"alice@customer.example"}, "password": {"correct horse battery"}})
	resp, body := w.do(t, c, "POST", "/admin/tokens", url.Values{"name": {"ci script"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "lca_") || !strings.Contains(body, "ci script") {
		t.Fatalf("create: %d\n%s", resp.StatusCode, body)
	}
	if _, body := w.do(t, c, "GET", "/admin/tokens", nil); strings.Contains(body, "lca_") {
		t.Error("the token is shown again")
	}
	if resp, _ := w.do(t, c, "POST", "/admin/tokens/1/revoke", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := w.do(t, c, "POST", "/admin/tokens/1/revoke", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoke again: %d; want 404", resp.StatusCode)
	}
}

// An invitation link sets the password once.
func TestInvitationSetsThePasswordOnce(t *testing.T) {
	w := newConsoleWorld(t)
	w.store.AddAdministrator("bob@customer.example", "", web.TokenHash("invite-token"), mine)
	c := browser(t)
	if resp, body := w.do(t, c, "GET", "/admin/invite/invite-token", nil); resp.StatusCode != 200 || !strings.Contains(body, "bob@customer.example") {
		t.Fatalf("the invitation: %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"password": {"a long enough password"}, "confirm": {"a long enough password"}}
	if resp, body := w.do(t, c, "POST", "/admin/invite/invite-token", form); resp.StatusCode != 200 || !strings.Contains(body, "Your password is set.") {
		t.Fatalf("set: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := w.do(t, c, "POST", "/admin/invite/invite-token", form); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the link used again: %d; want 404", resp.StatusCode)
	}
	if resp, _ := w.do(t, c, "POST", "/admin/login", url.Values{"email": {"bob@customer.example"}, "password": {"a long enough password"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in with the new password: %d", resp.StatusCode)
	}
}

// The operator's token login and the start of a single sign-on count an
// IPv6 /64 as one source, as the password login does: a subscriber holds
// the whole /64 and could take a fresh address for each guess.
func TestOperatorAndSSOThrottlesCountAnIPv6SubnetOnce(t *testing.T) {
	w := newConsoleWorld(t)
	for _, c := range []struct {
		path, form string
		burst      int
	}{{"/admin/login/operator", "token=lct_wrong", 20}, {"/admin/sso", "email=x@y.example", 30}} {
		send := func(remote string) int {
			req := httptest.NewRequest("POST", c.path, strings.NewReader(c.form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RemoteAddr = remote
			rec := httptest.NewRecorder()
			w.mux.ServeHTTP(rec, req)
			return rec.Code
		}
		for i := range c.burst {
			if code := send(fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1)); code == http.StatusTooManyRequests {
				t.Fatalf("%s: attempt %d refused within the burst", c.path, i+1)
			}
		}
		if code := send("[2001:db8:1:2:ffff::1]:4000"); code != http.StatusTooManyRequests {
			t.Errorf("%s: attempt %d from the same /64: %d; want 429", c.path, c.burst+1, code)
		}
		if code := send("[2001:db8:1:3::1]:4000"); code == http.StatusTooManyRequests {
			t.Errorf("%s: another /64 was refused", c.path)
		}
	}
}
