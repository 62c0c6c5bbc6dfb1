package cli_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostileOP is an OpenID provider that signs whatever ID token a test
// asks for: the hostile cases a real provider would never produce. It
// checks PKCE as a real one does.
type hostileOP struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	secret string

	mu         sync.Mutex
	discovered int    // discovery documents served
	nonce      string // of the last sign-in the test started
	verifier   string // what the last token request sent
	mint       func(claims map[string]any) string
}

func newHostileOP(t *testing.T, secret string) *hostileOP {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	op := &hostileOP{t: t, key: key, secret: secret}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		u := op.srv.URL
		op.mu.Lock()
		op.discovered++
		op.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"issuer": u, "authorization_endpoint": u + "/auth", "token_endpoint": u + "/token",
			"jwks_uri": u + "/keys", "userinfo_endpoint": u + "/userinfo", "id_token_signing_alg_values_supported": []string{"RS256", "HS256", "none"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		op.mu.Lock()
		op.verifier = r.PostForm.Get("code_verifier")
		mint := op.mint
		op.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + r.PostForm.Get("code"), "token_type": "Bearer", "expires_in": 3600,
			"id_token": mint(op.claims())})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"sub": "alice-sub"})
	})
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	op.mint = op.rs256
	return op
}

// claims are those of a good token for the sign-in under way.
func (op *hostileOP) claims() map[string]any {
	now := time.Now()
	return map[string]any{"iss": op.srv.URL, "sub": "alice-sub", "aud": "licet-client", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"nonce": op.nonce, "email": "alice@contoso.example", "email_verified": true}
}

func (op *hostileOP) jwt(header map[string]any, claims map[string]any, sign func([]byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return in + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(in)))
}

func (op *hostileOP) rs256(claims map[string]any) string {
	return op.jwt(map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}, claims, func(in []byte) []byte {
		d := sha256.Sum256(in)
		sig, _ := rsa.SignPKCS1v15(rand.Reader, op.key, crypto.SHA256, d[:])
		return sig
	})
}

// with returns a minter of good tokens changed by edit.
func (op *hostileOP) with(edit func(c map[string]any)) func(map[string]any) string {
	return func(c map[string]any) string { edit(c); return op.rs256(c) }
}

var authRe = regexp.MustCompile(`id="continue" href="([^"]+)"`)

// ssoStart types the address on the login page; it returns the provider's
// URL licet sends the browser to (or "" and the page when it does not).
func ssoStart(t *testing.T, s *server, c *http.Client, email string) (*url.URL, *http.Response, string) {
	t.Helper()
	resp, body := form(t, c, s.url+"/admin/sso", url.Values{"email": {email}})
	if resp.StatusCode != 200 {
		return nil, resp, body
	}
	m := authRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link to the provider:\n%s", body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return u, resp, body
}

// ssoSignIn runs a sign-in through op up to licet's answer to the callback.
func ssoSignIn(t *testing.T, s *server, op *hostileOP, c *http.Client, email string) (*http.Response, string, string) {
	t.Helper()
	u, resp, body := ssoStart(t, s, c, email)
	if u == nil {
		t.Fatalf("sign-in did not start: %d %s", resp.StatusCode, body)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("client_id") != "licet-client" {
		t.Errorf("the authorization request lacks PKCE, nonce or client: %s", u)
	}
	op.mu.Lock()
	op.nonce = q.Get("nonce")
	op.mu.Unlock()
	cb := q.Get("redirect_uri") + "?state=" + url.QueryEscape(q.Get("state")) + "&code=c1"
	resp, body = fetch(c, t, cb)
	op.mu.Lock()
	v := op.verifier
	op.mu.Unlock()
	if d := sha256.Sum256([]byte(v)); resp.StatusCode == 303 && base64.RawURLEncoding.EncodeToString(d[:]) != q.Get("code_challenge") {
		t.Errorf("the token request's code_verifier does not match the challenge")
	}
	return resp, body, cb
}

func ssoSet(t *testing.T, s *server, args ...string) {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("the-client-secret-0123456789\n"), 0o600)
	s.mustLicet(append([]string{"sso", "set", "--client-secret-file", secret}, args...)...)
}

func signedInTo(t *testing.T, s *server, c *http.Client, org string) bool {
	t.Helper()
	resp, body := fetch(c, t, s.url+"/admin/orgs/"+org+"/users")
	return resp.StatusCode == 200 && strings.Contains(body, `aria-label="Mobile users"`)
}

