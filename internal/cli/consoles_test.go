package cli_test

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/licet/licet/internal/storetest"
)

// The read-only backup cannot keep a session: its console says what it is
// and sends the administrator to the primary, never a raw JSON error.
func TestBackupConsoleSendsToThePrimary(t *testing.T) {
	primary := start(t, "", nil)
	org := primary.newOrg(1, 5)
	signIn(t, primary, primary.invite(org, "alice@customer.example"), "alice@customer.example")
	snap := filepath.Join(t.TempDir(), "snapshot.db")
	primary.mustLicet("backup", "--out", snap)
	backup := start(t, provisionKeys(t, primary), nil, "--read-only", "--database", snap,
		"--public-url", "https://backup.vendor.example", "--primary-url", "https://licensing.vendor.example")
	c := browserless(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/"}, {"GET", "/admin/login"}, {"POST", "/admin/login"}, {"GET", "/admin/orgs/" + org + "/users"},
		{"POST", "/admin/login/operator"}, {"GET", "/admin/invite/sometoken"},
	} {
		var body, ctype string
		var code int
		if tc.method == "GET" {
			resp, b := fetch(c, t, backup.url+tc.path)
			body, ctype, code = b, resp.Header.Get("Content-Type"), resp.StatusCode
		} else {
			resp, b := form(t, c, backup.url+tc.path, url.Values{"email": {"alice@customer.example"}, "password": {adminPW}})
			body, ctype, code = b, resp.Header.Get("Content-Type"), resp.StatusCode
		}
		if !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "read-only backup") ||
			!strings.Contains(body, `href="https://licensing.vendor.example/admin/"`) {
			t.Errorf("%s %s on the backup: %d %s\n%.400s", tc.method, tc.path, code, ctype, body)
		}
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(backup.url+"/admin/")); err != nil {
		t.Fatal(err)
	}
	h1, err1 := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	link, err2 := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("main a"), "href"))
	if err1 != nil || err2 != nil || !strings.Contains(h1, "read-only backup") || link.Value != "https://licensing.vendor.example/admin/" {
		t.Errorf("the backup's console in a browser: %q, link %q (%v, %v)", h1, link.Value, err1, err2)
	}
	// Without --primary-url it still says what it is.
	bare := start(t, provisionKeys(t, primary), nil, "--read-only", "--database", snap)
	if _, body := fetch(browserless(t), t, bare.url+"/admin/login"); !strings.Contains(body, "read-only backup") || !strings.Contains(body, "primary") {
		t.Errorf("the backup's console without --primary-url:\n%.400s", body)
	}
}

