package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/mail"
	gomail "github.com/wneessen/go-mail"
)

var _ mail.Store = (*fake.MailStore)(nil)

const orgID = "4F767AFF-B33F-437C-A7CB-00249948C82B"

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// outbox records what a dispatcher sends; err, when set, fails each send.
type outbox struct {
	mu   sync.Mutex
	sent []*gomail.Msg
	err  error
}

func (o *outbox) Send(_ context.Context, m *gomail.Msg) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.sent = append(o.sent, m)
	return nil
}

type env struct {
	store *fake.MailStore
	clock *fake.Clock
	out   *outbox
	d     *mail.Dispatcher
}

// newEnv makes a dispatcher over a fake store holding Acme, which sends
// notifications to alice (subscribed) and has carol pending.
func newEnv(t *testing.T) *env {
	e := &env{clock: fake.NewClock(t0), out: &outbox{}}
	e.store = fake.NewMailStore(e.clock)
	settings := licet.DefaultSettings()
	settings.Notifications = true
	e.store.PutOrg(licet.Organization{ID: orgID, Name: "Acme", URL: "https://acme.example", Settings: settings})
	e.store.AddPool(licet.Pool{OrgID: orgID, LicenseType: "Standard", Seats: 5, From: t0.Add(-time.Hour)}, map[string]int{"Standard": 2})
	e.store.SetRecipient(orgID, licet.Recipient{Address: "alice@acme.example", Listed: true, State: licet.SubSubscribed}, "")
	e.store.SetRecipient(orgID, licet.Recipient{Address: "carol@acme.example", Listed: true, State: licet.SubPending}, "bob@acme.example")
	e.d = &mail.Dispatcher{Store: e.store, Sender: e.out, Links: &mail.Links{Base: "https://licet.example.com", Secret: []byte("secret")},
		From: "licet@vendor.example", Host: "licet.example.com", Clock: e.clock, Logger: slog.New(slog.DiscardHandler),
		FirstRetry: time.Minute, MaxBackoff: time.Hour, MaxAttempts: 3}
	return e
}

// parsed is a rendered message read back as a mail client reads it.
type parsed struct {
	header     netmail.Header
	text, html string
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
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
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	return p
}

func render(t *testing.T, m *gomail.Msg) parsed {
	t.Helper()
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return parse(t, b.Bytes())
}