func TestSSOSignInAndHostileProviders(t *testing.T) {
	s := start(t, "", nil, "--sso-allow-private")
	contoso, fabrikam := s.newOrg(1, 5), s.newOrg(2, 5)
	op := newHostileOP(t, "the-client-secret-0123456789")
	ssoSet(t, s, "--id", "contoso", "--issuer", op.srv.URL, "--client-id", "licet-client", "--domains", "contoso.example", "--orgs", contoso)

	// The good case: lands on Mobile Users of the rule's organization.
	c := browserless(t)
	resp, body, cb := ssoSignIn(t, s, op, c, "Alice@Contoso.example")
	if resp.StatusCode != 303 {
		t.Fatalf("good sign-in: %d %s", resp.StatusCode, body)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "licet_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.MaxAge > 3660 || session.MaxAge < 3500 {
		// (the server's test clock stands still while the provider's runs: a few seconds apart)
		t.Errorf("the session cookie is not bounded by the token's hour: %+v", session)
	}
	if !signedInTo(t, s, c, contoso) || signedInTo(t, s, c, fabrikam) {
		t.Fatal("a signed-in administrator must see the rule's organization and no other")
	}
	// State replay: the same callback again is refused, with a clear page.
	if resp, body := fetch(browserless(t), t, cb); resp.StatusCode != 400 || !strings.Contains(body, "expired or was used already") {
		t.Errorf("replayed callback from another browser: %d", resp.StatusCode)
	}
	c2 := browserless(t)
	u, _, _ := ssoStart(t, s, c2, "alice@contoso.example")
	op.mu.Lock()
	op.nonce = u.Query().Get("nonce")
	op.mu.Unlock()
	replay, _ := url.Parse(cb)
	q := replay.Query()
	q.Set("state", u.Query().Get("state"))
	if resp, _ := fetch(c2, t, replay.Scheme+"://"+replay.Host+replay.Path+"?"+q.Encode()); resp.StatusCode != 303 {
		t.Errorf("a fresh sign-in after a replay attempt: %d", resp.StatusCode)
	}
	if resp, body := fetch(c2, t, replay.Scheme+"://"+replay.Host+replay.Path+"?"+q.Encode()); resp.StatusCode != 400 || !strings.Contains(body, "expired or was used already") {
		t.Errorf("the same state used twice: %d", resp.StatusCode)
	}
	// A callback whose state is not this browser's cookie (login CSRF).
	c3 := browserless(t)
	u3, _, _ := ssoStart(t, s, c3, "alice@contoso.example")
	if resp, _ := fetch(browserless(t), t, s.url+"/admin/sso/callback?state="+url.QueryEscape(u3.Query().Get("state"))+"&code=c1"); resp.StatusCode != 400 {
		t.Errorf("a state without its cookie: %d", resp.StatusCode)
	}

	hostile := []struct {
		name string
		mint func(map[string]any) string
	}{
		{"wrong issuer", op.with(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"wrong audience", op.with(func(c map[string]any) { c["aud"] = "another-client" })},
		{"another client's token naming licet too", op.with(func(c map[string]any) {
			c["aud"], c["azp"] = []string{"another-client", "licet-client"}, "another-client"
		})},
		{"several audiences, no authorized party", op.with(func(c map[string]any) { c["aud"] = []string{"another-client", "licet-client"} })},
		{"expired token", op.with(func(c map[string]any) {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		})},
		{"nonce replay", op.with(func(c map[string]any) { c["nonce"] = "the-nonce-of-an-earlier-sign-in" })},
		{"no nonce", op.with(func(c map[string]any) { delete(c, "nonce") })},
		{"unverified e-mail", op.with(func(c map[string]any) { c["email_verified"] = false })},
		{"e-mail of another domain", op.with(func(c map[string]any) { c["email"] = "alice@fabrikam.example" })},
		{"alg none", func(c map[string]any) string {
			return op.jwt(map[string]any{"alg": "none", "typ": "JWT"}, c, func([]byte) []byte { return nil })
		}},
		{"HS256 with the client secret", func(c map[string]any) string {
			return op.jwt(map[string]any{"alg": "HS256", "kid": "k1", "typ": "JWT"}, c, func(in []byte) []byte {
				m := hmac.New(sha256.New, []byte(op.secret))
				m.Write(in)
				return m.Sum(nil)
			})
		}},
		{"signed by another key", func(c map[string]any) string {
			other, _ := rsa.GenerateKey(rand.Reader, 2048)
			return op.jwt(map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}, c, func(in []byte) []byte {
				d := sha256.Sum256(in)
				sig, _ := rsa.SignPKCS1v15(rand.Reader, other, crypto.SHA256, d[:])
				return sig
			})
		}},
	}
	for _, h := range hostile {
		op.mu.Lock()
		op.mint = h.mint
		op.mu.Unlock()
		c := browserless(t)
		resp, body, _ := ssoSignIn(t, s, op, c, "alice@contoso.example")
		if resp.StatusCode != 403 || !strings.Contains(body, "Log in") {
			t.Errorf("%s: %d; want 403 and the login page", h.name, resp.StatusCode)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == "licet_session" && ck.Value != "" {
				t.Errorf("%s: a session was started", h.name)
			}
		}
		if signedInTo(t, s, c, contoso) {
			t.Errorf("%s: signed in", h.name)
		}
	}
	// None of those took Alice's administration away: they say nothing about her.
	if !signedInTo(t, s, c, contoso) {
		t.Error("a hostile token ended the real administrator's session")
	}

	// The audit has the sign-in with issuer and subject.
	audit := s.mustLicet("audit", "--org", contoso)
	if !strings.Contains(audit, "admin.sso.signin") || !strings.Contains(audit, "issuer="+op.srv.URL+" subject=alice-sub") {
		t.Errorf("the audit lacks the sign-in:\n%s", audit)
	}

	// A domain belongs to one provider.
	op2 := newHostileOP(t, "the-client-secret-0123456789")
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("s"), 0o600)
	if _, err := s.licet("sso", "set", "--client-secret-file", secret, "--id", "fabrikam", "--issuer", op2.srv.URL, "--client-id", "x", "--domains", "fabrikam.example,contoso.example", "--orgs", fabrikam); err == nil || !strings.Contains(err.Error(), "contoso.example belongs to") {
		t.Errorf("a second provider for contoso.example: %v", err)
	}
	// A provider that vouches for an address of another provider's domain.
	ssoSet(t, s, "--id", "fabrikam", "--issuer", op2.srv.URL, "--client-id", "licet-client", "--domains", "fabrikam.example", "--orgs", fabrikam)
	op2.mint = op2.with(func(c map[string]any) { c["email"], c["sub"] = "alice@contoso.example", "mallory" })
	cm := browserless(t)
	if resp, _, _ := ssoSignIn(t, s, op2, cm, "mallory@fabrikam.example"); resp.StatusCode != 403 || signedInTo(t, s, cm, contoso) || signedInTo(t, s, cm, fabrikam) {
		t.Errorf("fabrikam's provider signed in contoso's administrator: %d", resp.StatusCode)
	}

	// A provider that is down: a clear page, never a 500. Down between the
	// redirect and the answer (its discovery is still known):
	cd := browserless(t)
	u2, _, _ := ssoStart(t, s, cd, "mallory@fabrikam.example")
	op2.srv.Close()
	if resp, body := fetch(cd, t, u2.Query().Get("redirect_uri")+"?state="+url.QueryEscape(u2.Query().Get("state"))+"&code=c"); resp.StatusCode != 502 || !strings.Contains(body, "cannot be reached") {
		t.Errorf("provider down at the answer: %d", resp.StatusCode)
	}
	// Down from the start:
	op3 := newHostileOP(t, "s")
	ssoSet(t, s, "--id", "northwind", "--issuer", op3.srv.URL, "--client-id", "licet-client", "--domains", "northwind.example", "--orgs", fabrikam)
	op3.srv.Close()
	if _, resp, body := ssoStart(t, s, browserless(t), "eve@northwind.example"); resp.StatusCode != 502 || !strings.Contains(body, "cannot be reached") {
		t.Errorf("provider down: %d", resp.StatusCode)
	}
	// No provider for the address: says so.
	if _, resp, body := ssoStart(t, s, browserless(t), "bob@nowhere.example"); resp.StatusCode != 404 || !strings.Contains(body, "Use your password") {
		t.Errorf("an address without single sign-on: %d", resp.StatusCode)
	}

	// The session ends with the ID token's hour, whatever the cookie says.
	if !signedInTo(t, s, c, contoso) {
		t.Fatal("signed out too early")
	}
	s.clock.Add(61 * time.Minute)
	if signedInTo(t, s, c, contoso) {
		t.Error("the session outlived the ID token")
	}
}

