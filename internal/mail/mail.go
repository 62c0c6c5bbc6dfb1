// Package mail sends assignment notifications from the outbox: it claims
// due mails, renders them (text and HTML, the user only by ID), sends them
// over SMTP, and retries with a growing backoff until a bound, so that no
// mail is lost to a crash or a mail server that is down.
package mail

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/licet/licet"
	gomail "github.com/wneessen/go-mail"
)

//go:embed templates
var templates embed.FS

var (
	textT = texttemplate.Must(texttemplate.ParseFS(templates, "templates/*.txt"))
	htmlT = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/*.html"))
)

// Content is what a notification shows.
type Content struct {
	Subject          string
	Org              *licet.Organization
	Seats            []licet.SeatCount
	Events           []licet.MailEvent
	ViewURL          string
	SubscriptionsURL string
	UnsubscribeURL   string
	AddedBy          string                // a confirmation: who typed the address in
	Activity         *licet.ActivityReport // the "unusual license activity" mail
}

// Render makes the text and HTML parts of a mail of a kind.
func Render(kind string, c *Content) (text, html string, err error) {
	name := "" // licet.MailAssignment
	switch kind {
	case licet.MailConfirm:
		name = "confirm-"
	case licet.MailActivity:
		name = "activity-"
	}
	var t, h bytes.Buffer
	if err := textT.ExecuteTemplate(&t, name+"text", c); err != nil {
		return "", "", err
	}
	if err := htmlT.ExecuteTemplate(&h, name+"html", c); err != nil {
		return "", "", err
	}
	return t.String(), h.String(), nil
}

// Subject names the organization and how many licenses were assigned.
func Subject(org *licet.Organization, n int) string {
	if n == 1 {
		return "License assigned in " + org.Name
	}
	return fmt.Sprintf("%d licenses assigned in %s", n, org.Name)
}

// Sender delivers one message.
type Sender interface {
	Send(ctx context.Context, m *gomail.Msg) error
}

// SMTP sends through a server given as smtp://user:pass@host:port (STARTTLS
// when offered) or smtps://… (implicit TLS).
type SMTP struct {
	client *gomail.Client
}

// NewSMTP parses the URL and prepares a client; it does not connect.
func NewSMTP(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("--smtp-url must be smtp://[user:pass@]host[:port] or smtps://…")
	}
	opts := []gomail.Option{gomail.WithTimeout(15 * time.Second), gomail.WithTLSPolicy(gomail.TLSOpportunistic)}
	port := 25
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, gomail.WithSSL())
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, errors.New("--smtp-url: the port is not a number")
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("--smtp-url: %v", err)
	}
	return &SMTP{client: c}, nil
}

// Send delivers one message in its own connection.
func (s *SMTP) Send(ctx context.Context, m *gomail.Msg) error {
	return s.client.DialAndSendWithContext(ctx, m)
}

// Store is what the dispatcher reads and writes: the outbox, and what a
// mail shows. licet.Store satisfies it; so does fake.MailStore.
type Store interface {
	// ClaimMail takes up to n due mails that are still wanted for hold;
	// see licet.MailStore.
	ClaimMail(ctx context.Context, n int, hold time.Duration, perOrgHour int) ([]*licet.Mail, error)
	MailSent(ctx context.Context, id int64) error
	MailFailed(ctx context.Context, id int64, reason string, retryAt time.Time) error // zero retryAt: give up
	Organization(ctx context.Context, id string) (*licet.Organization, error)
	SeatCounts(ctx context.Context, orgID string) ([]licet.SeatCount, error)
	Subscriptions(ctx context.Context, address string) ([]licet.Subscription, error)
}

var _ Store = licet.Store(nil)

// Dispatcher sends the outbox.
type Dispatcher struct {
	Store  Store
	Sender Sender
	Links  *Links
	From   string
	Host   string // for Message-IDs
	Clock  licet.Clock
	Logger *slog.Logger
	// Every is how often the outbox is looked at; MaxAttempts bounds the
	// tries of one mail; FirstRetry is the first backoff, doubled each
	// time up to MaxBackoff.
	Every, FirstRetry, MaxBackoff time.Duration
	MaxAttempts                   int
	// PerOrgHour caps the mails one organization sends in an hour (0: no
	// cap); the rest wait, and assignments meanwhile join them.
	PerOrgHour int
}

// Run sends until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	if d.Every <= 0 {
		d.Every = time.Second
	}
	t := time.NewTicker(d.Every)
	defer t.Stop()
	for {
		for d.Once(ctx) > 0 && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once claims and sends one batch; it returns how many it tried.
func (d *Dispatcher) Once(ctx context.Context) int {
	mails, err := d.Store.ClaimMail(ctx, 20, 2*time.Minute, d.PerOrgHour)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Warn("outbox: cannot claim mail", "err", err)
		}
		return 0
	}
	for _, m := range mails {
		d.send(ctx, m)
	}
	return len(mails)
}

func (d *Dispatcher) send(ctx context.Context, m *licet.Mail) {
	msg, err := d.message(ctx, m)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = d.Sender.Send(sctx, msg)
		cancel()
	}
	if err == nil {
		if err := d.Store.MailSent(context.WithoutCancel(ctx), m.ID); err != nil {
			d.Logger.Error("outbox: mail sent but not marked; it may go twice", "id", m.ID, "err", err)
		}
		d.Logger.Info("mail sent", "id", m.ID, "org", m.OrgID, "kind", m.Kind, "events", len(m.Events))
		return
	}
	retry := d.retryAt(m.Attempts + 1)
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		retry = time.Time{} // the server refused for good
	}
	if m.Attempts+1 >= max(1, d.MaxAttempts) {
		retry = time.Time{}
	}
	reason := err.Error()
	if retry.IsZero() {
		d.Logger.Error("mail given up", "id", m.ID, "org", m.OrgID, "attempts", m.Attempts+1, "err", reason)
	} else {
		d.Logger.Warn("mail not sent; will retry", "id", m.ID, "org", m.OrgID, "attempts", m.Attempts+1, "retry_at", retry, "err", reason)
	}
	if err := d.Store.MailFailed(context.WithoutCancel(ctx), m.ID, reason, retry); err != nil {
		d.Logger.Error("outbox: cannot record a failed attempt", "id", m.ID, "err", err)
	}
}

// retryAt backs off exponentially from FirstRetry to MaxBackoff, with a
// little jitter so that many processes do not retry in step.
func (d *Dispatcher) retryAt(attempt int) time.Time {
	b := d.FirstRetry
	for i := 1; i < attempt && b < d.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.MaxBackoff)
	return d.Clock.Now().Add(b + time.Duration(rand.Int64N(int64(b)/10+1)))
}

// content gathers what a mail shows, as of now (seat counts, who asked).
func (d *Dispatcher) content(ctx context.Context, m *licet.Mail) (*Content, error) {
	org, err := d.Store.Organization(ctx, m.OrgID)
	if err != nil {
		return nil, err
	}
	c := &Content{Org: org, SubscriptionsURL: d.Links.SubscriptionsURL(m.Address), UnsubscribeURL: d.Links.UnsubscribeURL(m.OrgID, m.Address)}
	if m.Kind == licet.MailConfirm {
		subs, err := d.Store.Subscriptions(ctx, m.Address)
		if err != nil {
			return nil, err
		}
		c.AddedBy = "An administrator"
		for _, s := range subs {
			if s.OrgID == m.OrgID && s.AddedBy != "" && s.AddedBy != licet.ActorOperator {
				c.AddedBy = s.AddedBy
			}
		}
		c.Subject = "Confirm licet notifications for " + org.Name
		return c, nil
	}
	if c.Seats, err = d.Store.SeatCounts(ctx, m.OrgID); err != nil {
		return nil, err
	}
	c.Subject, c.Events = Subject(org, len(m.Events)), m.Events
	if m.Kind == licet.MailActivity {
		c.Subject, c.Activity = "Unusual license activity in "+org.Name, m.Activity
	}
	return c, nil
}

// message renders a mail at send time.
func (d *Dispatcher) message(ctx context.Context, m *licet.Mail) (*gomail.Msg, error) {
	c, err := d.content(ctx, m)
	if err != nil {
		return nil, err
	}
	if m.Kind != licet.MailConfirm {
		c.ViewURL = d.Links.ViewURL(m.ID, d.Clock.Now().Add(90*24*time.Hour))
	}
	text, html, err := Render(m.Kind, c)
	if err != nil {
		return nil, err
	}
	msg := gomail.NewMsg()
	if err := msg.From(d.From); err != nil {
		return nil, fmt.Errorf("--mail-from: %v", err)
	}
	if err := msg.To(m.Address); err != nil {
		return nil, err
	}
	msg.Subject(c.Subject)
	msg.SetMessageIDWithValue(fmt.Sprintf("licet-%d-%s@%s", m.ID, strings.ToLower(m.OrgID), d.Host))
	msg.SetDateWithValue(d.Clock.Now())
	// On a confirmation, unsubscribing declines.
	msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+c.UnsubscribeURL+">")
	msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}

// WebView renders a mail as the page its "view in a browser" link opens.
func (d *Dispatcher) WebView(ctx context.Context, m *licet.Mail) (string, error) {
	c, err := d.content(ctx, m)
	if err != nil {
		return "", err
	}
	_, html, err := Render(m.Kind, c)
	return html, err
}
