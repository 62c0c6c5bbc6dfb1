package mail

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Links makes and checks the signed links in mails: the web view of one
// mail (expiring) and an address's subscriptions page (for that address
// only). A token is an HMAC-SHA256 under the installation's secret, so it
// cannot be forged or turned to another mail or address.
type Links struct {
	Base   string // the server's public URL
	Secret []byte
}

func (l *Links) sign(parts ...string) string {
	m := hmac.New(sha256.New, l.Secret)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:20])
}

func (l *Links) ok(token string, parts ...string) bool {
	return hmac.Equal([]byte(token), []byte(l.sign(parts...)))
}

// ViewURL is the web page of a mail, valid until exp.
func (l *Links) ViewURL(id int64, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return l.Base + "/mail/" + strconv.FormatInt(id, 10) + "?e=" + e + "&t=" + l.sign("view", strconv.FormatInt(id, 10), e)
}

// CheckView verifies a web view link's token and expiry.
func (l *Links) CheckView(id int64, e, token string, now time.Time) bool {
	exp, err := strconv.ParseInt(e, 10, 64)
	return err == nil && now.Unix() < exp && l.ok(token, "view", strconv.FormatInt(id, 10), e)
}

// SubscriptionsURL is the page where address manages its subscriptions.
func (l *Links) SubscriptionsURL(address string) string {
	return l.Base + "/subscriptions?a=" + url.QueryEscape(address) + "&t=" + l.SubscriptionsToken(address)
}

// SubscriptionsToken authorizes managing address's subscriptions.
func (l *Links) SubscriptionsToken(address string) string {
	return l.sign("subs", strings.ToLower(address))
}

// CheckSubscriptions verifies that token was made for address.
func (l *Links) CheckSubscriptions(address, token string) bool {
	return l.ok(token, "subs", strings.ToLower(address))
}

// UnsubscribeURL is the one-click (RFC 8058) unsubscribe from one
// organization, for the List-Unsubscribe header.
func (l *Links) UnsubscribeURL(orgID, address string) string {
	return l.Base + "/subscriptions/unsubscribe?o=" + url.QueryEscape(orgID) + "&a=" + url.QueryEscape(address) + "&t=" + l.SubscriptionsToken(address)
}