func TestSSOClaimRuleRequiredAndDeprovisioning(t *testing.T) {
	s := start(t, "", nil, "--sso-allow-private")
	org, other := s.newOrg(1, 5), s.newOrg(2, 5)
	op := newHostileOP(t, "the-client-secret-0123456789")
	ssoSet(t, s, "--id", "contoso", "--issuer", op.srv.URL, "--client-id", "licet-client", "--domains", "contoso.example",
		"--orgs", org+","+other, "--claim", "groups", "--claim-value", "LicenseAdmins", "--require")
	// An invited administrator with a password may not use it: SSO is required.
	link := s.invite(org, "carol@contoso.example")
	c := browserless(t)
	form(t, c, link, url.Values{"password": {adminPW}, "confirm": {adminPW}})
	if resp, body := form(t, c, s.url+"/admin/login", url.Values{"email": {"carol@contoso.example"}, "password": {adminPW}}); resp.StatusCode != 403 || !strings.Contains(body, "requires you to sign in with its account") {
		t.Errorf("password of an organization that requires SSO: %d", resp.StatusCode)
	}
	// Not in the group: refused.
	if resp, _, _ := ssoSignIn(t, s, op, c, "alice@contoso.example"); resp.StatusCode != 403 {
		t.Errorf("outside the claim rule: %d", resp.StatusCode)
	}
	// In the group (as a list claim): administrator of both organizations.
	op.mint = op.with(func(c map[string]any) { c["groups"] = []string{"Sales", "LicenseAdmins"} })
	ca := browserless(t)
	if resp, body, _ := ssoSignIn(t, s, op, ca, "alice@contoso.example"); resp.StatusCode != 303 {
		t.Fatalf("inside the rule: %d %s", resp.StatusCode, body)
	}
	if !signedInTo(t, s, ca, org) || !signedInTo(t, s, ca, other) {
		t.Fatal("the rule's organizations are not administered")
	}
	if _, body := fetch(ca, t, s.url+"/admin/orgs/"+org+"/settings"); !strings.Contains(body, `data-sso="contoso"`) || !strings.Contains(body, "<code>groups</code> holds <code>LicenseAdmins</code>") || !strings.Contains(body, "Passwords are refused.") {
		t.Errorf("the settings page does not say how administrators sign in")
	}
	// Taken out of the group: the next sign-in is refused and ends her sessions.
	op.mint = op.with(func(c map[string]any) { c["groups"] = []string{"Sales"} })
	if resp, _, _ := ssoSignIn(t, s, op, browserless(t), "alice@contoso.example"); resp.StatusCode != 403 {
		t.Errorf("after leaving the group: %d", resp.StatusCode)
	}
	if signedInTo(t, s, ca, org) {
		t.Error("the old session still works after she left the group")
	}
	audit := s.mustLicet("audit", "--org", org)
	if !strings.Contains(audit, "admin.sso.refused") || !strings.Contains(audit, "administration through the provider ended, sessions and API tokens revoked") {
		t.Errorf("the audit lacks the refusal:\n%s", audit)
	}
	// The operator's break-glass still works.
	if tok, _ := os.ReadFile(filepath.Join(s.dir, "operator-token")); true {
		if resp, _ := form(t, browserless(t), s.url+"/admin/login/operator", url.Values{"token": {strings.TrimSpace(string(tok))}}); resp.StatusCode != 303 {
			t.Errorf("operator login with SSO required: %d", resp.StatusCode)
		}
	}
}

