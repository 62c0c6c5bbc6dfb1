package cli_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/licet/licet/internal/storetest"
)

// database is where a test's server keeps its data: the SQLite file in
// its data folder, or a private PostgreSQL database.
type database struct{ url string }

// onBothDatabases runs test on SQLite and on PostgreSQL: the console and
// the offline licenses are held to the same answers on both. A missing
// PostgreSQL fails the test (storetest.Require), never skips it.
func onBothDatabases(t *testing.T, test func(t *testing.T, db database)) {
	t.Run("sqlite", func(t *testing.T) { test(t, database{}) })
	t.Run("postgres", func(t *testing.T) { test(t, database{url: storetest.PostgresURL(t)}) })
}

// flags are the server's flags on this database.
func (d database) flags(flags ...string) []string {
	if d.url == "" {
		return flags
	}
	return append([]string{"--database", d.url}, flags...)
}

// dump reads every row of every table the server's database holds.
func (d database) dump(t *testing.T, s *server) string {
	t.Helper()
	if d.url == "" {
		return dump(t, filepath.Join(s.dir, "licet.db"))
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, tbl := range tables {
		// In physical order: a row changed in place moves.
		rows, err := conn.Query(ctx, `SELECT * FROM "`+tbl+`" ORDER BY ctid`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", tbl, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() == 0 {
		t.Fatal("the database holds nothing: a comparison of it would prove nothing")
	}
	return b.String()
}

// invite makes email an administrator of org and returns the link path.
func (s *server) invite(org, email string) string {
	out := s.mustLicet("admin", "add", "--org", org, "--email", email)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// browserless is an HTTP client with a cookie jar, as a browser would be.
func browserless(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func form(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func fetch(c *http.Client, t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const adminPW = "correct horse battery staple"

// signIn sets the password through the link and logs in.
func signIn(t *testing.T, s *server, link, email string) *http.Client {
	c := browserless(t)
	if resp, body := form(t, c, link, url.Values{"password": {adminPW}, "confirm": {adminPW}}); resp.StatusCode != 200 || !strings.Contains(body, "Your password is set") {
		t.Fatalf("set password: %d %s", resp.StatusCode, body)
	}
	if resp, _ := form(t, c, link, url.Values{"password": {adminPW}, "confirm": {adminPW}}); resp.StatusCode != 404 {
		t.Errorf("a used link worked again: %d", resp.StatusCode)
	}
	resp, body := form(t, c, s.url+"/admin/login", url.Values{"email": {email}, "password": {adminPW}})
	if resp.StatusCode != 303 {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "licet_session" && (!ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode) {
			t.Errorf("session cookie not HttpOnly/SameSite: %+v", ck)
		}
	}
	return c
}

func TestConsoleAuthorization(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags("--rate-device", "0")...)
		mine, theirs := s.newOrg(1, 5, "--offline=true"), s.newOrg(2, 5, "--offline=true")
		for i := range 3 {
			s.check(mine, guid('u', i))
			s.check(theirs, guid('u', 10+i))
		}
		c := signIn(t, s, s.invite(mine, "alice@customer.example"), "alice@customer.example")
		if resp, body := fetch(c, t, s.url+"/admin/orgs/"+mine+"/users"); resp.StatusCode != 200 || !strings.Contains(body, guid('u', 1)) {
			t.Fatalf("own users: %d", resp.StatusCode)
		}
		for _, path := range []string{"users", "users.csv", "settings", "offline", "offline/download", "audit"} {
			if resp, _ := fetch(c, t, s.url+"/admin/orgs/"+theirs+"/"+path); resp.StatusCode != 404 {
				t.Errorf("GET %s of another organization: %d; want 404", path, resp.StatusCode)
			}
			if resp, _ := fetch(c, t, s.url+"/admin/orgs/"+guid('o', 99)+"/"+path); resp.StatusCode != 404 {
				t.Errorf("GET %s of a missing organization: %d; want 404", path, resp.StatusCode)
			}
		}
		for _, path := range []string{"users", "settings", "offline"} {
			resp, _ := form(t, c, s.url+"/admin/orgs/"+theirs+"/"+path, url.Values{"action": {"delete"}, "user": {guid('u', 10)}, "temporaryDays": {"1"}})
			if resp.StatusCode != 404 {
				t.Errorf("POST %s of another organization: %d; want 404", path, resp.StatusCode)
			}
		}
		if u := s.mustLicet("user", "list", "--org", theirs); !strings.Contains(u, guid('u', 10)) {
			t.Error("another organization's user was deleted")
		}
		// Without a session: to the login.
		anon := browserless(t)
		for _, path := range []string{"/admin/", "/admin/orgs/" + mine + "/users", "/admin/orgs/" + mine + "/settings"} {
			if resp, _ := fetch(anon, t, s.url+path); resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login") {
				t.Errorf("%s without a session: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		// A cross-site POST with a valid session is refused.
		req, _ := http.NewRequest("POST", s.url+"/admin/orgs/"+mine+"/users", strings.NewReader("action=delete&user="+guid('u', 1)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if resp, err := c.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("cross-site POST: %v %v", err, resp.Status)
		}
		// CSV export matches the filtered list.
		_, body := fetch(c, t, s.url+"/admin/orgs/"+mine+"/users.csv?state=licensed&q="+guid('u', 1)[:8])
		rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll()
		if len(rows) != 2 || rows[1][0] != guid('u', 1) || rows[1][1] != "licensed" {
			t.Errorf("CSV: %v", rows)
		}
		// Wrong passwords are throttled.
		codes := map[int]int{}
		for range 8 {
			resp, _ := form(t, browserless(t), s.url+"/admin/login", url.Values{"email": {"alice@customer.example"}, "password": {"wrong password!"}})
			codes[resp.StatusCode]++
		}
		if codes[401] == 0 || codes[429] == 0 {
			t.Errorf("wrong passwords: %v; want 401s then 429s", codes)
		}
		if strings.Contains(s.logs.String(), adminPW) || strings.Contains(s.logs.String(), "wrong password!") {
			t.Error("a password appears in the log")
		}
	})
}

// browserText is the trimmed text of the first element sel finds.
func browserText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// browserSignIn sets the password through an invitation link and logs in.
func browserSignIn(t *testing.T, ctx context.Context, link string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.SendKeys(chromedp.ID("password"), adminPW),
		chromedp.SendKeys(chromedp.ID("confirm"), adminPW),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("password"), adminPW),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitNotPresent(chromedp.ID("email")), // the login page gave way
	); err != nil {
		t.Fatalf("set the password and log in: %v", err)
	}
}

// browser starts Debian's chromium headless; under CI a missing browser fails.
func browser(t *testing.T) context.Context {
	path, err := exec.LookPath("chromium")
	storetest.Require(t, "Debian's chromium", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

func TestConsoleInBrowser(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		ctx := browser(t)
		s := start(t, "", nil, db.flags("--rate-device", "0")...)
		org := s.newOrg(1, 10)
		u1, u2, u3 := guid('u', 1), guid('u', 2), guid('u', 3)
		for _, u := range []string{u1, u2, u3} {
			s.check(org, u)
		}
		link := s.invite(org, "alice@customer.example")
		text := func(sel string) string { t.Helper(); return browserText(t, ctx, sel) }
		do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		browserSignIn(t, ctx, link)
		do("the Mobile Users page", chromedp.WaitVisible(chromedp.CSS(`table[aria-label="Mobile users"]`)))
		if used := text(`[data-used="Standard"]`); used != "3" {
			t.Errorf("Mobile Users shows %q used; want 3", used)
		}
		for _, st := range []struct{ user, action, wantState, wantUsed string }{
			{u1, "unassign", "unlicensed", "2"},
			{u1, "assign", "licensed", "3"},
			{u2, "disable", "disabled", "2"},
		} {
			do(st.action,
				chromedp.Click(chromedp.CSS(`input[value="`+st.user+`"]`)),
				chromedp.SetValue(chromedp.ID("action"), st.action),
				chromedp.Click(chromedp.CSS(`button[value="selected"]`)),
			)
			waitFlash(t, ctx, strings.ToUpper(st.action[:1])+st.action[1:]+":")
			state, used := text(`tr[data-user="`+st.user+`"] .state`), text(`[data-used="Standard"]`)
			if state != st.wantState || used != st.wantUsed {
				t.Errorf("after %s: state %q, used %q; want %q, %q", st.action, state, used, st.wantState, st.wantUsed)
			}
		}
		if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			if dir := os.Getenv("LICET_TEST_ARTIFACTS"); dir != "" {
				os.WriteFile(filepath.Join(dir, "mobile-users.png"), shot, 0o644)
			}
		}
		do("settings",
			chromedp.Click(chromedp.CSS(`a[href$="/settings"]`)),
			chromedp.WaitVisible(chromedp.ID("temporaryDays")),
			chromedp.Click(chromedp.CSS(`input[name="autoAssign"]`)),
			chromedp.SetValue(chromedp.ID("temporaryDays"), "7"),
			chromedp.Submit(chromedp.ID("temporaryDays")),
		)
		waitFlash(t, ctx, "Settings saved.")
		do("audit", chromedp.Click(chromedp.CSS(`a[href$="/audit"]`)), chromedp.WaitVisible(chromedp.CSS(`table[aria-label="Audit log"]`)))
		audit := text(`table[aria-label="Audit log"]`)
		if show := s.mustLicet("org", "show", "--org", org); !strings.Contains(show, "Automatic assignment     off") || !strings.Contains(show, "Temporary license days   7") {
			t.Errorf("settings not saved:\n%s", show)
		}
		for _, want := range []string{"user.unassign", "user.assign", "user.disable", "organization.update", "alice@customer.example"} {
			if !strings.Contains(audit, want) {
				t.Errorf("the audit page lacks %q:\n%s", want, audit)
			}
		}
	})
}

// waitFlash waits for the page after a form's redirect to say what it did.
func waitFlash(t *testing.T, ctx context.Context, prefix string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
		if err == nil && strings.HasPrefix(strings.TrimSpace(v), prefix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not say %q (last: %q, %v)", prefix, v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAdminAPITokens(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags("--rate-device", "0")...)
		mine, theirs := s.newOrg(1, 5), s.newOrg(2, 5)
		s.check(mine, guid('u', 1))
		c := signIn(t, s, s.invite(mine, "alice@customer.example"), "alice@customer.example")
		_, body := form(t, c, s.url+"/admin/tokens", url.Values{"name": {"ci script"}})
		tok := regexpFind(`lca_[A-Za-z0-9_-]+`, body)
		if tok == "" {
			t.Fatalf("no token shown:\n%s", body)
		}
		call := func(method, path, payload string) int {
			code, _ := s.op(method, path, tok, "application/json", payload)
			return code
		}
		for _, tc := range []struct {
			method, path, body string
			want               int
		}{
			{"GET", "/v1/orgs/" + mine + "/users", "", 200},
			{"POST", "/v1/orgs/" + mine + "/users/" + guid('u', 1) + "/unassign", "", 200},
			{"PATCH", "/v1/orgs/" + mine, `{"temporaryDays":3}`, 200},
			{"GET", "/v1/orgs/" + theirs + "/users", "", 404},
			{"GET", "/v1/orgs/" + theirs, "", 404},
			{"PATCH", "/v1/orgs/" + mine, `{"offline":true}`, 403},
			{"POST", "/v1/orgs/" + mine + "/pools", `{"licenseType":"Standard","seats":100}`, 403},
			{"POST", "/v1/orgs/" + mine + "/admins", `{"email":"eve@x.example"}`, 403},
			{"GET", "/v1/orgs", "", 403},
			{"POST", "/v1/keys/rotate", "", 403},
		} {
			if got := call(tc.method, tc.path, tc.body); got != tc.want {
				t.Errorf("%s %s with an administrator token: %d; want %d", tc.method, tc.path, got, tc.want)
			}
		}
		if audit := s.mustLicet("audit", "--org", mine); !strings.Contains(audit, "alice@customer.example  user.unassign") {
			t.Errorf("the token's change is not audited as alice:\n%s", audit)
		}
		_, body = fetch(c, t, s.url+"/admin/tokens")
		id := regexpFind(`/admin/tokens/(\d+)/revoke`, body)
		form(t, c, s.url+id, nil)
		if got := call("GET", "/v1/orgs/"+mine+"/users", ""); got != 401 {
			t.Errorf("a revoked token: %d; want 401", got)
		}
	})
}

func regexpFind(expr, s string) string { return regexp.MustCompile(expr).FindString(s) }

func TestOperatorInTheConsole(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags()...)
		a, b := s.newOrg(1, 5), s.newOrg(2, 7)
		c := browserless(t)
		if resp, _ := form(t, c, s.url+"/admin/login/operator", url.Values{"token": {"lct_wrong"}}); resp.StatusCode != 401 {
			t.Errorf("a wrong operator token: %d", resp.StatusCode)
		}
		if resp, _ := form(t, c, s.url+"/admin/login", url.Values{"email": {"operator"}, "password": {""}}); resp.StatusCode == 303 {
			t.Error("the operator account opened with a password")
		}
		if resp, _ := form(t, c, s.url+"/admin/login/operator", url.Values{"token": {s.token()}}); resp.StatusCode != 303 {
			t.Fatalf("operator login: %d", resp.StatusCode)
		}
		_, body := fetch(c, t, s.url+"/admin/")
		if !strings.Contains(body, "All organizations") || !strings.Contains(body, a) || !strings.Contains(body, b) {
			t.Errorf("the operator's view:\n%s", body)
		}
		resp, _ := form(t, c, s.url+"/admin/orgs/"+b+"/settings", url.Values{"autoAssign": {"on"}, "offline": {"on"},
			"temporaryDays": {"14"}, "freeUnusedDays": {"0"}, "notifyWindow": {"10"}})
		if resp.StatusCode != 303 || !strings.Contains(s.mustLicet("org", "show", "--org", b), "Offline licenses         on") {
			t.Errorf("the operator switching offline licenses on: %d", resp.StatusCode)
		}
		if _, body := fetch(c, t, s.url+"/admin/orgs/"+b+"/offline"); !strings.Contains(body, "Update") {
			t.Error("no offline page after the switch")
		}
		if audit := s.mustLicet("audit", "--org", b); !regexp.MustCompile(`operator +organization.update +- +offline=true`).MatchString(audit) {
			t.Errorf("audit:\n%s", audit)
		}
	})
}

