package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/server/web"
)

func (s *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, 200, "login", &page{Title: "Log in", Next: r.URL.Query().Get("next")})
}

func (s *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := web.ParseForm(r); err != nil {
		s.render(w, 400, "login", &page{Title: "Log in", Error: "The form could not be read."})
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	pw := r.PostForm.Get("password")
	ip := web.ClientIP(r)
	wrong := func() {
		s.Logger.Info("login failed", "remote", ip)
		s.render(w, http.StatusUnauthorized, "login", &page{Title: "Log in", Data: email, Error: "The e-mail or the password is wrong."})
	}
	if len(email) > licet.MaxEmailLen || len(pw) > 1024 {
		wrong()
		return
	}
	now := s.Clock.Now()
	known := s.knownBrowser(r, email)
	if ok, wait := s.logins.allowed(email, ip, known, now); !ok {
		s.loginsRefused.WithLabelValues("throttled").Inc()
		w.Header().Set("Retry-After", web.RetryAfter(wait))
		s.render(w, http.StatusTooManyRequests, "login", &page{Title: "Log in", Data: email,
			Error: "Too many attempts. Wait a minute and try again."})
		return
	}
	a, err := s.Store.AdminByEmail(r.Context(), email)
	if err != nil && licet.ErrorCode(err) != licet.ENOTFOUND {
		s.error(w, r, err)
		return
	}
	good := false
	if !s.hashes.do(r.Context(), known, func() {
		if err != nil || !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
			checkPassword(dummyHash, pw) // the same time whether the address exists, has a password, or not
			return
		}
		good = checkPassword(a.PasswordHash, pw)
	}) {
		s.busy(w, "login", &page{Title: "Log in", Data: email})
		return
	}
	if !good {
		s.logins.failed(email, ip, now)
		wrong()
		return
	}
	s.logins.succeeded(email, ip)
	if a.IsOperator() { // the operator signs in with the token only
		s.render(w, http.StatusUnauthorized, "login", &page{Title: "Log in", Data: email, Error: "The e-mail or the password is wrong."})
		return
	}
	if required, err := s.Store.SSORequired(r.Context(), a.Orgs); err != nil {
		s.error(w, r, err)
		return
	} else if required {
		s.Logger.Info("password login refused: single sign-on required", "remote", web.ClientIP(r))
		s.render(w, http.StatusForbidden, "login", &page{Title: "Log in", SSOEmail: email,
			Error: "Your organization requires you to sign in with its account: use “Sign in with your organization's account”."})
		return
	}
	if err := s.startSession(w, a); err != nil {
		s.error(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: knownCookie, Value: s.logins.knownToken(email), Path: "/admin", HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteStrictMode, MaxAge: 400 * 24 * 3600})
	next := r.PostForm.Get("next")
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		next = "/admin/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

var dummyHash = hashPassword("an address that does not exist")

// busy answers 503 when too many password hashes are running or waiting.
func (s *Console) busy(w http.ResponseWriter, name string, p *page) {
	s.loginsRefused.WithLabelValues("busy").Inc()
	w.Header().Set("Retry-After", "2")
	p.Error = "The server is busy. Try again in a few seconds."
	s.render(w, http.StatusServiceUnavailable, name, p)
}

// loginOperator signs the vendor's operator in with the operator token:
// every organization, the vendor's settings too.
func (s *Console) loginOperator(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if ok, wait := s.loginByIP.Allow(web.Source(web.ClientIP(r)), s.Clock.Now()); !ok {
		w.Header().Set("Retry-After", web.RetryAfter(wait))
		s.render(w, http.StatusTooManyRequests, "login", &page{Title: "Log in", Error: "Too many attempts. Wait a minute and try again."})
		return
	}
	if web.ParseForm(r) != nil {
		s.render(w, http.StatusBadRequest, "login", &page{Title: "Log in", Error: "The form could not be read."})
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if tok == "" || !web.IsOperatorToken(tok, s.TokenHash) {
		s.Logger.Info("operator login failed", "remote", web.ClientIP(r))
		s.render(w, http.StatusUnauthorized, "login", &page{Title: "Log in", Error: "The operator token is wrong."})
		return
	}
	a, err := s.Store.OperatorAdmin(r.Context())
	if err == nil {
		err = s.startSession(w, a)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

func (s *Console) startSession(w http.ResponseWriter, a *licet.Admin) error {
	return s.startSessionUntil(w, a, "", s.Clock.Now().Add(sessionLife))
}

// startSessionUntil starts a session, opened through ssoProvider ("" for
// a password), that ends at until.
func (s *Console) startSessionUntil(w http.ResponseWriter, a *licet.Admin, ssoProvider string, until time.Time) error {
	tok := web.RandomToken()
	if err := s.Store.CreateSession(context.Background(), web.TokenHash(tok), a.ID, ssoProvider, until); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/admin", HttpOnly: true, Secure: s.secureCookies(),
		SameSite: http.SameSiteLaxMode, MaxAge: max(1, int(until.Sub(s.Clock.Now()).Seconds()))})
	return nil
}

// secureCookies: over TLS, or behind a proxy that serves the public https URL.
func (s *Console) secureCookies() bool { return s.TLS || strings.HasPrefix(s.PublicURL, "https://") }

// knownBrowser says whether r comes from a browser that signed in as email
// before (see loginThrottle).
func (s *Console) knownBrowser(r *http.Request, email string) bool {
	c, err := r.Cookie(knownCookie)
	return err == nil && s.logins.known(email, c.Value)
}

func (s *Console) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.Store.DeleteSession(r.Context(), web.TokenHash(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/admin", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (s *Console) invitePage(w http.ResponseWriter, r *http.Request) {
	a, err := s.Store.AdminByLink(r.Context(), web.TokenHash(r.PathValue("token")))
	if err != nil {
		s.render(w, http.StatusNotFound, "login", &page{Title: "Log in", Error: "This link is not valid: it was used already or has expired. Ask for a new one."})
		return
	}
	s.render(w, 200, "password", &page{Title: "Set your password", Data: a.Email})
}

func (s *Console) acceptInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	hash := web.TokenHash(r.PathValue("token"))
	a, err := s.Store.AdminByLink(r.Context(), hash)
	if err != nil {
		s.render(w, http.StatusNotFound, "login", &page{Title: "Log in", Error: "This link is not valid: it was used already or has expired. Ask for a new one."})
		return
	}
	if web.ParseForm(r) != nil {
		s.render(w, http.StatusBadRequest, "password", &page{Title: "Set your password", Data: a.Email, Error: "The form could not be read."})
		return
	}
	pw := r.PostForm.Get("password")
	if msg := validPassword(pw); msg != "" || pw != r.PostForm.Get("confirm") {
		if msg == "" {
			msg = "The two passwords differ."
		}
		s.render(w, 400, "password", &page{Title: "Set your password", Data: a.Email, Error: msg})
		return
	}
	var newHash string
	if !s.hashes.do(r.Context(), false, func() { newHash = hashPassword(pw) }) {
		s.busy(w, "password", &page{Title: "Set your password", Data: a.Email})
		return
	}
	if _, err := s.Store.SetAdminPassword(r.Context(), hash, newHash); err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, 200, "login", &page{Title: "Log in", Data: a.Email, Flash: "Your password is set. Log in."})
}

func (s *Console) passwordPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, 200, "password", &page{Title: "Change your password", Admin: adminOf(r)})
}

