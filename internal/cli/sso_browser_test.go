package cli_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// zitadelOP runs zitadel's example OpenID provider in the test process,
// with its own login page, for the people given (username → e-mail), and
// licet registered as a web client. It returns the issuer.
func zitadelOP(t *testing.T, clientID, secret, redirectURI string, people map[string]string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	users := map[string]storage.User{}
	for name, email := range people {
		users[name] = storage.User{ID: name, Username: name, Password: "verysecure", FirstName: name, LastName: "Test", Email: email, EmailVerified: true}
	}
	file := filepath.Join(t.TempDir(), "users.json")
	b, _ := json.Marshal(users)
	os.WriteFile(file, b, 0o600)
	us, err := storage.StoreFromFile(file)
	if err != nil {
		t.Fatal(err)
	}
	storage.RegisterClients(storage.WebClient(clientID, secret, redirectURI))
	srv := &http.Server{Handler: exampleop.SetupServer(issuer, storage.NewStorage(us), nil, false), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return issuer
}

func TestSSOInBrowserThroughARealProvider(t *testing.T) {
	ctx := browser(t)
	s := start(t, "", nil, "--rate-device", "0", "--sso-allow-private")
	org := s.newOrg(1, 10)
	s.check(org, guid('u', 1))
	issuer := zitadelOP(t, "licet-web", "web-secret-0123456789", s.url+"/admin/sso/callback", map[string]string{
		"alice": "alice@contoso.example", // inside the rule
		"bob":   "bob@elsewhere.example", // a person of the same provider outside it
	})
	ssoSet(t, s, "--id", "contoso", "--issuer", issuer, "--client-id", "licet-web", "--domains", "contoso.example", "--orgs", org)
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("web-secret-0123456789"), 0o600)
	s.mustLicet("sso", "set", "--id", "contoso", "--client-secret-file", secret)

	signIn := func(email, user string) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(s.url+"/admin/login"),
			chromedp.SendKeys(chromedp.ID("sso-email"), email),
			chromedp.Click(chromedp.ID("sso-continue")),
			chromedp.WaitVisible(chromedp.ID("username")), // the provider's own login page
			chromedp.SendKeys(chromedp.ID("username"), user),
			chromedp.SendKeys(chromedp.ID("password"), "verysecure"),
			chromedp.Submit(chromedp.ID("password")),
		); err != nil {
			t.Fatalf("sign in as %s: %v", user, err)
		}
	}
	signIn("alice@contoso.example", "alice")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`table[aria-label="Mobile users"]`))); err != nil {
		t.Fatalf("alice did not land on Mobile Users: %v", err)
	}
	if who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".who"))); !strings.Contains(who, "alice@contoso.example") {
		t.Errorf("signed in as %q", who)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.who button`)), chromedp.WaitVisible(chromedp.ID("sso-email"))); err != nil {
		t.Fatalf("log out: %v", err)
	}

	// Bob signs in at the same provider, but his address is outside the rule.
	signIn("bob@contoso.example", "bob")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".error"))); err != nil {
		t.Fatalf("bob: no refusal: %v", err)
	}
	msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".error")))
	if !strings.Contains(msg, "does not allow you to administer") {
		t.Errorf("bob's page says %q", msg)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/admin/orgs/"+org+"/users"), chromedp.WaitVisible(chromedp.ID("sso-email"))); err != nil {
		t.Errorf("bob is not sent to the login page: %v", err)
	}
	audit := s.mustLicet("audit", "--org", org)
	if !strings.Contains(audit, "admin.sso.signin") || !strings.Contains(audit, "issuer="+issuer+" subject=alice") || !strings.Contains(audit, "admin.sso.refused") {
		t.Errorf("audit:\n%s", audit)
	}
}