// An assignment mail names the organization, its seats, the users by ID
// only, and carries working view, subscriptions and one-click
// unsubscribe links; it is marked sent.
func TestAssignmentMailIsComposedAndMarkedSent(t *testing.T) {
	e := newEnv(t)
	id := e.store.Queue(licet.Mail{OrgID: orgID, Address: "Alice@acme.example", Kind: licet.MailAssignment,
		Events: []licet.MailEvent{{UserID: "661BAC34-1128-40B1-9653-00B9F54158CD", LicenseType: "Standard", At: t0},
			{UserID: "7A1C2E4B-0D3F-4E5A-8B6C-9D0E1F2A3B4C", LicenseType: "Standard", At: t0, ReclaimedFrom: "8B2D3F5C-1E4A-4F6B-9C7D-0E1F2A3B4C5D"}}})
	if n := e.d.Once(context.Background()); n != 1 {
		t.Fatalf("tried %d mails; want 1", n)
	}
	if m := e.store.Mail(id); m.Status != "sent" || m.Attempts != 1 || !m.SentAt.Equal(t0) {
		t.Errorf("stored mail %+v; want sent", m)
	}
	if len(e.out.sent) != 1 {
		t.Fatalf("sent %d", len(e.out.sent))
	}
	p := render(t, e.out.sent[0])
	if got := p.header.Get("Subject"); got != "2 licenses assigned in Acme" {
		t.Errorf("subject %q", got)
	}
	if got := p.header.Get("To"); got != "<alice@acme.example>" {
		t.Errorf("to %q", got)
	}
	if got := p.header.Get("Message-Id"); got != "<licet-1-4f767aff-b33f-437c-a7cb-00249948c82b@licet.example.com>" {
		t.Errorf("message ID %q", got)
	}
	if p.header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || p.header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers %v", p.header)
	}
	for _, want := range []string{"2 licenses were assigned automatically in Acme", "Standard: 5 total, 2 used, 3 available",
		"user 661BAC34-1128-40B1-9653-00B9F54158CD  Standard", "(freed from 8B2D3F5C-1E4A-4F6B-9C7D-0E1F2A3B4C5D, unused)",
		"View this message in a browser: https://licet.example.com/mail/1?"} {
		if !strings.Contains(p.text, want) {
			t.Errorf("the text lacks %q:\n%s", want, p.text)
		}
	}
	if !strings.Contains(p.html, "Acme") || !strings.Contains(p.html, "661BAC34-1128-40B1-9653-00B9F54158CD") {
		t.Errorf("the HTML part lacks the organization or the user:\n%s", p.html)
	}
	links := e.d.Links
	unsub := strings.Trim(p.header.Get("List-Unsubscribe"), "<>")
	u, err := url.Parse(unsub)
	if err != nil || u.Query().Get("o") != orgID || !links.CheckSubscriptions(u.Query().Get("a"), u.Query().Get("t")) {
		t.Errorf("the unsubscribe link %q does not authorize its address", unsub)
	}
	view := p.text[strings.Index(p.text, "https://licet.example.com/mail/"):]
	view = view[:strings.IndexAny(view, "\r\n")]
	if v, err := url.Parse(view); err != nil || !links.CheckView(1, v.Query().Get("e"), v.Query().Get("t"), t0.Add(89*24*time.Hour)) ||
		links.CheckView(1, v.Query().Get("e"), v.Query().Get("t"), t0.Add(91*24*time.Hour)) {
		t.Errorf("the view link %q is not valid for 90 days", view)
	}
}

// A confirmation asks the pending address, names who typed it in, and
// has no web view.
func TestConfirmationNamesWhoAddedTheAddress(t *testing.T) {
	e := newEnv(t)
	e.store.Queue(licet.Mail{OrgID: orgID, Address: "carol@acme.example", Kind: licet.MailConfirm})
	e.d.Once(context.Background())
	if len(e.out.sent) != 1 {
		t.Fatalf("sent %d", len(e.out.sent))
	}
	p := render(t, e.out.sent[0])
	if got := p.header.Get("Subject"); got != "Confirm licet notifications for Acme" {
		t.Errorf("subject %q", got)
	}
	if !strings.HasPrefix(p.text, "bob@acme.example added you to licet notifications for Acme") || strings.Contains(p.text, "/mail/") {
		t.Errorf("text:\n%s", p.text)
	}
}

// Mails no longer wanted are dropped unsent: an address that unsubscribed,
// an organization that switched notifications off. An activity alert goes
// whether or not notifications are on.
func TestUnwantedMailIsDroppedUnsent(t *testing.T) {
	e := newEnv(t)
	e.store.SetRecipient(orgID, licet.Recipient{Address: "dave@acme.example", Listed: true, State: licet.SubUnsubscribed}, "")
	gone := e.store.Queue(licet.Mail{OrgID: orgID, Address: "dave@acme.example", Kind: licet.MailAssignment, Events: []licet.MailEvent{{UserID: "u", At: t0}}})
	e.d.Once(context.Background())
	if len(e.out.sent) != 0 || e.store.Mail(gone) != nil {
		t.Errorf("a mail to an address that unsubscribed: sent %d, kept %v", len(e.out.sent), e.store.Mail(gone))
	}
	o, _ := e.store.Organization(context.Background(), orgID)
	o.Settings.Notifications = false
	e.store.PutOrg(*o)
	e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment, Events: []licet.MailEvent{{UserID: "u", At: t0}}})
	alert := e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailActivity,
		Activity: &licet.ActivityReport{Minute: t0, Refused: 500, Admitted: 3, Threshold: 100, Sources: []licet.SourceCount{{Address: "2001:db8::/64", Checks: 480}}}})
	e.d.Once(context.Background())
	if len(e.out.sent) != 1 || e.store.Mail(alert).Status != "sent" {
		t.Fatalf("with notifications off: sent %d; want only the alert", len(e.out.sent))
	}
	p := render(t, e.out.sent[0])
	if p.header.Get("Subject") != "Unusual license activity in Acme" || !strings.Contains(p.text, "2001:db8::/64") {
		t.Errorf("alert %q:\n%s", p.header.Get("Subject"), p.text)
	}
}

