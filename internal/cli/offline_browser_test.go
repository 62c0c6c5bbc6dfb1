package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An administrator, in Chromium, configures the organization's backend on
// the Offline page, tests it, presses Update, and sees what changed since.
func TestOfflinePageInBrowser(t *testing.T) {
	ctx := browser(t)
	s := start(t, "", nil, "--rate-device", "0", "--offline-allow-private")
	org := s.newOrg(1, 10, "--offline=true")
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
	s.check(org, guid('u', 2)) // assigned automatically
	dav := newDAV(t)
	dav.fs.Mkdir(context.Background(), "/crm", 0o755)
	file := dav.URL + "/crm/licet-offline.lic"
	link := s.invite(org, "alice@customer.example")
	attr := func(sel, name string) string {
		t.Helper()
		r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		if err != nil {
			t.Fatalf("%s[%s]: %v", sel, name, err)
		}
		return r.Value
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("set the password and log in",
		chromedp.Navigate(link),
		chromedp.SendKeys(chromedp.ID("password"), adminPW),
		chromedp.SendKeys(chromedp.ID("confirm"), adminPW),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("password"), adminPW),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(`table[aria-label="Mobile users"]`)),
		chromedp.Click(chromedp.CSS(`a[href$="/offline"]`)),
		chromedp.WaitVisible(chromedp.ID("changes")),
	)
	if n := attr("#changes", "data-licensed"); n != "2" {
		t.Errorf("before the first Update the page counts %s licensed users; want 2 (one assigned by hand, one automatically)", n)
	}
	do("configure the backend",
		chromedp.SendKeys(chromedp.ID("backendUrl"), file),
		chromedp.SendKeys(chromedp.ID("location"), file),
		chromedp.SendKeys(chromedp.ID("username"), "crm"),
		chromedp.SendKeys(chromedp.ID("password"), "s3cret"),
		chromedp.Click(chromedp.ID("save-backend")),
	)
	waitFlash(t, ctx, "Backend saved.")
	if v := attr("#password", "value"); v != "" {
		t.Errorf("the password field shows %q after saving; credentials are write-only", v)
	}
	do("test the backend", chromedp.Click(chromedp.ID("test-backend")))
	waitFlash(t, ctx, "Backend test passed")
	for _, step := range []string{"upload", "read", "verify"} {
		if r := text(`tr[data-step="` + step + `"] .result`); r != "ok" {
			t.Errorf("test step %s: %q", step, r)
		}
	}
	do("Update", chromedp.Click(chromedp.ID("update")))
	waitFlash(t, ctx, "Offline license 1 issued with 2 users.")
	if dav.file(t, "/crm/licet-offline.lic") == "" {
		t.Error("Update saved nothing to the backend")
	}
	if n := attr("#changes", "data-licensed"); n != "0" {
		t.Errorf("right after Update: %s licensed since; want 0", n)
	}
	// Changes made elsewhere show on the page.
	s.mustLicet("user", "unassign", "--org", org, "--user", guid('u', 1))
	s.check(org, guid('u', 3))
	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("changes")))
	if l, u, d := attr("#changes", "data-licensed"), attr("#changes", "data-unassigned"), attr("#changes", "data-disabled"); l != "1" || u != "1" || d != "0" {
		t.Errorf("changes since the Update: %s licensed, %s unassigned, %s disabled; want 1, 1, 0", l, u, d)
	}
	if c := text("#changes"); !strings.Contains(c, "1 licensed, 1 unassigned, 0 disabled") {
		t.Errorf("the page says: %s", c)
	}
	if body := text("main"); !strings.Contains(body, "users assigned after the last Update are not in the file") {
		t.Error("the page does not say automatically assigned users wait for the next Update")
	}
}