func TestConsolePagingExportAndLinksStayPrivate(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags("--rate-device", "0")...)
		org := s.newOrg(1, 100)
		var ids []string
		for i := range 60 {
			ids = append(ids, `"`+guid('u', i)+`"`)
		}
		if code, out := s.op("POST", "/v1/orgs/"+org+"/users/batch", s.token(), "application/json", `{"action":"assign","userIds":[`+strings.Join(ids, ",")+`]}`); code != 200 {
			t.Fatal(out)
		}
		link := s.invite(org, "alice@customer.example")
		c := signIn(t, s, link, "alice@customer.example")
		_, first := fetch(c, t, s.url+"/admin/orgs/"+org+"/users?state=licensed")
		next := regexpFind(`href="\?[^"]*after=[^"]*"`, first)
		if next == "" {
			t.Fatalf("no next link on page 1")
		}
		href := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(next, `href="`), `"`), "&amp;", "&")
		_, second := fetch(c, t, s.url+"/admin/orgs/"+org+"/users"+href)
		if !strings.Contains(second, guid('u', 55)) || strings.Contains(second, guid('u', 1)+"</code>") {
			t.Errorf("the next page does not show the next users")
		}
		prev := regexpFind(`href="\?[^"]*before=[^"]*"`, second)
		_, back := fetch(c, t, s.url+"/admin/orgs/"+org+"/users"+strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(prev, `href="`), `"`), "&amp;", "&"))
		if !strings.Contains(back, guid('u', 1)+"</code>") || strings.Contains(back, guid('u', 55)+"</code>") {
			t.Errorf("the previous page does not show the first users")
		}
		_, filtered := fetch(c, t, s.url+"/admin/orgs/"+org+"/audit?user="+guid('u', 7)[:8]+"&action=assign")
		if !strings.Contains(filtered, guid('u', 7)) || strings.Contains(filtered, guid('u', 8)) {
			t.Errorf("the audit filter:\n%s", filtered)
		}
		csvLink := regexpFind(`href="/admin/orgs/[^"]*users\.csv\?[^"]*"`, first)
		csvHref := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(csvLink, `href="`), `"`), "&amp;", "&")
		if !strings.Contains(csvHref, "state=licensed") {
			t.Errorf("the export link lost the filter: %s", csvHref)
		}
		s.stop()
		if strings.Contains(s.logs.String(), strings.TrimPrefix(link[strings.LastIndex(link, "/"):], "/")) {
			t.Error("the invitation token appears in the log")
		}
	})
}