func TestSSORegistrationRefusesBadInputAndKeepsTheSecretSealed(t *testing.T) {
	s := start(t, "", nil, "--sso-allow-private")
	org := s.newOrg(1, 5)
	op := newHostileOP(t, "the-client-secret-0123456789")
	ssoSet(t, s, "--id", "contoso", "--issuer", op.srv.URL, "--client-id", "licet-client", "--domains", "contoso.example", "--orgs", org)
	db := filepath.Join(s.dir, "licet.db")
	before := dump(t, db)
	if strings.Contains(before, "the-client-secret") {
		t.Error("the client secret is stored in clear")
	}
	if list := s.mustLicet("sso", "list", "--json"); strings.Contains(list, "the-client-secret") || !strings.Contains(list, `"clientSecretSet": true`) {
		t.Errorf("the API shows the secret or hides that it is set:\n%s", list)
	}
	tok, _ := os.ReadFile(filepath.Join(s.dir, "operator-token"))
	put := func(id, body string) int {
		req, _ := http.NewRequest("PUT", s.url+"/v1/sso/"+id, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := func(edit func(m map[string]any)) string {
		m := map[string]any{"issuer": op.srv.URL, "clientId": "c", "clientSecret": "s", "domains": []string{"new.example"}, "orgs": []string{org}}
		edit(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct {
		name, id, body string
		want           int
	}{
		{"malformed JSON", "x", `{"issuer":`, 400},
		{"unknown field", "x", good(func(m map[string]any) { m["admin"] = true }), 400},
		{"bad id", "Bad%20Id", good(func(map[string]any) {}), 400},
		{"http issuer off loopback", "x", good(func(m map[string]any) { m["issuer"] = "http://idp.example" }), 400},
		{"issuer with a query", "x", good(func(m map[string]any) { m["issuer"] = op.srv.URL + "?a=b" }), 400},
		{"no secret for a new provider", "x", good(func(m map[string]any) { delete(m, "clientSecret") }), 400},
		{"no domains", "x", good(func(m map[string]any) { m["domains"] = []string{} }), 400},
		{"bad domain", "x", good(func(m map[string]any) { m["domains"] = []string{"not a domain"} }), 400},
		{"claim without value", "x", good(func(m map[string]any) { m["claim"] = "groups" }), 400},
		{"unknown organization", "x", good(func(m map[string]any) { m["orgs"] = []string{guid('o', 77)} }), 404},
		{"bad organization", "x", good(func(m map[string]any) { m["orgs"] = []string{"nope"} }), 400},
		{"domain of another provider", "x", good(func(m map[string]any) { m["domains"] = []string{"contoso.example"} }), 409},
		{"too large", "x", good(func(m map[string]any) { m["clientId"] = strings.Repeat("a", 70<<10) }), 413},
	} {
		if got := put(tc.id, tc.body); got != tc.want {
			t.Errorf("%s: %d; want %d", tc.name, got, tc.want)
		}
	}
	if after := dump(t, db); after != before {
		t.Errorf("refused registrations changed the database:\n%s\n---\n%s", before, after)
	}
	for _, args := range [][]string{{"sso", "set"}, {"sso", "set", "--id", "y", "--orgs", "nope", "--issuer", op.srv.URL, "--client-id", "c", "--domains", "y.example"}, {"sso", "remove"}, {"sso", "remove", "--id", "nope"}} {
		if _, err := s.licet(args...); err == nil || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("licet %v: %v; want a one-line error", args, err)
		}
	}
	// An update without a secret keeps the sealed one.
	s.mustLicet("sso", "set", "--id", "contoso", "--claim", "roles", "--claim-value", "LicenseAdmin")
	if list := s.mustLicet("sso", "list"); !strings.Contains(list, "roles contains LicenseAdmin") {
		t.Errorf("update: %s", list)
	}
	if fi, err := os.Stat(filepath.Join(s.dir, "secrets.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets.key: %v %v", fi, err)
	}
	if _, body := fetch(browserless(t), t, s.url+"/admin/login"); !strings.Contains(body, `id="sso-email"`) {
		t.Error("the login page does not offer single sign-on")
	}
	s.mustLicet("sso", "remove", "--id", "contoso")
	if _, body := fetch(browserless(t), t, s.url+"/admin/login"); strings.Contains(body, `id="sso-email"`) {
		t.Error("the login page offers single sign-on with no provider registered")
	}
	if list := s.mustLicet("sso", "list", "--json"); strings.TrimSpace(list) != "[]" {
		t.Errorf("after remove: %s", list)
	}
}

func TestSSOStartsAreBoundedPerAddress(t *testing.T) {
	s := start(t, "", nil, "--sso-allow-private")
	org := s.newOrg(1, 5)
	op := newHostileOP(t, "the-client-secret-0123456789")
	ssoSet(t, s, "--id", "contoso", "--issuer", op.srv.URL, "--client-id", "licet-client", "--domains", "contoso.example", "--orgs", org)
	c := browserless(t)
	for i := range 40 {
		resp, _ := form(t, c, s.url+"/admin/sso", url.Values{"email": {"alice@contoso.example"}})
		if resp.StatusCode == 429 {
			if i < 30 || resp.Header.Get("Retry-After") == "" {
				t.Errorf("refused after %d starts, Retry-After %q", i, resp.Header.Get("Retry-After"))
			}
			return
		}
	}
	t.Error("40 sign-in starts from one address in a row were all accepted")
}

// A provider is reached only on public addresses unless the vendor allows
// private ones (an on-premises provider), as offline backends are: the
// discovery document a provider serves could otherwise send licet's
// requests (code exchange, keys, userinfo) to the vendor's own network.
func TestSSOProviderOnAPrivateAddressIsRefused(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 5)
	op := newHostileOP(t, "the-client-secret-0123456789")
	ssoSet(t, s, "--id", "contoso", "--issuer", op.srv.URL, "--client-id", "licet-client", "--domains", "contoso.example", "--orgs", org)
	u, resp, body := ssoStart(t, s, browserless(t), "alice@contoso.example")
	if u != nil || resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "cannot be reached") {
		t.Fatalf("a provider on a loopback address: want 502 and a clear page, got %d %s", resp.StatusCode, body)
	}
	op.mu.Lock()
	n := op.discovered
	op.mu.Unlock()
	if n != 0 {
		t.Fatalf("licet fetched the discovery document of a provider on a loopback address %d times", n)
	}
}

// What a provider gave is reached only through that provider: an
// administrator who also has a password (an operator's invitation to
// another organization) does not keep the provider's organizations by
// signing in with the password once the provider stops vouching.
func TestSSOGrantedOrganizationsNeedTheProvider(t *testing.T) {
	s := start(t, "", nil, "--sso-allow-private")
	invited, granted := s.newOrg(1, 5), s.newOrg(2, 5)
	op := newHostileOP(t, "the-client-secret-0123456789")
	ssoSet(t, s, "--id", "contoso", "--issuer", op.srv.URL, "--client-id", "licet-client", "--domains", "contoso.example", "--orgs", granted)
	link := s.invite(invited, "bob@contoso.example")
	form(t, browserless(t), link, url.Values{"password": {adminPW}, "confirm": {adminPW}})
	op.mint = op.with(func(c map[string]any) { c["email"], c["sub"] = "bob@contoso.example", "bob-sub" })
	viaSSO := browserless(t)
	if resp, body, _ := ssoSignIn(t, s, op, viaSSO, "bob@contoso.example"); resp.StatusCode != 303 {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	if !signedInTo(t, s, viaSSO, granted) || !signedInTo(t, s, viaSSO, invited) {
		t.Fatal("the SSO session must reach the provider's organization and the invitation's")
	}
	viaPassword := browserless(t)
	if resp := login(t, viaPassword, s, "bob@contoso.example", adminPW); resp.StatusCode != 303 {
		t.Fatalf("password login: %d", resp.StatusCode)
	}
	if !signedInTo(t, s, viaPassword, invited) {
		t.Error("the password session must reach the invitation's organization")
	}
	if signedInTo(t, s, viaPassword, granted) {
		t.Error("a password session reaches an organization only the provider gave")
	}
	// An API token reaches what the session it was made in reaches.
	for _, tc := range []struct {
		c       *http.Client
		granted int
	}{{viaPassword, 404}, {viaSSO, 200}} {
		_, body := form(t, tc.c, s.url+"/admin/tokens", url.Values{"name": {"script"}})
		tok := regexpFind(`lca_[A-Za-z0-9_-]+`, body)
		if tok == "" {
			t.Fatalf("no token shown:\n%s", body)
		}
		if code, _ := s.op("GET", "/v1/orgs/"+granted+"/users", tok, "", ""); code != tc.granted {
			t.Errorf("a token made in a session reaching the provider's organization %v: %d", tc.granted == 200, code)
		}
		if code, _ := s.op("GET", "/v1/orgs/"+invited+"/users", tok, "", ""); code != 200 {
			t.Errorf("a token reaches the invitation's organization: %d", code)
		}
	}
}