func (s *Console) changePassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	a := adminOf(r)
	p := &page{Title: "Change your password", Admin: a}
	if web.ParseForm(r) != nil {
		p.Error = "The form could not be read."
		s.render(w, 400, "password", p)
		return
	}
	pw := r.PostForm.Get("password")
	if msg := validPassword(pw); msg != "" || pw != r.PostForm.Get("confirm") {
		p.Error = msg
		if msg == "" {
			p.Error = "The two passwords differ."
		}
		s.render(w, 400, "password", p)
		return
	}
	ip, now := web.ClientIP(r), s.Clock.Now()
	known := s.knownBrowser(r, a.Email)
	if ok, wait := s.logins.allowed(a.Email, ip, known, now); !ok {
		s.loginsRefused.WithLabelValues("throttled").Inc()
		w.Header().Set("Retry-After", web.RetryAfter(wait))
		p.Error = "Too many attempts. Wait a minute and try again."
		s.render(w, http.StatusTooManyRequests, "password", p)
		return
	}
	current, newHash := false, ""
	if !s.hashes.do(r.Context(), known, func() {
		if current = checkPassword(a.PasswordHash, r.PostForm.Get("current")); current {
			newHash = hashPassword(pw)
		}
	}) {
		s.busy(w, "password", p)
		return
	}
	if !current {
		s.logins.failed(a.Email, ip, now) // a stolen session must not become a way to guess the password
		p.Error = "The current password is wrong."
		s.render(w, 400, "password", p)
		return
	}
	if err := s.Store.ChangeAdminPassword(r.Context(), a.ID, newHash); err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, 200, "login", &page{Title: "Log in", Data: a.Email, Flash: "Your password is changed. Log in again."})
}