func TestPasswordResetRevokesTokens(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags()...)
		org := s.newOrg(1, 5)
		c := signIn(t, s, s.invite(org, "alice@customer.example"), "alice@customer.example")
		_, body := form(t, c, s.url+"/admin/tokens", url.Values{"name": {"x"}})
		tok := regexpFind(`lca_[A-Za-z0-9_-]+`, body)
		if code, _ := s.op("GET", "/v1/orgs/"+org+"/users", tok, "", ""); code != 200 {
			t.Fatalf("token: %d", code)
		}
		c = signIn(t, s, s.invite(org, "alice@customer.example"), "alice@customer.example") // reset by a new link
		if code, _ := s.op("GET", "/v1/orgs/"+org+"/users", tok, "", ""); code != 401 {
			t.Errorf("a token survived the password reset: %d", code)
		}
		s.mustLicet("admin", "remove", "--org", org, "--email", "Alice@customer.example")
		if resp, _ := fetch(c, t, s.url+"/admin/orgs/"+org+"/users"); resp.StatusCode != 303 {
			t.Errorf("a removed administrator's session still opens the console: %d", resp.StatusCode)
		}
		if _, err := s.licet("admin", "remove", "--org", org, "--email", "alice@customer.example"); err == nil {
			t.Error("removing twice succeeded")
		}
	})
}