// A failed send is retried with a growing backoff and given up after
// MaxAttempts; the store keeps the reason.
func TestFailedSendsBackOffThenGiveUp(t *testing.T) {
	e := newEnv(t)
	e.out.err = errors.New("connection refused")
	id := e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment, Events: []licet.MailEvent{{UserID: "u", At: t0}}})
	for attempt, backoff := range []time.Duration{time.Minute, 2 * time.Minute} {
		e.d.Once(context.Background())
		m := e.store.Mail(id)
		due := m.DueAt.Sub(e.clock.Now())
		if m.Status != "pending" || m.Attempts != attempt+1 || due < backoff || due > backoff+backoff/10 || m.LastError != "connection refused" {
			t.Fatalf("after attempt %d: %+v (due in %s); want pending, due in %s plus at most 10 %%", attempt+1, m, due, backoff)
		}
		if e.d.Once(context.Background()) != 0 {
			t.Fatal("a mail was claimed again before it was due")
		}
		e.clock.Set(m.DueAt)
	}
	e.d.Once(context.Background())
	if m := e.store.Mail(id); m.Status != "failed" || m.Attempts != 3 {
		t.Errorf("after the last attempt: %+v; want failed", m)
	}
}

// The hourly cap puts an organization's further mails off until the
// oldest sent leaves the hour.
func TestPerOrgHourPutsMailsOff(t *testing.T) {
	e := newEnv(t)
	e.d.PerOrgHour = 1
	ev := []licet.MailEvent{{UserID: "u", At: t0}}
	first := e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment, Events: ev})
	second := e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment, Events: ev})
	e.d.Once(context.Background())
	// Claimed together: the second waits a minute, as the first is in flight.
	if e.store.Mail(first).Status != "sent" || e.store.Mail(second).Status != "pending" || !e.store.Mail(second).DueAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("first %+v, second %+v", e.store.Mail(first), e.store.Mail(second))
	}
	e.clock.Add(time.Minute)
	e.d.Once(context.Background())
	if m := e.store.Mail(second); m.Status != "pending" || !m.DueAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("a minute later: %+v; want due when the first leaves the hour", m)
	}
	e.clock.Set(t0.Add(time.Hour))
	e.d.Once(context.Background())
	if e.store.Mail(second).Status != "sent" {
		t.Errorf("an hour later: %+v", e.store.Mail(second))
	}
}

// The web view renders the HTML part as of now.
func TestWebView(t *testing.T) {
	e := newEnv(t)
	html, err := e.d.WebView(context.Background(), &licet.Mail{ID: 7, OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment,
		Events: []licet.MailEvent{{UserID: "661BAC34-1128-40B1-9653-00B9F54158CD", LicenseType: "Standard", At: t0}}})
	if err != nil || !strings.Contains(html, "661BAC34-1128-40B1-9653-00B9F54158CD") || !strings.Contains(html, "<html") {
		t.Errorf("web view (%v):\n%s", err, html)
	}
	if _, err := e.d.WebView(context.Background(), &licet.Mail{OrgID: "nope", Kind: licet.MailAssignment}); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("an unknown organization: %v", err)
	}
}

