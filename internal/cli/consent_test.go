package cli_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet/internal/storetest"
)

// mailTo returns the messages addressed to addr.
func mailTo(msgs []received, addr string) []received {
	var out []received
	for _, m := range msgs {
		for _, to := range m.to {
			if to == addr {
				out = append(out, m)
			}
		}
	}
	return out
}

// linkAfter finds the first link in text that follows label.
func linkAfter(t *testing.T, text, label string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, label)
	if !ok {
		t.Fatalf("no %q in:\n%s", label, text)
	}
	return linkRE.FindString(rest)
}

// followLink points a mail link (made for http://placeholder) at the test server.
func (s *server) followLink(link string) string {
	return strings.Replace(link, "http://placeholder", s.url, 1)
}

// settingsForm is the Settings page's form with notifications on.
func settingsForm(emails string, window int) url.Values {
	return url.Values{"notifications": {"on"}, "autoAssign": {"on"}, "emails": {emails}, "temporaryDays": {"14"},
		"freeUnusedDays": {"0"}, "notifyWindow": {strconv.Itoa(window)}}
}

// Reproduces issue 14: an administrator could make the vendor's mail
// server write to any address. A typed-in address now gets one
// confirmation mail and nothing else until it confirms.
func TestTypedInAddressConfirmsBeforeItGetsMail(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", storetest.NewRunningClock(), append(mailFlags(sk.addr), "--public-url", "http://placeholder")...)
	org := s.newOrg(1, 5, "--notifications=true", "--notify-window", "0")
	c := signIn(t, s, s.followLink(s.invite(org, "alice@customer.example")), "alice@customer.example")
	resp, body := form(t, c, s.url+"/admin/orgs/"+org+"/settings", settingsForm("bob@elsewhere.example\nalice@customer.example", 0))
	if resp.StatusCode != 303 {
		t.Fatalf("settings: %d %s", resp.StatusCode, body)
	}
	msgs := sk.waitFor(t, 1)
	if len(msgs) != 1 || msgs[0].to[0] != "bob@elsewhere.example" {
		t.Fatalf("after typing in two addresses (one the administrator's own): %d mails %v; want one confirmation to bob", len(msgs), msgs)
	}
	conf := parseMail(t, msgs[0].raw)
	if !strings.Contains(conf.text, "alice@customer.example added you to licet notifications for org1") ||
		!strings.Contains(conf.header.Get("Subject"), "Confirm") {
		t.Errorf("confirmation mail: %q\n%s", conf.header.Get("Subject"), conf.text)
	}
	_, page := fetch(c, t, s.url+"/admin/orgs/"+org+"/settings")
	if !strings.Contains(page, "bob@elsewhere.example") || !strings.Contains(page, "waiting for confirmation") {
		t.Errorf("the Settings page does not show bob pending:\n%s", page)
	}

	// Before confirming, bob gets no notification; alice (her own address) does.
	s.check(org, guid('u', 1))
	msgs = sk.waitFor(t, 2)
	if n := len(mailTo(msgs, "bob@elsewhere.example")); n != 1 {
		t.Errorf("bob got %d mails before confirming; want only the confirmation", n)
	}
	if n := len(mailTo(msgs, "alice@customer.example")); n != 1 {
		t.Errorf("alice got %d notifications; want 1", n)
	}

	// Bob confirms on the page the mail links to (a GET alone changes nothing:
	// mail scanners open links).
	link := s.followLink(linkAfter(t, conf.text, "Confirm or decline: "))
	page = httpGet(t, link)
	if !strings.Contains(page, "Confirm") || !strings.Contains(page, "Decline") {
		t.Fatalf("confirmation page:\n%s", page)
	}
	u, _ := url.Parse(link)
	resp, body = form(t, http.DefaultClient, s.url+"/subscriptions", url.Values{"a": {u.Query().Get("a")}, "t": {u.Query().Get("t")}, "o": {org}, "action": {"subscribe"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Subscribed.") {
		t.Fatalf("confirming: %d %s", resp.StatusCode, body)
	}
	s.check(org, guid('u', 2))
	msgs = sk.waitFor(t, 4)
	if n := len(mailTo(msgs, "bob@elsewhere.example")); n != 2 {
		t.Errorf("bob got %d mails after confirming; want the confirmation and one notification", n)
	}

	// The operator's addresses need no confirmation.
	s.mustLicet("org", "set", "--org", org, "--notification-emails", "bob@elsewhere.example,carol@vendor.example")
	s.check(org, guid('u', 3))
	msgs = sk.waitFor(t, 7)
	if got := mailTo(msgs, "carol@vendor.example"); len(got) != 1 || strings.Contains(string(got[0].raw), "added you") {
		t.Errorf("carol, set by the operator: %d mails", len(got))
	}
}

// A declined address gets nothing, and typing it in again sends no new
// confirmation.
func TestDeclinedAddressStaysQuiet(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", storetest.NewRunningClock(), append(mailFlags(sk.addr), "--public-url", "http://placeholder")...)
	org := s.newOrg(1, 5, "--notifications=true", "--notify-window", "0")
	c := signIn(t, s, s.followLink(s.invite(org, "alice@customer.example")), "alice@customer.example")
	form(t, c, s.url+"/admin/orgs/"+org+"/settings", settingsForm("bob@elsewhere.example", 0))
	msgs := sk.waitFor(t, 1)
	if len(msgs) != 1 {
		t.Fatalf("%d confirmation mails", len(msgs))
	}
	u, _ := url.Parse(s.followLink(linkAfter(t, parseMail(t, msgs[0].raw).text, "Confirm or decline: ")))
	resp, body := form(t, http.DefaultClient, s.url+"/subscriptions", url.Values{"a": {u.Query().Get("a")}, "t": {u.Query().Get("t")}, "o": {org}, "action": {"unsubscribe"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Unsubscribed.") {
		t.Fatalf("declining: %d %s", resp.StatusCode, body)
	}
	form(t, c, s.url+"/admin/orgs/"+org+"/settings", settingsForm("", 0))
	form(t, c, s.url+"/admin/orgs/"+org+"/settings", settingsForm("bob@elsewhere.example", 0))
	s.check(org, guid('u', 1))
	msgs = sk.waitFor(t, 3) // alice's notification only
	if n := len(mailTo(msgs, "bob@elsewhere.example")); n != 1 {
		t.Errorf("bob declined, yet got %d mails", n)
	}
	if _, page := fetch(c, t, s.url+"/admin/orgs/"+org+"/settings"); !strings.Contains(page, "declined") {
		t.Errorf("the Settings page does not say bob declined:\n%s", page)
	}
}

// The per-organization hourly cap: 10 typed-in addresses get 3 mails in
// the first hour, the rest the next.
func TestHourlyCapPerOrganization(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	clk := storetest.NewRunningClock()
	s := start(t, "", clk, append(mailFlags(sk.addr), "--mail-org-hourly", "3")...)
	org := s.newOrg(1, 5, "--notifications=true", "--notify-window", "0")
	c := signIn(t, s, s.followLink(s.invite(org, "alice@customer.example")), "alice@customer.example")
	var list []string
	for i := range 10 {
		list = append(list, "victim"+strconv.Itoa(i)+"@elsewhere.example")
	}
	form(t, c, s.url+"/admin/orgs/"+org+"/settings", settingsForm(strings.Join(list, "\n"), 0))
	if msgs := sk.waitFor(t, 4); len(msgs) != 3 {
		t.Fatalf("%d mails in the first hour; want the cap of 3", len(msgs))
	}
	clk.Add(61 * time.Minute)
	if msgs := sk.waitFor(t, 6); len(msgs) != 6 {
		t.Errorf("%d mails after the second hour began; want 6", len(msgs))
	}
}

// Reproduces issue 15: the first mail waited a whole window, and an address
// that unsubscribed still got the mail queued before.
func TestFirstMailAtOnceDigestLaterUnsubscribeCountsAtSend(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	clk := storetest.NewRunningClock()
	s := start(t, "", clk, append(mailFlags(sk.addr), "--public-url", "http://placeholder")...)
	org := s.newOrg(1, 50, "--notifications=true", "--notification-emails", "x@customer.example,y@customer.example", "--notify-window", "10")
	s.check(org, guid('u', 1))
	msgs := sk.waitFor(t, 2)
	if len(msgs) != 2 {
		t.Fatalf("%d mails after the first assignment of a quiet period; want one per address at once", len(msgs))
	}
	for i := 2; i <= 4; i++ {
		s.check(org, guid('u', i))
	}
	if msgs := sk.waitFor(t, 3); len(msgs) != 2 {
		t.Fatalf("%d mails: later assignments inside the window went at once", len(msgs))
	}
	// x unsubscribes with one click while the digest waits.
	x := mailTo(msgs, "x@customer.example")[0]
	oneClick := s.followLink(strings.Trim(parseMail(t, x.raw).header.Get("List-Unsubscribe"), "<>"))
	resp, err := http.Post(oneClick, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	clk.Add(11 * time.Minute)
	msgs = sk.waitFor(t, 4)
	if n := len(mailTo(msgs, "x@customer.example")); n != 1 {
		t.Errorf("x unsubscribed, yet got %d mails (the digest queued before)", n)
	}
	y := mailTo(msgs, "y@customer.example")
	if len(y) != 2 {
		t.Fatalf("y got %d mails; want the first and one digest", len(y))
	}
	d := parseMail(t, y[1].raw)
	if d.header.Get("Subject") != "3 licenses assigned in org1" || strings.Contains(d.text, guid('u', 1)) || !strings.Contains(d.text, guid('u', 4)) {
		t.Errorf("digest %q:\n%s\n%s", d.header.Get("Subject"), d.text, s.mustLicet("mail", "list", "--json"))
	}
	if out := s.mustLicet("mail", "list"); strings.Count(out, "x@customer.example") != 1 {
		t.Errorf("the dropped mail is still listed:\n%s", out)
	}
}