// Hostile console and mail-page requests get a clear refusal and change
// nothing stored.
func TestConsoleRefusesBadInputAndChangesNothing(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags()...)
		org := s.newOrg(1, 2)
		s.check(org, guid('u', 1))
		c := signIn(t, s, s.invite(org, "alice@customer.example"), "alice@customer.example")
		before := db.dump(t, s)
		huge := strings.Repeat("x", 600_000)
		for _, tc := range []struct {
			name, path string
			form       url.Values
			status     int
			says       string
		}{
			{"settings: not a number", "/admin/orgs/" + org + "/settings", url.Values{"temporaryDays": {"abc"}, "freeUnusedDays": {"0"}, "notifyWindow": {"0"}}, 400, "whole numbers"},
			{"settings: a bad address", "/admin/orgs/" + org + "/settings", url.Values{"temporaryDays": {"1"}, "freeUnusedDays": {"0"}, "notifyWindow": {"0"}, "emails": {"not-an-address"}}, 400, "plain e-mail"},
			{"settings: out of range", "/admin/orgs/" + org + "/settings", url.Values{"temporaryDays": {"99999"}, "freeUnusedDays": {"0"}, "notifyWindow": {"0"}}, 400, "between 0 and"},
			{"settings: too large", "/admin/orgs/" + org + "/settings", url.Values{"emails": {huge}}, 400, "could not be read"},
			{"users: a bad ID", "/admin/orgs/" + org + "/users", url.Values{"action": {"delete"}, "user": {"'; DROP TABLE users; --"}}, 400, "Nothing changed: &#34;&#39;; DROP TABLE users; --&#34; is not a user ID."},
			{"users: an unknown action", "/admin/orgs/" + org + "/users", url.Values{"action": {"promote"}, "user": {guid('u', 1)}}, 400, "Nothing changed: unknown action."},
			{"users: a bad ID among good ones", "/admin/orgs/" + org + "/users", url.Values{"do": {"add"}, "ids": {guid('u', 7) + " " + "nope"}}, 400, "Nothing changed: &#34;nope&#34; is not a user ID."},
			{"users: nothing selected", "/admin/orgs/" + org + "/users", url.Values{"action": {"assign"}}, 400, "Nothing selected."},
			{"login: too large", "/admin/login", url.Values{"email": {huge}}, 400, "could not be read"},
			{"subscriptions: a forged token", "/subscriptions", url.Values{"a": {"alice@customer.example"}, "t": {"forged"}, "o": {org}, "action": {"unsubscribe"}}, 403, "not valid"},
			{"password: wrong current", "/admin/password", url.Values{"current": {"nope"}, "password": {"a new long password"}, "confirm": {"a new long password"}}, 400, "current password is wrong"},
		} {
			resp, body := form(t, c, s.url+tc.path, tc.form)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) {
				t.Errorf("%s: %d, want %d saying %q\n%.300s", tc.name, resp.StatusCode, tc.status, tc.says, body)
			}
		}
		for _, u := range []string{"/mail/1?e=9999999999&t=forged", "/mail/x", "/subscriptions?a=alice@customer.example&t=forged"} {
			if code := getCode(t, s.url+u); code != 403 {
				t.Errorf("GET %s: %d; want 403", u, code)
			}
		}
		if after := db.dump(t, s); after != before {
			t.Errorf("a refused request changed the database:\n--- before\n%s\n--- after\n%s", before, after)
		}
	})
}

