package mailpage

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/mail"
	"github.com/licet/licet/internal/server/web"
)

const org = "0A000000-0000-0000-0000-000000000001"

func newPages(t *testing.T, readOnly bool) (*fake.MailPageStore, *mail.Links, *fake.Clock, *httptest.Server) {
	t.Helper()
	store := fake.NewMailPageStore()
	store.AddSubscription("ann@customer.example", licet.Subscription{OrgID: org, OrgName: "Customer <&> Co", Subscribed: true,
		State: "subscribed", NotificationsOn: true})
	links := &mail.Links{Base: "https://licet.example.net", Secret: []byte("0123456789abcdef0123456789abcdef")}
	clock := fake.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	p := &Pages{Store: store, Mail: &mail.Dispatcher{Links: links}, Clock: clock, ReadOnly: readOnly,
		Errors: &web.Errors{Logger: slog.New(slog.DiscardHandler)}}
	mux := http.NewServeMux()
	p.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return store, links, clock, srv
}

func get(t *testing.T, method, u string, form url.Values) (int, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "GET" {
		resp, err = http.Get(u)
	} else {
		resp, err = http.PostForm(u, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The subscriptions page answers only a signed link, shows the address's
// organizations (escaped), and unsubscribes by a POST, never by a GET.
func TestSubscriptionsNeedTheSignedLink(t *testing.T) {
	store, links, _, srv := newPages(t, false)
	a := "ann@customer.example"
	page := strings.Replace(links.SubscriptionsURL(a), "https://licet.example.net", srv.URL, 1)
	code, body := get(t, "GET", page, nil)
	if code != 200 || !strings.Contains(body, "Customer &lt;&amp;&gt; Co") || !strings.Contains(body, ">Unsubscribe</button>") {
		t.Fatalf("the page: %d\n%s", code, body)
	}
	if code, _ := get(t, "GET", srv.URL+"/subscriptions?a="+url.QueryEscape(a)+"&t=forged", nil); code != 403 {
		t.Errorf("a forged token: %d; want 403", code)
	}
	other := "bob@customer.example"
	if code, _ := get(t, "GET", srv.URL+"/subscriptions?a="+url.QueryEscape(other)+"&t="+links.SubscriptionsToken(a), nil); code != 403 {
		t.Errorf("another address with ann's token: %d; want 403", code)
	}
	unsub := strings.Replace(links.UnsubscribeURL(org, a), "https://licet.example.net", srv.URL, 1)
	if code, body := get(t, "GET", unsub, nil); code != 200 || !strings.Contains(body, `id="unsubscribe"`) {
		t.Errorf("the unsubscribe page: %d\n%s", code, body)
	}
	if subs, _ := store.Subscriptions(t.Context(), a); !subs[0].Subscribed {
		t.Fatal("a GET unsubscribed")
	}
	form := url.Values{"a": {a}, "t": {links.SubscriptionsToken(a)}, "o": {org}, "action": {"unsubscribe"}}
	if code, body := get(t, "POST", srv.URL+"/subscriptions", form); code != 200 || !strings.Contains(body, "Unsubscribed.") {
		t.Errorf("unsubscribe: %d\n%s", code, body)
	}
	if subs, _ := store.Subscriptions(t.Context(), a); subs[0].Subscribed {
		t.Error("still subscribed")
	}
	form.Set("o", "0B000000-0000-0000-0000-000000000002")
	if code, _ := get(t, "POST", srv.URL+"/subscriptions", form); code != 400 {
		t.Errorf("an organization that never listed the address: %d; want 400", code)
	}
}

// A read-only server shows the pages and changes nothing.
func TestReadOnlyChangesNoSubscription(t *testing.T) {
	_, links, _, srv := newPages(t, true)
	a := "ann@customer.example"
	form := url.Values{"a": {a}, "t": {links.SubscriptionsToken(a)}, "o": {org}, "action": {"unsubscribe"}}
	if code, body := get(t, "POST", srv.URL+"/subscriptions", form); code != 409 || !strings.Contains(body, licet.EREADONLY) {
		t.Errorf("a change on a read-only server: %d; want 409\n%s", code, body)
	}
}

// A mail's web view link expires by the injected clock.
func TestMailViewLinkExpires(t *testing.T) {
	_, links, clock, srv := newPages(t, false)
	view := strings.Replace(links.ViewURL(7, clock.Now().Add(time.Hour)), "https://licet.example.net", srv.URL, 1)
	clock.Add(2 * time.Hour)
	if code, _ := get(t, "GET", view, nil); code != 403 {
		t.Errorf("an expired link: %d; want 403", code)
	}
}
