package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/server/web"
	"github.com/licet/licet/internal/sso"
)

// Single sign-on: the console's two steps around the provider (package
// sso does the protocol; the operator registers providers through the
// API).

const ssoCookie = "licet_sso"

func (s *Console) ssoRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/sso", s.ssoStart)
	mux.HandleFunc("GET /admin/sso/callback", s.ssoCallback)
}

// ssoOffered: the login page offers single sign-on once a provider is
// registered (and, when the database cannot say, offers it anyway).
func (s *Console) ssoOffered() bool {
	if s.SSO == nil || s.ReadOnly {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ps, err := s.Store.SSOProviders(ctx)
	return err != nil || len(ps) > 0
}

// ssoOf lists the registrations that cover an organization.
func (s *Console) ssoOf(ctx context.Context, orgID string) ([]*licet.SSOProvider, error) {
	all, err := s.Store.SSOProviders(ctx)
	return slices.DeleteFunc(all, func(p *licet.SSOProvider) bool { return !slices.Contains(p.Orgs, orgID) }), err
}

// safeNext keeps a post-login destination inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || len(next) > 1000 {
		return "/admin/"
	}
	return next
}

// redirectURL is where providers send the browser back, under the public
// URL (what the operator registers at the provider).
func (s *Console) redirectURL() string {
	return strings.TrimSuffix(s.PublicURL, "/") + "/admin/sso/callback"
}

func (s *Console) ssoPage(w http.ResponseWriter, r *http.Request, err error, email string) {
	var se *sso.Error
	if !errors.As(err, &se) {
		s.error(w, r, err)
		return
	}
	s.Logger.Info("sso sign-in refused", "remote", web.ClientIP(r), "status", se.Status, "why", se.Error())
	s.render(w, se.Status, "login", &page{Title: "Log in", SSOEmail: email, Error: se.Message})
}

// ssoStart finds the provider of the typed address and sends the browser
// to it, by a page: the login form's CSP allows forms to post only here.
func (s *Console) ssoStart(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if ok, wait := s.ssoByIP.Allow(web.Source(web.ClientIP(r)), s.Clock.Now()); !ok {
		w.Header().Set("Retry-After", web.RetryAfter(wait))
		s.render(w, http.StatusTooManyRequests, "login", &page{Title: "Log in", Error: "Too many attempts. Wait a minute and try again."})
		return
	}
	if s.SSO == nil || s.ReadOnly {
		s.render(w, http.StatusNotFound, "login", &page{Title: "Log in", Error: "Sign-in with an organization's account is not available on this server."})
		return
	}
	if err := web.ParseForm(r); err != nil {
		s.render(w, http.StatusBadRequest, "login", &page{Title: "Log in", Error: "The form could not be read."})
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	authURL, state, err := s.SSO.Begin(r.Context(), email, s.redirectURL(), safeNext(r.PostForm.Get("next")))
	if err != nil {
		s.ssoPage(w, r, err, email)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: state, Path: "/admin/sso", HttpOnly: true, Secure: s.secureCookies(),
		SameSite: http.SameSiteLaxMode, MaxAge: int(sso.LoginLife.Seconds())})
	s.render(w, http.StatusOK, "sso", &page{Title: "Signing in", Data: authURL})
}

// ssoCallback takes the provider's answer: a verified sign-in starts a
// session that ends with the ID token, or sooner at the console's limit.
func (s *Console) ssoCallback(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/admin/sso", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	if s.SSO == nil || s.ReadOnly {
		s.render(w, http.StatusNotFound, "login", &page{Title: "Log in", Error: "Sign-in with an organization's account is not available on this server."})
		return
	}
	q := r.URL.Query()
	cookie := ""
	if c, err := r.Cookie(ssoCookie); err == nil {
		cookie = c.Value
	}
	if q.Get("error") != "" { // the provider's words are not shown: they come from the URL
		s.Logger.Info("sso sign-in cancelled at the provider", "remote", web.ClientIP(r))
		s.render(w, http.StatusForbidden, "login", &page{Title: "Log in",
			Error: "The sign-in was cancelled or refused at your organization's sign-in service."})
		return
	}
	res, err := s.SSO.Finish(r.Context(), q.Get("state"), cookie, q.Get("code"))
	if err != nil {
		s.ssoPage(w, r, err, "")
		return
	}
	until := s.Clock.Now().Add(sessionLife)
	if res.Expires.Before(until) {
		until = res.Expires
	}
	if err := s.startSessionUntil(w, res.Admin, res.Provider, until); err != nil {
		s.error(w, r, err)
		return
	}
	s.Logger.Info("sso sign-in", "issuer", res.Identity.Issuer, "subject", res.Identity.Subject)
	http.Redirect(w, r, res.Next, http.StatusSeeOther)
}