// A link cannot put words in the console's mouth: the message after a form
// comes from a fixed list by its code, and the URL carries only that code
// and whole numbers.
func TestConsoleMessagesComeFromCodesNotTheURL(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags()...)
		org := s.newOrg(1, 2)
		c := signIn(t, s, s.invite(org, "alice@customer.example"), "alice@customer.example")
		lure := "Your licenses expire today. Call +1 555 0100 to renew"
		for _, path := range []string{"/admin/orgs/" + org + "/users", "/admin/orgs/" + org + "/settings", "/admin/tokens"} {
			for _, q := range []string{"?done=" + url.QueryEscape(lure), "?done=users-changed&n=" + url.QueryEscape(lure), "?done=__proto__", "?done=" + strings.Repeat("x", 5000)} {
				resp, body := fetch(c, t, s.url+path+q)
				if resp.StatusCode != 200 || strings.Contains(body, "555 0100") || strings.Contains(body, "xxxx") || strings.Contains(body, `class="flash"`) {
					t.Errorf("GET %s%.60s: %d; the page shows a message from the URL", path, q, resp.StatusCode)
				}
			}
		}
		resp, _ := form(t, c, s.url+"/admin/orgs/"+org+"/settings", url.Values{"autoAssign": {"on"}, "temporaryDays": {"0"}, "freeUnusedDays": {"0"}, "notifyWindow": {"10"}})
		loc := resp.Header.Get("Location")
		if resp.StatusCode != 303 || strings.Contains(loc, "Settings") || strings.Contains(loc, "+") {
			t.Fatalf("saving settings: %d to %q; want a redirect with a code", resp.StatusCode, loc)
		}
		if _, body := fetch(c, t, s.url+loc); !strings.Contains(body, "Settings saved.") {
			t.Errorf("the redirect's page does not say the settings were saved")
		}
		resp, _ = form(t, c, s.url+"/admin/orgs/"+org+"/users", url.Values{"do": {"add"}, "ids": {guid('u', 1) + " " + guid('u', 2)}})
		if _, body := fetch(c, t, s.url+resp.Header.Get("Location")); !strings.Contains(body, "Add: 2 users done.") {
			t.Errorf("after adding two users the page says:\n%.2000s", body)
		}
	})
}

