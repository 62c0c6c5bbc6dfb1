// Package mailpage serves the pages notification mails link to, for
// people who hold no account: a mail's web view, and the subscriptions of
// an address (confirm, decline, unsubscribe, RFC 8058's one-click). Every
// link is signed (package mail's Links); nothing here needs a session.
package mailpage

import (
	"context"
	"html/template"
	"net/http"
	"strconv"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/mail"
	"github.com/licet/licet/internal/server/web"
)

var subscriptionsPage = template.Must(template.New("subs").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Manage your notification subscriptions</title></head>
<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: 640px; margin: 0 auto; padding: 16px">
<h1 style="font-size: 20px">Manage your notification subscriptions</h1>
<p>License assignment notifications for <strong>{{.Address}}</strong>.</p>
{{if .Done}}<p role="status" class="flash" style="background: #e8f5e9; padding: 8px">{{.Done}}</p>{{end}}
{{if .Subs}}<table cellpadding="6" style="border-collapse: collapse" aria-label="Subscriptions">
<tr><th align="left">Organization</th><th align="left">Notifications</th><th></th></tr>
{{range .Subs}}<tr data-org="{{.OrgID}}"><td>{{.OrgName}} <small><code>{{.OrgID}}</code></small></td>
<td class="state">{{if eq .State "pending"}}{{.AddedBy}} added you: confirm or decline{{else if eq .State "declined"}}declined{{else if .Subscribed}}subscribed{{else}}unsubscribed{{end}}{{if not .NotificationsOn}}; notifications are off for this organization{{end}}</td>
<td><form method="post" action="/subscriptions">
<input type="hidden" name="a" value="{{$.Address}}"><input type="hidden" name="t" value="{{$.Token}}">
<input type="hidden" name="o" value="{{.OrgID}}">
{{if eq .State "pending"}}<button name="action" value="subscribe">Confirm</button> <button name="action" value="unsubscribe">Decline</button>{{else if .Subscribed}}<button name="action" value="unsubscribe">Unsubscribe</button>{{else}}<button name="action" value="subscribe">Subscribe</button>{{end}}
</form></td></tr>
{{end}}</table>{{else}}<p>No organization sends notifications to this address.</p>{{end}}
</body></html>`))

// unsubscribePage is what a click on the List-Unsubscribe link (a GET)
// shows: a button, because mail scanners open links and must not
// unsubscribe anyone. The button posts to the same URL, as RFC 8058's
// one-click does.
var unsubscribePage = template.Must(template.New("unsub").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Unsubscribe</title></head>
<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: 640px; margin: 0 auto; padding: 16px">
<h1 style="font-size: 20px">Unsubscribe</h1>
<p>Stop license assignment notifications of <strong>{{.OrgName}}</strong> to <strong>{{.Address}}</strong>?</p>
<form method="post"><button id="unsubscribe" type="submit">Unsubscribe</button></form>
<p><a href="{{.Manage}}">Manage your notification subscriptions</a></p>
</body></html>`))

// Store is what the pages read and change.
type Store interface {
	MailByID(ctx context.Context, id int64) (*licet.Mail, error)
	Subscriptions(ctx context.Context, address string) ([]licet.Subscription, error)
	SetSubscription(ctx context.Context, orgID, address string, subscribed bool) error
}

// Pages is the mail pages' handlers.
type Pages struct {
	Store  Store
	Mail   *mail.Dispatcher // nil without notifications: every link is then invalid
	Clock  licet.Clock
	Errors *web.Errors
	// ReadOnly refuses every change (a backup server).
	ReadOnly bool
}

// subscriptionsData is what the subscriptions page shows.
type subscriptionsData struct {
	Address, Token string
	Subs           []licet.Subscription
	Done           string // what was just done
}

// unsubscribeData is what the unsubscribe page shows.
type unsubscribeData struct {
	Address, OrgName string
	Manage           template.URL
}

// Routes registers the pages on mux.
func (s *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /mail/{id}", s.mailView)
	mux.HandleFunc("GET /subscriptions", s.subscriptions)
	mux.HandleFunc("POST /subscriptions", s.changeSubscription)
	mux.HandleFunc("GET /subscriptions/unsubscribe", s.unsubscribePage)
	mux.HandleFunc("POST /subscriptions/unsubscribe", s.oneClickUnsubscribe)
}