// The operator signs in with the token: no password to change, and the
// organizations' API tokens are the administrators'.
func TestOperatorConsoleShowsOnlyWhatWorks(t *testing.T) {
	s := start(t, "", nil)
	s.newOrg(1, 5)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/admin/login"),
		chromedp.Click(chromedp.CSS("details summary")),
		chromedp.SendKeys(chromedp.ID("token"), s.token()),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="/users"], table`))); err != nil {
		t.Fatal(err)
	}
	header, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("header")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(header, "Password") || strings.Contains(header, "API tokens") || !strings.Contains(header, "Log out") {
		t.Errorf("the operator's header: %q", header)
	}
	c := browserless(t)
	form(t, c, s.url+"/admin/login/operator", url.Values{"token": {s.token()}})
	for _, p := range []string{"/admin/password", "/admin/tokens"} {
		if resp, _ := fetch(c, t, s.url+p); resp.StatusCode != 404 {
			t.Errorf("GET %s as the operator: %d; want 404", p, resp.StatusCode)
		}
		if resp, _ := form(t, c, s.url+p, url.Values{"name": {"x"}, "current": {"x"}}); resp.StatusCode != 404 {
			t.Errorf("POST %s as the operator: %d; want 404", p, resp.StatusCode)
		}
	}
}

// Customers' firewalls allow hosts by name: each organization is told the
// exact names its devices and administrators reach.
func TestAllowListNamesEveryHost(t *testing.T) {
	s := start(t, "", nil, "--public-url", "http://licensing.vendor.example", "--backup-url", "https://backup.vendor.example:8443") // http: the browser below keeps its session cookie on 127.0.0.1
	org := s.newOrg(1, 5, "--offline=true")
	var d struct {
		Hosts []struct{ Host, URL, Purpose string }
	}
	mustJSON(t, s.mustLicet("org", "show", "--org", org, "--json"), &d)
	hosts := map[string]string{}
	for _, h := range d.Hosts {
		hosts[h.Host] = h.Purpose
	}
	for _, want := range []string{"licensing.vendor.example", "backup.vendor.example:8443", "crm.example.net"} {
		if hosts[want] == "" {
			t.Errorf("the allow list lacks %s: %+v", want, d.Hosts)
		}
	}
	text := s.mustLicet("org", "show", "--org", org)
	for _, want := range []string{"licensing.vendor.example", "backup.vendor.example:8443", "https://crm.example.net/licet-offline.lic"} {
		if !strings.Contains(text, want) {
			t.Errorf("org show lacks %s:\n%s", want, text)
		}
	}
	ctx := browser(t)
	link := s.invite(org, "bob@customer.example")
	browserSignIn(t, ctx, s.url+link[strings.Index(link, "/admin/"):]) // the link may name the public URL
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/admin/orgs/"+org+"/settings")); err != nil {
		t.Fatal(err)
	}
	table, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table[aria-label="Hosts to allow"]`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"licensing.vendor.example", "backup.vendor.example:8443", "crm.example.net"} {
		if !strings.Contains(table, want) {
			t.Errorf("the Settings page's allow list lacks %s:\n%s", want, table)
		}
	}
	// An address instead of a name is flagged.
	ip := start(t, "", nil, "--public-url", "http://192.0.2.10:8080")
	o2 := ip.newOrg(2, 1)
	var d2 struct {
		Hosts []struct{ Host, Warning string }
	}
	json.Unmarshal([]byte(ip.mustLicet("org", "show", "--org", o2, "--json")), &d2)
	if len(d2.Hosts) == 0 || !strings.Contains(d2.Hosts[0].Warning, "name") {
		t.Errorf("an IP address as the public URL is not flagged: %+v", d2.Hosts)
	}
}

// A licensed user whose pool has ended is not licensed any more at the next
// check: the console and user list say so instead of a plain "licensed".
func TestEndedSubscriptionIsShown(t *testing.T) {
	clock := storetest.NewClock(time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC))
	s := start(t, "", clock, "--rate-device", "0")
	org := s.newOrg(1, 0)
	s.mustLicet("pool", "add", "--org", org, "--type", "Standard", "--seats", "3", "--until", "2030-01-31")
	s.check(org, guid('u', 1))
	clock.Add(30 * 24 * time.Hour) // past the pool's last day
	link := s.invite(org, "alice@customer.example")
	if list := s.mustLicet("user", "list", "--org", org); !strings.Contains(list, "licensed (subscription ended)") {
		t.Errorf("user list after the pool ended:\n%s", list)
	}
	var users []struct {
		ID                string
		SubscriptionEnded bool
	}
	mustJSON(t, s.mustLicet("user", "list", "--org", org, "--json"), &users)
	if len(users) != 1 || !users[0].SubscriptionEnded {
		t.Errorf("user list --json: %+v", users)
	}
	ctx := browser(t)
	browserSignIn(t, ctx, s.url+link[strings.Index(link, "/admin/"):]) // the link may name the public URL
	state, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-user="`+guid('u', 1)+`"] .state`)))
	if err != nil || strings.TrimSpace(state) != "licensed (subscription ended)" {
		t.Errorf("the console shows %q (%v)", state, err)
	}
	if a := s.check(org, guid('u', 1)); a.Status != "SubscriptionExpired" {
		t.Errorf("the check says %s", a.Status)
	}
}
