package console

import (
	"crypto/sha256"
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