// Whoever holds an older link cannot set the password: a new link revokes
// the earlier ones, and setting or changing the password revokes them all.
func TestOldLinksAreRevoked(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, db database) {
		s := start(t, "", nil, db.flags()...)
		org, other := s.newOrg(1, 5), s.newOrg(2, 5)
		old, newer := s.invite(org, "alice@customer.example"), s.invite(other, "alice@customer.example")
		if resp, _ := fetch(browserless(t), t, old); resp.StatusCode != 404 {
			t.Errorf("the older invitation still opens after a newer one: %d", resp.StatusCode)
		}
		if resp, _ := form(t, browserless(t), old, url.Values{"password": {"the attacker's password"}, "confirm": {"the attacker's password"}}); resp.StatusCode != 404 {
			t.Errorf("the older invitation set the password: %d", resp.StatusCode)
		}
		c := signIn(t, s, newer, "alice@customer.example")

		// A reset link is outstanding when alice changes her password herself.
		reset := s.invite(org, "alice@customer.example")
		resp, body := form(t, c, s.url+"/admin/password", url.Values{"current": {adminPW}, "password": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}})
		if resp.StatusCode != 200 || !strings.Contains(body, "changed") {
			t.Fatalf("change password: %d %.300s", resp.StatusCode, body)
		}
		if resp, _ := form(t, browserless(t), reset, url.Values{"password": {"the attacker's password"}, "confirm": {"the attacker's password"}}); resp.StatusCode != 404 {
			t.Errorf("a reset link outlived the password change: %d", resp.StatusCode)
		}

		// Two links out, the newer used: the older is dead too.
		first, second := s.invite(org, "bob@customer.example"), s.invite(org, "bob@customer.example")
		_ = first
		signIn(t, s, second, "bob@customer.example")
		if resp, _ := fetch(browserless(t), t, first); resp.StatusCode != 404 {
			t.Errorf("an older link opens after the password was set: %d", resp.StatusCode)
		}

		// Removed from its last organization, an address's outstanding link dies.
		carol := s.invite(org, "carol@customer.example")
		s.mustLicet("admin", "remove", "--org", org, "--email", "carol@customer.example")
		if resp, _ := fetch(browserless(t), t, carol); resp.StatusCode != 404 {
			t.Errorf("a removed administrator's link still opens: %d", resp.StatusCode)
		}
	})
}
