package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

// binary runs the real licet binary as a command against the server.
func (s *server) binary(args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	cmd := exec.Command(licetBinary(s.t.(*testing.T)), args...)
	cmd.Env = []string{"LICET_SERVER=" + s.url, "LICET_TOKEN_FILE=" + filepath.Join(s.dir, "operator-token")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// The right of access and the right to erasure, as the operator meets
// them: the real binary against a real server process and a real SMTP
// server. After erasure no byte of the database names the address.
func TestPrivacyExportAndEraseWithTheBinary(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	dir := t.TempDir()
	db := filepath.Join(dir, "licet.db")
	s := startProcess(t, dir, db, mailFlags(sk.addr)...)
	org := s.newOrg(1, 5, "--notifications=true", "--notification-emails", "bob@elsewhere.example,abob@elsewhere.example", "--notify-window", "0")
	user := guid('u', 1)
	s.check(org, user)
	msgs := sk.waitFor(t, 2)
	bob := mailTo(msgs, "bob@elsewhere.example")
	if len(bob) != 1 {
		t.Fatalf("bob got %d mails", len(bob))
	}
	oneClick := strings.Trim(parseMail(t, bob[0].raw).header.Get("List-Unsubscribe"), "<>")
	resp, err := http.Post(oneClick, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click: %v %v", err, resp.Status)
	}
	resp.Body.Close()

	out, stderr, code := s.binary("privacy", "export", "--org", org, "--user", strings.ToLower(user))
	var rec licet.UserRecord
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil {
		t.Fatalf("export: exit %d %s %s", code, stderr, out)
	}
	if rec.User == nil || rec.User.ID != user || rec.User.Last.DeviceID != "dev-"+user || len(rec.Mails) != 2 || len(rec.Audit) == 0 {
		t.Errorf("the export lacks something stored about the user:\n%s", out)
	}
	if _, stderr, code := s.binary("privacy", "export", "--org", org, "--user", guid('u', 9)); code != 1 || !strings.Contains(stderr, "nothing is stored about user") {
		t.Errorf("export of an unknown user: exit %d %s", code, stderr)
	}

	before := dump(t, db)
	if !strings.Contains(before, "bob@elsewhere.example") {
		t.Fatal("the address is not stored to begin with")
	}
	out, stderr, code = s.binary("privacy", "erase", "--email", "Bob@Elsewhere.example")
	if code != 0 || !strings.Contains(out, "erased bob@elsewhere.example: removed from 1 organization(s)' notification addresses") {
		t.Fatalf("erase: exit %d %s %s", code, out, stderr)
	}
	after := dump(t, db)
	if strings.Contains(strings.ReplaceAll(after, "abob@elsewhere.example", ""), "bob@elsewhere.example") {
		t.Errorf("the database still names the erased address:\n%s", grepLines(after, "bob@elsewhere.example"))
	}
	if !strings.Contains(after, "abob@elsewhere.example") {
		t.Error("erasure removed another address that contains it")
	}
	if show := s.mustLicet("org", "show", "--org", org); strings.Contains(show, " bob@elsewhere.example") {
		t.Errorf("org show after erasure:\n%s", show)
	}
	s.check(org, guid('u', 2))
	if msgs := sk.waitFor(t, 3); len(mailTo(msgs, "bob@elsewhere.example")) != 1 {
		t.Error("the erased address got mail again")
	}
}

// Hostile input on every new entry point: a precise refusal, and not one
// stored byte changes.
func TestPrivacyAndMailPagesRefuseBadInput(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", storetest.NewRunningClock(), append(mailFlags(sk.addr), "--public-url", "http://placeholder")...)
	org := s.newOrg(1, 5, "--notifications=true", "--notification-emails", "bob@elsewhere.example", "--notify-window", "0")
	other := s.newOrg(2, 5)
	c := signIn(t, s, s.followLink(s.invite(org, "alice@customer.example")), "alice@customer.example")
	_, body := form(t, c, s.url+"/admin/tokens", url.Values{"name": {"ci"}})
	adminTok := regexpFind(`lca_[A-Za-z0-9_-]+`, body)
	s.check(org, guid('u', 1))
	msgs := sk.waitFor(t, 2)
	unsub := s.followLink(linkAfter(t, parseMail(t, mailTo(msgs, "bob@elsewhere.example")[0].raw).text, "Unsubscribe: "))
	u, _ := url.Parse(unsub)
	q := u.Query()
	time.Sleep(300 * time.Millisecond) // the mails are marked sent
	db := filepath.Join(s.dir, "licet.db")
	before := dump(t, db)

	op := s.token()
	for _, tc := range []struct {
		name, method, path, token, ctype, body string
		want                                   int
		says                                   string
	}{
		{"erase: no body", "POST", "/v1/privacy/erase", op, "application/json", "", 400, "malformed JSON"},
		{"erase: a number", "POST", "/v1/privacy/erase", op, "application/json", `{"email":42}`, 400, "wrong type"},
		{"erase: an unknown field", "POST", "/v1/privacy/erase", op, "application/json", `{"email":"bob@elsewhere.example","all":true}`, 400, "unknown field"},
		{"erase: not an address", "POST", "/v1/privacy/erase", op, "application/json", `{"email":"bob"}`, 400, "plain e-mail"},
		{"erase: a list", "POST", "/v1/privacy/erase", op, "application/json", `{"email":"bob@elsewhere.example,x@y.example"}`, 400, "plain e-mail"},
		{"erase: a display name", "POST", "/v1/privacy/erase", op, "application/json", `{"email":"Bob <bob@elsewhere.example>"}`, 400, "plain e-mail"},
		{"erase: empty", "POST", "/v1/privacy/erase", op, "application/json", `{"email":""}`, 400, ""},
		{"erase: NUL", "POST", "/v1/privacy/erase", op, "application/json", `{"email":"bob@elsewhere.example\u0000"}`, 400, ""},
		{"erase: too large", "POST", "/v1/privacy/erase", op, "application/json", `{"email":"` + strings.Repeat("a", 70000) + `"}`, 413, ""},
		{"erase: form", "POST", "/v1/privacy/erase", op, "application/x-www-form-urlencoded", "email=bob@elsewhere.example", 415, ""},
		{"erase: no token", "POST", "/v1/privacy/erase", "", "application/json", `{"email":"bob@elsewhere.example"}`, 401, ""},
		{"erase: an administrator's token", "POST", "/v1/privacy/erase", adminTok, "application/json", `{"email":"bob@elsewhere.example"}`, 403, ""},
		{"export: a bad user", "GET", "/v1/orgs/" + org + "/users/nope/export", op, "", "", 400, "not a GUID"},
		{"export: another organization with an administrator's token", "GET", "/v1/orgs/" + other + "/users/" + guid('u', 1) + "/export", adminTok, "", "", 404, ""},
	} {
		code, got := s.op(tc.method, tc.path, tc.token, tc.ctype, tc.body)
		if code != tc.want || !strings.Contains(got, tc.says) {
			t.Errorf("%s: %d %.200s; want %d saying %q", tc.name, code, got, tc.want, tc.says)
		}
	}
	if code, got := s.op("GET", "/v1/orgs/"+org+"/users/"+guid('u', 1)+"/export", adminTok, "", ""); code != 200 || !strings.Contains(got, guid('u', 1)) {
		t.Errorf("an administrator's export of its own user: %d", code)
	}
	for _, tc := range []struct {
		name string
		u    string
		want int
	}{
		{"unsubscribe page: a forged token", strings.Replace(unsub, "t="+q.Get("t"), "t=forged", 1), 403},
		{"unsubscribe page: another address", strings.Replace(unsub, "a=bob%40", "a=eve%40", 1), 403},
		{"unsubscribe page: an organization that never listed the address", strings.Replace(unsub, "o="+org, "o="+other, 1), 400},
		{"unsubscribe page: not a GUID", strings.Replace(unsub, "o="+org, "o=x", 1), 400},
	} {
		if code := getCode(t, tc.u); code != tc.want {
			t.Errorf("%s: %d; want %d", tc.name, code, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"confirm for an organization that never listed the address", url.Values{"a": {q.Get("a")}, "t": {q.Get("t")}, "o": {other}, "action": {"subscribe"}}, 400},
		{"an unknown action", url.Values{"a": {q.Get("a")}, "t": {q.Get("t")}, "o": {org}, "action": {"confirm-all"}}, 400},
		{"a forged token", url.Values{"a": {q.Get("a")}, "t": {"x"}, "o": {org}, "action": {"unsubscribe"}}, 403},
		{"an address too long", url.Values{"a": {strings.Repeat("a", 300) + "@x.example"}, "t": {q.Get("t")}, "o": {org}, "action": {"unsubscribe"}}, 400},
	} {
		if resp, body := form(t, http.DefaultClient, s.url+"/subscriptions", tc.form); resp.StatusCode != tc.want {
			t.Errorf("%s: %d %.200s; want %d", tc.name, resp.StatusCode, body, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"privacy", "erase"}, "--email must be a plain e-mail address"},
		{[]string{"privacy", "erase", "--email", "not-an-address"}, "--email must be a plain e-mail address"},
		{[]string{"privacy", "erase", "--email", "a@x.example,b@x.example"}, "--email must be a plain e-mail address"},
		{[]string{"privacy", "erase", "--email", "a@x.example", "extra"}, `unexpected argument "extra"`},
		{[]string{"privacy", "export", "--org", org}, "--user is required"},
		{[]string{"privacy", "export", "--org", "nope", "--user", guid('u', 1)}, `--org "nope" is not a GUID`},
		{[]string{"privacy", "export", "--org", org, "--user", "'; DROP TABLE users; --"}, "is not a GUID"},
		{[]string{"serve", "--mail-org-hourly", "-1"}, "--mail-org-hourly must be between 0 and 1000000"},
		{[]string{"serve", "--mail-retention", "1m"}, "--mail-retention must be 0 or at least 1h"},
		{[]string{"serve", "--audit-retention", "soon"}, "invalid value"},
	} {
		_, stderr, code := s.binary(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.says) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("licet %s: exit %d %q; want 2 and one line saying %q", strings.Join(tc.args, " "), code, stderr, tc.says)
		}
	}
	if after := dump(t, db); after != before {
		t.Errorf("a refused request changed the database:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// Sent mails are pruned after --mail-retention, the audit log after
// --audit-retention; pending mail stays.
func TestRetentionPrunesMailAndAudit(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	dir := t.TempDir()
	clk := storetest.NewRunningClock()
	s := start(t, dir, clk, mailFlags(sk.addr)...)
	org := s.newOrg(1, 5, "--notifications=true", "--notification-emails", "ops@customer.example", "--notify-window", "0")
	s.check(org, guid('u', 1))
	sk.waitFor(t, 1)
	time.Sleep(300 * time.Millisecond)
	s.stop()
	clk.Add(60 * 24 * time.Hour)
	s = start(t, dir, clk, append(mailFlags(sk.addr), "--audit-retention", "1000h")...)
	if out := s.mustLicet("mail", "list"); !strings.Contains(out, "ops@customer.example") {
		t.Errorf("a mail 60 days old was pruned before the 90 days:\n%s", out)
	}
	if out := s.mustLicet("audit", "--org", org); strings.Contains(out, "organization.create") {
		t.Errorf("audit entries 60 days old outlived --audit-retention 1000h:\n%s", out)
	}
	s.stop()
	clk.Add(31 * 24 * time.Hour)
	s = start(t, dir, clk, mailFlags(sk.addr)...)
	if out := s.mustLicet("mail", "list"); strings.Contains(out, "ops@customer.example") {
		t.Errorf("a sent mail 91 days old is still stored:\n%s", out)
	}
}

// The pages a mail links to, in a real browser: the List-Unsubscribe URL
// opened by a click shows a button; the subscriptions page says where the
// address stands with each organization; the Settings page marks it.
func TestMailPagesInBrowser(t *testing.T) {
	ctx := browser(t)
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", storetest.NewRunningClock(), append(mailFlags(sk.addr), "--public-url", "http://placeholder")...)
	org := s.newOrg(1, 5, "--notifications=true", "--notification-emails", "x@customer.example", "--notify-window", "0")
	s.newOrg(2, 5, "--notifications=false", "--notification-emails", "x@customer.example")
	s.check(org, guid('u', 1))
	msgs := sk.waitFor(t, 1)
	m := parseMail(t, msgs[0].raw)
	for _, want := range []string{">Account details<", ">Mobile User Licenses<", ">User details<", ">Unsubscribe</a>", ">Manage your notification subscriptions</a>"} {
		if !strings.Contains(m.html, want) {
			t.Errorf("the HTML part lacks %q", want)
		}
	}
	unsub := s.followLink(strings.Trim(m.header.Get("List-Unsubscribe"), "<>"))
	text := func(sel string) string { t.Helper(); return browserText(t, ctx, sel) }
	if err := chromedp.Do(ctx, chromedp.Navigate(unsub), chromedp.WaitVisible(chromedp.ID("unsubscribe"))); err != nil {
		t.Fatalf("the List-Unsubscribe URL in a browser: %v", err)
	}
	if st := text(`body`); !strings.Contains(st, "org1") || !strings.Contains(st, "x@customer.example") {
		t.Errorf("unsubscribe page: %s", st)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("unsubscribe")), chromedp.WaitVisible(chromedp.CSS(".flash"))); err != nil {
		t.Fatal(err)
	}
	if f := text(".flash"); f != "Unsubscribed." {
		t.Errorf("after the button: %q", f)
	}
	if st := text(`tr[data-org="` + org + `"] .state`); st != "unsubscribed" {
		t.Errorf("org1: %q", st)
	}
	if st := text(`tr[data-org="` + guid('o', 2) + `"] .state`); st != "subscribed; notifications are off for this organization" {
		t.Errorf("org2 (notifications off): %q", st)
	}

	browserSignIn(t, ctx, s.followLink(s.invite(org, "alice@customer.example")))
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`a[href$="/settings"]`)),
		chromedp.Click(chromedp.CSS(`a[href$="/settings"]`)),
		chromedp.WaitVisible(chromedp.ID("emails")),
	); err != nil {
		t.Fatalf("to the Settings page: %v", err)
	}
	if st := text(`li[data-address="x@customer.example"]`); !strings.Contains(st, "unsubscribed by its owner") {
		t.Errorf("the Settings page marks x as %q", st)
	}
	if st := text(`li[data-address="alice@customer.example"]`); !strings.Contains(st, "(administrator)") || !strings.Contains(st, "gets notifications") {
		t.Errorf("the Settings page marks alice as %q", st)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("emails"), "x@customer.example\nnew@elsewhere.example"),
		chromedp.Submit(chromedp.ID("emails")),
		chromedp.WaitVisible(chromedp.CSS(`li[data-address="new@elsewhere.example"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if st := text(`li[data-address="new@elsewhere.example"]`); !strings.Contains(st, "waiting for confirmation") {
		t.Errorf("a typed-in address shows %q", st)
	}
}