func (s *Pages) mailView(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || s.Mail == nil || !s.Mail.Links.CheckView(id, r.URL.Query().Get("e"), r.URL.Query().Get("t"), s.Clock.Now()) {
		http.Error(w, "This link is not valid or has expired.", http.StatusForbidden)
		return
	}
	m, err := s.Store.MailByID(r.Context(), id)
	var page string
	if err == nil {
		page, err = s.Mail.WebView(r.Context(), m)
	}
	if err != nil {
		s.Errors.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Write([]byte(page))
}

// subscriber checks the signed address of a subscriptions request.
func (s *Pages) subscriber(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	if err := web.ParseForm(r); err != nil || len(r.Form.Get("a")) > licet.MaxEmailLen {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return "", "", false
	}
	a, t := r.Form.Get("a"), r.Form.Get("t")
	if s.Mail == nil || a == "" || !s.Mail.Links.CheckSubscriptions(a, t) {
		http.Error(w, "This link is not valid.", http.StatusForbidden)
		return "", "", false
	}
	return a, t, true
}

func (s *Pages) renderSubscriptions(w http.ResponseWriter, r *http.Request, address, token, done string) {
	subs, err := s.Store.Subscriptions(r.Context(), address)
	if err != nil {
		s.Errors.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	subscriptionsPage.Execute(w, subscriptionsData{Address: address, Token: token, Subs: subs, Done: done})
}

func (s *Pages) subscriptions(w http.ResponseWriter, r *http.Request) {
	if a, t, ok := s.subscriber(w, r); ok {
		s.renderSubscriptions(w, r, a, t, "")
	}
}

// known returns the address's standing with an organization, nil when the
// organization never listed it: nobody subscribes an address to an
// organization that did not.
func (s *Pages) known(r *http.Request, address, orgID string) *licet.Subscription {
	subs, err := s.Store.Subscriptions(r.Context(), address)
	if err != nil {
		return nil
	}
	for _, sub := range subs {
		if sub.OrgID == orgID {
			return &sub
		}
	}
	return nil
}

func (s *Pages) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	a, _, ok := s.subscriber(w, r)
	if !ok {
		return
	}
	org, valid := licet.ParseGUID(r.URL.Query().Get("o"))
	var sub *licet.Subscription
	if valid {
		sub = s.known(r, a, org)
	}
	if sub == nil {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	unsubscribePage.Execute(w, unsubscribeData{Address: a, OrgName: sub.OrgName, Manage: template.URL(s.Mail.Links.SubscriptionsURL(a))})
}

func (s *Pages) changeSubscription(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	a, t, ok := s.subscriber(w, r)
	if !ok {
		return
	}
	org, valid := licet.ParseGUID(r.Form.Get("o"))
	action := r.Form.Get("action")
	if !valid || (action != "subscribe" && action != "unsubscribe") || s.known(r, a, org) == nil {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	if err := web.Writable(s.ReadOnly); err != nil {
		s.Errors.Write(w, r, err)
		return
	}
	if err := s.Store.SetSubscription(r.Context(), org, a, action == "subscribe"); err != nil {
		s.Errors.Write(w, r, err)
		return
	}
	s.renderSubscriptions(w, r, a, t, map[string]string{"subscribe": "Subscribed.", "unsubscribe": "Unsubscribed."}[action])
}

// oneClickUnsubscribe is RFC 8058's POST from a mail client.
func (s *Pages) oneClickUnsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	a, t, ok := s.subscriber(w, r)
	if !ok {
		return
	}
	org, valid := licet.ParseGUID(r.URL.Query().Get("o"))
	if !valid || s.known(r, a, org) == nil {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	if err := web.Writable(s.ReadOnly); err != nil {
		s.Errors.Write(w, r, err)
		return
	}
	if err := s.Store.SetSubscription(r.Context(), org, a, false); err != nil {
		s.Errors.Write(w, r, err)
		return
	}
	s.renderSubscriptions(w, r, a, t, "Unsubscribed.")
}