// The links are bound to what they name: another mail, another address or
// a changed expiry fails.
func TestLinksCannotBeTurned(t *testing.T) {
	l := &mail.Links{Base: "https://licet.example.com", Secret: []byte("secret")}
	exp := t0.Add(time.Hour)
	v, _ := url.Parse(l.ViewURL(5, exp))
	e, tok := v.Query().Get("e"), v.Query().Get("t")
	if !l.CheckView(5, e, tok, t0) || l.CheckView(6, e, tok, t0) || l.CheckView(5, e+"0", tok, t0) || l.CheckView(5, e, tok, exp) {
		t.Error("a view link is not bound to its mail and expiry")
	}
	if (&mail.Links{Secret: []byte("other")}).CheckView(5, e, tok, t0) {
		t.Error("a view link holds under another secret")
	}
	tok = l.SubscriptionsToken("Alice@Acme.example")
	if !l.CheckSubscriptions("alice@acme.example", tok) || l.CheckSubscriptions("bob@acme.example", tok) {
		t.Error("a subscriptions token is not bound to its address (case aside)")
	}
	s, _ := url.Parse(l.SubscriptionsURL("a+b@acme.example"))
	if s.Query().Get("a") != "a+b@acme.example" || !l.CheckSubscriptions(s.Query().Get("a"), s.Query().Get("t")) {
		t.Errorf("subscriptions URL %s", s)
	}
}

// Bad --smtp-url values are refused before anything connects.
func TestNewSMTPRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "http://mail.example", "smtp://", "smtp://mail.example:port", "mail.example:25"} {
		if _, err := mail.NewSMTP(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	for _, u := range []string{"smtp://mail.example", "smtps://user:pass@mail.example:465", "smtp://mail.example:2525"} {
		if _, err := mail.NewSMTP(u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
}

// Through a real SMTP server: a mail is delivered as rendered; a
// permanent refusal (550) gives the mail up at once.
func TestSMTPDeliveryAndPermanentRefusal(t *testing.T) {
	var mu sync.Mutex
	var got [][]byte
	refuse := false
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{data: func(b []byte) error {
			mu.Lock()
			defer mu.Unlock()
			if refuse {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
			}
			got = append(got, b)
			return nil
		}}, nil
	}))
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	sender, err := mail.NewSMTP("smtp://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.d.Sender = sender
	ok := e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment, Events: []licet.MailEvent{{UserID: "u1", LicenseType: "Standard", At: t0}}})
	e.d.Once(context.Background())
	mu.Lock()
	if len(got) != 1 || e.store.Mail(ok).Status != "sent" {
		t.Fatalf("delivered %d, stored %+v", len(got), e.store.Mail(ok))
	}
	p := parse(t, got[0])
	refuse = true
	mu.Unlock()
	if p.header.Get("Subject") != "License assigned in Acme" || !strings.Contains(p.text, "user u1  Standard") {
		t.Errorf("delivered %q:\n%s", p.header.Get("Subject"), p.text)
	}
	bad := e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment, Events: []licet.MailEvent{{UserID: "u2", At: t0}}})
	e.d.Once(context.Background())
	if m := e.store.Mail(bad); m.Status != "failed" || m.Attempts != 1 || !strings.Contains(m.LastError, "550") {
		t.Errorf("after a 550: %+v; want given up at once", m)
	}
}

type session struct{ data func([]byte) error }

func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Data(r io.Reader) error               { b, _ := io.ReadAll(r); return s.data(b) }

// Run sends what is due every Every, until its context ends.
func TestRunSendsUntilStopped(t *testing.T) {
	e := newEnv(t)
	e.d.Every = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.d.Run(ctx); close(done) }()
	id := e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment, Events: []licet.MailEvent{{UserID: "u", At: t0}}})
	for deadline := time.Now().Add(5 * time.Second); e.store.Mail(id).Status != "sent"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the mail was not sent")
		}
	}
	cancel()
	<-done
	later := e.store.Queue(licet.Mail{OrgID: orgID, Address: "alice@acme.example", Kind: licet.MailAssignment, Events: []licet.MailEvent{{UserID: "v", At: t0}}})
	time.Sleep(50 * time.Millisecond)
	if e.store.Mail(later).Status != "pending" {
		t.Error("a stopped dispatcher sent")
	}
}
