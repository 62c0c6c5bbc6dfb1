package cli_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

// sink is a real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1
// that keeps what it receives. failTemp answers the next so many DATA
// with 451; failPerm answers every DATA with 550.
type sink struct {
	addr     string
	srv      *smtp.Server
	mu       sync.Mutex
	msgs     []received
	failTemp atomic.Int32
	failPerm atomic.Bool
}

type received struct {
	to  []string
	raw []byte
}

type sinkSession struct {
	s  *sink
	to []string
}

func (x *sinkSession) Reset()                                      { x.to = nil }
func (x *sinkSession) Logout() error                               { return nil }
func (x *sinkSession) Mail(from string, _ *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.s.failPerm.Load() {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	if x.s.failTemp.Add(-1) >= 0 {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, received{to: x.to, raw: b})
	x.s.mu.Unlock()
	return nil
}

// startSink listens on addr ("127.0.0.1:0" for any port).
func startSink(t *testing.T, addr string) *sink {
	s := &sink{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *sink) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// waitFor waits until the sink holds n messages (20 s at most).
func (s *sink) waitFor(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(s.messages()) < n {
		if time.Now().After(deadline) {
			return s.messages()
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // and no more than that
	return s.messages()
}

type parsed struct {
	header     netmail.Header
	text, html string
}

func parseMail(t *testing.T, raw []byte) parsed {
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{header: m.Header}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		var body io.Reader = part
		if part.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(part)
		}
		b, _ := io.ReadAll(body)
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	return p
}

func mailFlags(smtpAddr string) []string {
	return []string{"--smtp-url", "smtp://" + smtpAddr, "--mail-from", "licet@vendor.example",
		"--mail-first-retry", "200ms", "--mail-max-backoff", "1s", "--mail-max-attempts", "4", "--rate-device", "0"}
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

func TestAssignmentMail(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", storetest.NewRunningClock(), append(mailFlags(sk.addr), "--public-url", "http://placeholder")...)
	// The public URL must be where tests can follow the links: restart on
	// a known port is not possible, so links are rewritten to s.url below.
	org := s.newOrg(1, 5, "--notifications=true", "--notification-emails", "a@customer.example,b@customer.example", "--notify-window", "0")
	org2 := s.newOrg(2, 5, "--notifications=true", "--notification-emails", "b@customer.example", "--notify-window", "0")
	user := guid('u', 1)
	if a := s.check(org, user); a.Status != licet.StatusLicensed {
		t.Fatal(a)
	}
	msgs := sk.waitFor(t, 2)
	if len(msgs) != 2 {
		t.Fatalf("%d mails for one assignment to two addresses", len(msgs))
	}
	m := parseMail(t, msgs[0].raw)
	h := m.header
	if h.Get("Subject") != "License assigned in org1" || !strings.Contains(h.Get("From"), "licet@vendor.example") {
		t.Errorf("subject %q from %q", h.Get("Subject"), h.Get("From"))
	}
	if !strings.HasPrefix(h.Get("Message-Id"), "<licet-") || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" ||
		!strings.Contains(h.Get("List-Unsubscribe"), "/subscriptions/unsubscribe?") {
		t.Errorf("headers: %v", h)
	}
	for _, want := range []string{org, "org1", "https://crm.example.net", "Standard: 5 total, 1 used, 4 available", user} {
		if !strings.Contains(m.text, want) {
			t.Errorf("the text part lacks %q\n%s", want, m.text)
		}
	}
	for _, want := range []string{org, "org1", "https://crm.example.net", `<td>Standard</td><td align="right">5</td><td align="right">1</td><td align="right">4</td>`, user} {
		if !strings.Contains(m.html, want) {
			t.Errorf("the HTML part lacks %q\n%s", want, m.html)
		}
	}
	if strings.Contains(m.text, "dev-") {
		t.Error("the mail shows device data; it should name the user by ID only")
	}

	follow := func(link string) string { return strings.Replace(link, "http://placeholder", s.url, 1) }
	links := linkRE.FindAllString(m.text, -1)
	var view string
	for _, l := range links {
		if strings.Contains(l, "/mail/") {
			view = follow(l)
		}
	}
	page := httpGet(t, view)
	if !strings.Contains(page, user) || !strings.Contains(page, "4") {
		t.Errorf("web view:\n%s", page)
	}
	if code := getCode(t, strings.Replace(view, "&t=", "&t=x", 1)); code != 403 {
		t.Errorf("a forged web view token: %d", code)
	}

	// The subscriptions page of the address the mail went to.
	to := msgs[0].to[0]
	subs := follow(linkRE.FindString(strings.SplitN(parseMail(t, msgs[0].raw).text, "Manage your notification subscriptions: ", 2)[1]))
	page = httpGet(t, subs)
	if !strings.Contains(page, "org1") || !strings.Contains(page, "subscribed") {
		t.Errorf("subscriptions page for %s:\n%s", to, page)
	}
	forged := strings.Replace(subs, url.QueryEscape(to), url.QueryEscape("mallory@evil.example"), 1)
	if code := getCode(t, forged); code != 403 {
		t.Errorf("a token turned to another address: %d", code)
	}
	u, _ := url.Parse(subs)
	form := url.Values{"a": {u.Query().Get("a")}, "t": {u.Query().Get("t")}, "o": {org}, "action": {"unsubscribe"}}
	resp, err := http.PostForm(s.url+"/subscriptions", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Unsubscribed.") {
		t.Errorf("unsubscribe button: %d %s", resp.StatusCode, body)
	}

	// One-click (RFC 8058) for the other address, from org1 only.
	other := msgs[1]
	if other.to[0] == to {
		other = msgs[0]
	}
	oneClick := follow(strings.Trim(parseMail(t, other.raw).header.Get("List-Unsubscribe"), "<>"))
	resp, err = http.Post(oneClick, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe: %v %v", err, resp.Status)
	}
	resp.Body.Close()

	// Now org1 mails no one, org2 still mails b.
	s.check(org, guid('u', 2))
	s.check(org2, guid('u', 3))
	msgs = sk.waitFor(t, 3)
	if len(msgs) != 3 || msgs[2].to[0] != "b@customer.example" || !strings.Contains(string(msgs[2].raw), "org2") {
		t.Errorf("after unsubscribing from org1: %d mails, last to %v", len(msgs), msgs[len(msgs)-1].to)
	}
}

func httpGet(t *testing.T, u string) string {
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func getCode(t *testing.T, u string) int {
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestMailRetriesAndGivesUp(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", storetest.NewRunningClock(), mailFlags(sk.addr)...)
	org := s.newOrg(1, 5, "--notifications=true", "--notification-emails", "ops@customer.example", "--notify-window", "0")
	sk.failTemp.Store(2) // 451 twice, then accepted
	s.check(org, guid('u', 1))
	if msgs := sk.waitFor(t, 1); len(msgs) != 1 {
		t.Errorf("after 4xx then 2xx: %d deliveries; want exactly 1\n%s", len(msgs), s.logs)
	}
	sk.failPerm.Store(true)
	s.check(org, guid('u', 2))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.mustLicet("mail", "list", "--status", "failed"), "550") {
		if time.Now().After(deadline) {
			t.Fatalf("a 5xx mail is not listed as failed:\n%s", s.mustLicet("mail", "list"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(sk.messages()); n != 1 {
		t.Errorf("%d deliveries", n)
	}
	if m := metrics(t, s); !strings.Contains(m, "licet_outbox_failed 1") || !strings.Contains(m, "licet_outbox_pending 0") {
		t.Error("the outbox metrics do not show the failed mail")
	}
}

func TestMailWaitsForTheServerAndSurvivesACrash(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nobody listens: the mail server is down
	dir := t.TempDir()
	p := startProcess(t, dir, dir+"/licet.db", mailFlags(addr)...)
	org := p.newOrg(1, 5, "--notifications=true", "--notification-emails", "ops@customer.example", "--notify-window", "0")
	p.check(org, guid('u', 1))
	time.Sleep(700 * time.Millisecond) // a few failed attempts
	p.kill(syscall.SIGKILL)            // killed with the mail queued

	sk := startSink(t, addr) // the mail server comes up
	p2 := startProcess(t, dir, dir+"/licet.db", mailFlags(addr)...)
	_ = p2
	if msgs := sk.waitFor(t, 1); len(msgs) != 1 || !strings.Contains(string(msgs[0].raw), guid('u', 1)) {
		t.Errorf("after the crash and the server coming up: %d mails", len(msgs))
	}
}

func TestBurstCoalescesIntoOneMail(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	clk := storetest.NewRunningClock()
	s := start(t, "", clk, append(mailFlags(sk.addr), "--rate-org", "0")...)
	org := s.newOrg(1, 500, "--notifications=true", "--notification-emails", "ops@customer.example,cto@customer.example", "--notify-window", "10")
	s.check(org, guid('u', 0))
	if first := sk.waitFor(t, 2); len(first) != 2 {
		t.Fatalf("%d mails right after the first assignment of a quiet period; want one per address at once", len(first))
	}
	var wg sync.WaitGroup
	for i := 1; i < 200; i++ {
		wg.Go(func() { s.check(org, guid('u', i)) })
	}
	wg.Wait()
	time.Sleep(1500 * time.Millisecond)
	if n := len(sk.messages()); n != 2 {
		t.Fatalf("%d mails before the window ended", n)
	}
	clk.Add(11 * time.Minute)
	msgs := sk.waitFor(t, 4)
	if len(msgs) != 4 {
		t.Fatalf("%d mails for a burst of 200 within the window; want the first and one digest per address", len(msgs))
	}
	m := parseMail(t, msgs[3].raw)
	if m.header.Get("Subject") != "199 licenses assigned in org1" || strings.Count(m.text, "  user ") != 199 {
		t.Errorf("digest: %q with %d users", m.header.Get("Subject"), strings.Count(m.text, "  user "))
	}
}

func TestAdministratorsGetNotificationsToo(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", storetest.NewRunningClock(), mailFlags(sk.addr)...)
	org := s.newOrg(1, 5, "--notifications=true", "--notification-emails", "it@customer.example", "--notify-window", "0")
	s.invite(org, "boss@customer.example")
	s.check(org, guid('u', 1))
	msgs := sk.waitFor(t, 2)
	var to []string
	for _, m := range msgs {
		to = append(to, m.to...)
	}
	if len(msgs) != 2 || !slices.Contains(to, "boss@customer.example") || !slices.Contains(to, "it@customer.example") {
		t.Errorf("mails went to %v; want the typed address and the administrator", to)
	}
}
