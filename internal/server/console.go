package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/protocol"
	"golang.org/x/time/rate"
)

//go:embed console/*.html
var consoleFS embed.FS

var consoleT = template.Must(template.New("").Funcs(template.FuncMap{
	"plural": licet.Plural,
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.DateOnly)
	},
	"lastDay": func(t time.Time) string {
		if t.IsZero() {
			return "no end"
		}
		return t.UTC().Add(-time.Millisecond).Format(time.DateOnly)
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
}).ParseFS(consoleFS, "console/*.html"))

const (
	sessionCookie = "licet_session"
	sessionLife   = 12 * time.Hour
	// ConsolePage is how many users one page of Mobile Users shows.
	ConsolePage = 50
)

// page is what every console template gets.
type page struct {
	Title, Tab, Flash, Error string
	Next                     string // where to go after logging in
	SSOEmail                 string // the address typed for single sign-on
	SSOOffered               bool   // some organization signs in with its own provider
	Admin                    *licet.Admin
	Org                      *licet.Organization
	Data                     any
	// Hosts is the organization's firewall allow list (Settings).
	Hosts []licet.Host
	// Primary is the primary's console, on the read-only backup's page.
	Primary string
}

type ctxKey int

const adminKey ctxKey = 0

func (s *Server) consoleRoutes(mux *http.ServeMux) {
	if s.ReadOnly { // no session can be kept here: every page says where the console is
		mux.HandleFunc("/admin/", s.backupConsole)
		return
	}
	s.logins = newLoginThrottle()
	s.loginByIP = newLimiter(rate.Every(3*time.Second), 20)
	s.hashes = defaultHashGate()
	mux.HandleFunc("GET /admin/login", s.loginPage)
	mux.HandleFunc("POST /admin/login", s.login)
	mux.HandleFunc("POST /admin/login/operator", s.loginOperator)
	mux.HandleFunc("GET /admin/invite/{token}", s.invitePage)
	mux.HandleFunc("POST /admin/invite/{token}", s.acceptInvite)
	auth := func(h http.HandlerFunc) http.Handler { return s.signedIn(h) }
	mux.Handle("POST /admin/logout", auth(s.logout))
	mux.Handle("GET /admin/{$}", auth(s.orgsPage))
	mux.Handle("GET /admin/password", auth(notOperator(s.passwordPage)))
	mux.Handle("POST /admin/password", auth(notOperator(s.changePassword)))
	mux.Handle("GET /admin/orgs/{org}/users", auth(s.usersPage))
	mux.Handle("GET /admin/orgs/{org}/users.csv", auth(s.usersCSV))
	mux.Handle("POST /admin/orgs/{org}/users", auth(s.usersAction))
	mux.Handle("GET /admin/orgs/{org}/settings", auth(s.settingsPage))
	mux.Handle("POST /admin/orgs/{org}/settings", auth(s.saveSettings))
	mux.Handle("GET /admin/orgs/{org}/offline", auth(s.offlinePage))
	mux.Handle("POST /admin/orgs/{org}/offline", auth(s.offlineUpdate))
	mux.Handle("POST /admin/orgs/{org}/offline/backend", auth(s.offlineBackend))
	mux.Handle("POST /admin/orgs/{org}/offline/test", auth(s.offlineTest))
	mux.Handle("GET /admin/orgs/{org}/offline/download", auth(s.offlineDownload))
	mux.Handle("GET /admin/orgs/{org}/audit", auth(s.auditPage))
	mux.Handle("GET /admin/tokens", auth(notOperator(s.tokensPage)))
	mux.Handle("POST /admin/tokens", auth(notOperator(s.createToken)))
	mux.Handle("POST /admin/tokens/{id}/revoke", auth(notOperator(s.revokeToken)))
}

// notOperator keeps the operator, who signs in with the operator token and
// has neither a password nor administrator API tokens, off a page.
func notOperator(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if adminOf(r).IsOperator() {
			http.NotFound(w, r)
			return
		}
		next(w, r)
	}
}

// backupConsole is every console page of a read-only backup server: it
// says what this server is and where the primary's console is.
func (s *Server) backupConsole(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		status = http.StatusConflict // nothing can be changed here
	}
	p := &page{Title: "This is the read-only backup licensing server"}
	if s.PrimaryURL != "" {
		p.Primary = s.PrimaryURL + "/admin/"
	}
	s.render(w, status, "backup", p)
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "same-origin")
	if name == "login" {
		p.SSOOffered = s.ssoOffered()
	}
	w.WriteHeader(status)
	if err := consoleT.ExecuteTemplate(w, name, p); err != nil {
		s.Logger.Error("console template", "name", name, "err", err)
	}
}

// signedIn admits requests with a live session; others go to the login.
func (s *Server) signedIn(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var a *licet.Admin
		if err == nil && len(c.Value) < 100 {
			a, err = s.Store.SessionAdmin(r.Context(), tokenHash(c.Value))
		}
		if err != nil || a == nil {
			if licet.ErrorCode(err) == licet.EUNAVAILABLE {
				s.error(w, r, err)
				return
			}
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), adminKey, a)))
	})
}

func adminOf(r *http.Request) *licet.Admin { return r.Context().Value(adminKey).(*licet.Admin) }

// orgFor returns the organization of the path if the administrator may see
// it; any other organization is "not found", whether it exists or not.
func (s *Server) orgFor(w http.ResponseWriter, r *http.Request) (*licet.Organization, bool) {
	a := adminOf(r)
	id, ok := licet.ParseGUID(r.PathValue("org"))
	if !ok || !a.Administers(id) {
		http.NotFound(w, r)
		return nil, false
	}
	o, err := s.Store.Organization(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return nil, false
	}
	return o, true
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, 200, "login", &page{Title: "Log in", Next: r.URL.Query().Get("next")})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := parseForm(r); err != nil {
		s.render(w, 400, "login", &page{Title: "Log in", Error: "The form could not be read."})
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	pw := r.PostForm.Get("password")
	ip := clientIP(r)
	wrong := func() {
		s.Logger.Info("login failed", "remote", ip)
		s.render(w, http.StatusUnauthorized, "login", &page{Title: "Log in", Data: email, Error: "The e-mail or the password is wrong."})
	}
	if len(email) > licet.MaxEmailLen || len(pw) > 1024 {
		wrong()
		return
	}
	now := time.Now()
	known := s.knownBrowser(r, email)
	if ok, wait := s.logins.allowed(email, ip, known, now); !ok {
		s.loginsRefused.WithLabelValues("throttled").Inc()
		w.Header().Set("Retry-After", retryAfter(wait))
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
		s.Logger.Info("password login refused: single sign-on required", "remote", clientIP(r))
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
func (s *Server) busy(w http.ResponseWriter, name string, p *page) {
	s.loginsRefused.WithLabelValues("busy").Inc()
	w.Header().Set("Retry-After", "2")
	p.Error = "The server is busy. Try again in a few seconds."
	s.render(w, http.StatusServiceUnavailable, name, p)
}

// loginOperator signs the vendor's operator in with the operator token:
// every organization, the vendor's settings too.
func (s *Server) loginOperator(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if ok, wait := s.loginByIP.allow(clientIP(r), time.Now()); !ok {
		w.Header().Set("Retry-After", retryAfter(wait))
		s.render(w, http.StatusTooManyRequests, "login", &page{Title: "Log in", Error: "Too many attempts. Wait a minute and try again."})
		return
	}
	if parseForm(r) != nil {
		s.render(w, http.StatusBadRequest, "login", &page{Title: "Log in", Error: "The form could not be read."})
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	h := sha256.Sum256([]byte(tok))
	if tok == "" || len(s.TokenHash) != len(h) || subtle.ConstantTimeCompare(h[:], s.TokenHash) != 1 {
		s.Logger.Info("operator login failed", "remote", clientIP(r))
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

func (s *Server) startSession(w http.ResponseWriter, a *licet.Admin) error {
	return s.startSessionUntil(w, a, "", s.Clock.Now().Add(sessionLife))
}

// startSessionUntil starts a session, opened through ssoProvider ("" for
// a password), that ends at until.
func (s *Server) startSessionUntil(w http.ResponseWriter, a *licet.Admin, ssoProvider string, until time.Time) error {
	tok := randomToken()
	if err := s.Store.CreateSession(context.Background(), tokenHash(tok), a.ID, ssoProvider, until); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/admin", HttpOnly: true, Secure: s.secureCookies(),
		SameSite: http.SameSiteLaxMode, MaxAge: max(1, int(until.Sub(s.Clock.Now()).Seconds()))})
	return nil
}

// secureCookies: over TLS, or behind a proxy that serves the public https URL.
func (s *Server) secureCookies() bool { return s.TLS || strings.HasPrefix(s.PublicURL, "https://") }

// knownBrowser says whether r comes from a browser that signed in as email
// before (see loginThrottle).
func (s *Server) knownBrowser(r *http.Request, email string) bool {
	c, err := r.Cookie(knownCookie)
	return err == nil && s.logins.known(email, c.Value)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.Store.DeleteSession(r.Context(), tokenHash(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/admin", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request) {
	a, err := s.Store.AdminByLink(r.Context(), tokenHash(r.PathValue("token")))
	if err != nil {
		s.render(w, http.StatusNotFound, "login", &page{Title: "Log in", Error: "This link is not valid: it was used already or has expired. Ask for a new one."})
		return
	}
	s.render(w, 200, "password", &page{Title: "Set your password", Data: a.Email})
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	hash := tokenHash(r.PathValue("token"))
	a, err := s.Store.AdminByLink(r.Context(), hash)
	if err != nil {
		s.render(w, http.StatusNotFound, "login", &page{Title: "Log in", Error: "This link is not valid: it was used already or has expired. Ask for a new one."})
		return
	}
	if parseForm(r) != nil {
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

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, 200, "password", &page{Title: "Change your password", Admin: adminOf(r)})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	a := adminOf(r)
	p := &page{Title: "Change your password", Admin: a}
	if parseForm(r) != nil {
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
	ip, now := clientIP(r), time.Now()
	known := s.knownBrowser(r, a.Email)
	if ok, wait := s.logins.allowed(a.Email, ip, known, now); !ok {
		s.loginsRefused.WithLabelValues("throttled").Inc()
		w.Header().Set("Retry-After", retryAfter(wait))
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

func (s *Server) orgsPage(w http.ResponseWriter, r *http.Request) {
	a := adminOf(r)
	if len(a.Orgs) == 1 && !a.IsOperator() {
		http.Redirect(w, r, "/admin/orgs/"+a.Orgs[0]+"/users", http.StatusSeeOther)
		return
	}
	type row struct {
		*licet.Organization
		Total, Used int
	}
	var orgs []row
	for _, id := range a.Orgs {
		o, err := s.Store.Organization(r.Context(), id)
		if err != nil {
			continue
		}
		rw := row{Organization: o}
		seats, _ := s.Store.SeatCounts(r.Context(), id)
		for _, c := range seats {
			rw.Total, rw.Used = rw.Total+c.Total, rw.Used+c.Used
		}
		orgs = append(orgs, rw)
	}
	title := "Your organizations"
	if a.IsOperator() {
		title = "All organizations"
	}
	s.render(w, 200, "orgs", &page{Title: title, Admin: a, Data: orgs})
}

// userFilter reads the Mobile Users filter from a query.
func userFilter(q url.Values) (licet.UserFilter, int) {
	f := licet.UserFilter{Search: strings.ToUpper(strings.TrimSpace(q.Get("q"))), Type: q.Get("type"), Sort: q.Get("sort")}
	switch st := licet.UserState(q.Get("state")); st {
	case licet.UserUnlicensed, licet.UserTemporary, licet.UserLicensed, "disabled":
		f.State = st
	}
	if len(f.Search) > 40 {
		f.Search = f.Search[:40]
	}
	if len(f.Type) > 64 {
		f.Type = ""
	}
	if f.Sort != "lastSeen" && f.Sort != "assigned" {
		f.Sort = ""
	}
	p, _ := strconv.Atoi(q.Get("page"))
	return f, max(0, min(p, 1_000_000))
}

func (s *Server) typesOf(ctx context.Context) []string {
	types, _ := s.Store.LicenseTypes(ctx)
	var out []string
	for _, t := range types {
		out = append(out, t.Name)
	}
	return out
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	s.showUsers(w, r, o, 200, withNotice(r, &page{}))
}

// showUsers renders Mobile Users for the request's filter, with p's message.
func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, o *licet.Organization, status int, p *page) {
	f, pg := userFilter(r.URL.Query())
	f.Offset, f.Limit = pg*ConsolePage, ConsolePage
	if f.Sort == "" { // by ID: page by cursor, as fast at the end as at the start
		if a, ok := licet.ParseGUID(r.URL.Query().Get("after")); ok {
			f.After = a
		} else if b, ok := licet.ParseGUID(r.URL.Query().Get("before")); ok {
			f.Before = b
		}
	}
	users, total, err := s.Store.Users(r.Context(), o.ID, f)
	var seats []licet.SeatCount
	var pools []licet.Pool
	if err == nil {
		seats, err = s.Store.SeatCounts(r.Context(), o.ID)
	}
	if err == nil {
		pools, err = s.Store.Pools(r.Context(), o.ID)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	licet.MarkEnded(users, pools, s.Clock.Now())
	q := url.Values{"q": {f.Search}, "state": {string(f.State)}, "type": {f.Type}, "sort": {f.Sort}}
	link := func(p int) template.URL { // built from url.Values: safe as it is
		q.Set("page", strconv.Itoa(p))
		return template.URL(q.Encode())
	}
	data := map[string]any{"Users": users, "Total": total, "Seats": seats, "Pools": pools, "Filter": f, "Types": s.typesOf(r.Context()),
		"States": []string{"", "licensed", "temporary", "unlicensed", "disabled"}, "Query": link(0), "Prev": template.URL(""), "Next": template.URL("")}
	cursor := func(name, id string) template.URL {
		c := url.Values{"q": {f.Search}, "state": {string(f.State)}, "type": {f.Type}, name: {id}}
		return template.URL(c.Encode())
	}
	switch {
	case f.Sort == "" && len(users) == 0 && f.After != "":
		data["Prev"] = cursor("before", f.After) // past the end: back to the last page
	case f.Sort == "" && len(users) > 0:
		// Cursor links: "previous" unless this is the first page, "next"
		// when a full page may have more behind it.
		if f.After != "" || f.Before != "" {
			data["Prev"] = cursor("before", users[0].ID)
		}
		if len(users) == ConsolePage && (f.Before != "" || f.After != "" || total > ConsolePage) {
			data["Next"] = cursor("after", users[len(users)-1].ID)
		}
	case f.Sort != "":
		if pg > 0 {
			data["Prev"] = link(pg - 1)
		}
		if (pg+1)*ConsolePage < total {
			data["Next"] = link(pg + 1)
		}
	}
	p.Title, p.Tab, p.Admin, p.Org, p.Data = "Mobile Users", "users", adminOf(r), o, data
	s.render(w, status, "users", p)
}

// usersCSV exports the filtered list, every page of it.
func (s *Server) usersCSV(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	f, _ := userFilter(r.URL.Query())
	f.Limit = 1000
	// The first page is read before anything is sent: a failure is an
	// error status, not a file with only the header.
	users, _, err := s.Store.Users(r.Context(), o.ID, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mobile-users.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"UserId", "State", "LicenseType", "AssignedAt", "AssignedBy", "LastSync", "DeviceId", "DeviceInfo", "Version", "Enabled"})
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for f.Offset = 0; ; f.Offset += 1000 {
		if f.Offset > 0 {
			if users, _, err = s.Store.Users(r.Context(), o.ID, f); err != nil {
				s.Logger.Error("csv export cut short", "err", err)
				break
			}
		}
		for _, u := range users {
			st := string(u.State)
			if u.Disabled {
				st = "disabled"
			}
			cw.Write([]string{u.ID, st, u.LicenseType, ts(u.AssignedAt), u.AssignedBy, ts(u.LastSeen), csvSafe(u.Last.DeviceID),
				csvSafe(u.Last.DeviceInfo), csvSafe(u.Last.Version), strconv.FormatBool(!u.Disabled)})
		}
		if len(users) < 1000 {
			break
		}
	}
	cw.Flush()
}

// csvSafe keeps a device-supplied value from being read as a formula by a
// spreadsheet.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Server) usersAction(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 512<<10)
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	a := adminOf(r)
	back := func(msg string) { // nothing changed: say why on the page itself
		s.showUsers(w, r, o, http.StatusBadRequest, &page{Error: msg})
	}
	var ids []string
	action := licet.UserAction(r.PostForm.Get("action"))
	raw := r.PostForm["user"]
	if r.PostForm.Get("do") == "add" {
		action = licet.ActionAdd
		raw = strings.Fields(r.PostForm.Get("ids"))
	}
	for _, v := range raw {
		id, ok := licet.ParseGUID(v)
		if !ok {
			back("Nothing changed: " + strconv.Quote(v[:min(len(v), 40)]) + " is not a user ID.")
			return
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		back("Nothing selected.")
		return
	case len(ids) > MaxBatch:
		back("Nothing changed: at most " + strconv.Itoa(MaxBatch) + " users at a time.")
		return
	}
	switch action {
	case licet.ActionAdd, licet.ActionAssign, licet.ActionUnassign, licet.ActionEnable, licet.ActionDisable, licet.ActionDelete:
	default:
		back("Nothing changed: unknown action.")
		return
	}
	typ := r.PostForm.Get("type")
	if typ != "" && licet.ValidTypeName(typ) != nil {
		typ = ""
	}
	if _, err := s.Store.ChangeUsers(r.Context(), o.ID, ids, action, typ, a.Email); err != nil {
		if licet.ErrorCode(err) == licet.EINTERNAL || licet.ErrorCode(err) == licet.EUNAVAILABLE {
			s.error(w, r, err)
			return
		}
		back("Nothing changed: " + licet.ErrorMessage(err))
		return
	}
	s.done(w, r, "/admin/orgs/"+o.ID+"/users", "users-"+string(action), int64(len(ids)))
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	data, err := s.settingsData(r.Context(), o.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, 200, "settings", withNotice(r, &page{Title: "Settings", Tab: "settings", Admin: adminOf(r), Org: o, Data: data,
		Hosts: s.allowList(r.Context(), o)}))
}

// settingsData is what the Settings page shows beside the organization:
// the license types, and where each notification address stands.
type settingsData struct {
	Types      []string
	Recipients []licet.Recipient
	SSO        []*licet.SSOProvider // the single sign-on registrations that cover the organization
}

func (s *Server) settingsData(ctx context.Context, orgID string) (*settingsData, error) {
	rs, err := s.Store.NotificationRecipients(ctx, orgID)
	if err != nil {
		return nil, err
	}
	sso, err := s.ssoOf(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return &settingsData{Types: s.typesOf(ctx), Recipients: rs, SSO: sso}, nil
}

func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	data, err := s.settingsData(r.Context(), o.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := &page{Title: "Settings", Tab: "settings", Admin: adminOf(r), Org: o, Data: data, Hosts: s.allowList(r.Context(), o)}
	if err := parseForm(r); err != nil {
		p.Error = "The form could not be read."
		s.render(w, 400, "settings", p)
		return
	}
	f := r.PostForm
	num := func(name string) (*int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(f.Get(name)))
		return &n, err == nil
	}
	auto, notify := f.Get("autoAssign") == "on", f.Get("notifications") == "on"
	at := f.Get("assignType")
	emails := strings.Fields(strings.ReplaceAll(f.Get("emails"), ",", " "))
	offline := f.Get("offline") == "on"
	patch := licet.SettingsPatch{AutoAssign: &auto, Notifications: &notify, AssignType: &at, NotificationEmails: &emails, Offline: &offline}
	if !adminOf(r).IsOperator() {
		patch, _ = patch.ForAdmin()
	}
	var ok1, ok2, ok3 bool
	patch.TemporaryDays, ok1 = num("temporaryDays")
	patch.FreeUnusedDays, ok2 = num("freeUnusedDays")
	patch.NotifyWindow, ok3 = num("notifyWindow")
	err = patch.Validate()
	if !ok1 || !ok2 || !ok3 {
		err = licet.Errorf(licet.EINVALID, "the numbers must be whole numbers")
	}
	if err == nil {
		_, err = s.Store.UpdateOrganization(r.Context(), o.ID, patch, adminOf(r).Email)
	}
	if err != nil {
		if code := licet.ErrorCode(err); code == licet.EINTERNAL || code == licet.EUNAVAILABLE {
			s.error(w, r, err)
			return
		}
		p.Error = licet.ErrorMessage(err)
		s.render(w, 400, "settings", p)
		return
	}
	s.done(w, r, "/admin/orgs/"+o.ID+"/settings", "settings-saved")
}

func (s *Server) offlineOrg(w http.ResponseWriter, r *http.Request) (*licet.Organization, bool) {
	o, ok := s.orgFor(w, r)
	if ok && !o.Settings.Offline {
		http.NotFound(w, r)
		return nil, false
	}
	return o, ok
}

func (s *Server) offlinePage(w http.ResponseWriter, r *http.Request) {
	o, ok := s.offlineOrg(w, r)
	if !ok {
		return
	}
	s.offlineView(w, r, o, 200, withNotice(r, &page{}))
}

// offlinePageData is what the Offline page shows.
type offlinePageData struct {
	*payload.OfflineView
	// Differ: licet saves where devices do not read, so only the backend
	// test can tell whether both name the same file.
	Differ bool
	// NotFound: the newest test did not find the probe where devices look.
	NotFound bool
}

// offlineView renders the Offline page with p's message.
func (s *Server) offlineView(w http.ResponseWriter, r *http.Request, o *licet.Organization, status int, p *page) {
	v, err := s.offlineState(r.Context(), o.ID, 20)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d := &offlinePageData{OfflineView: v}
	d.Differ = v.Backend != "" && protocol.NormalizeURL(v.Backend) != protocol.NormalizeURL(v.DeviceLocation)
	if t := v.LastTest; t != nil {
		if st := t.Step("read"); st != nil && !st.OK && !st.Skipped {
			d.NotFound = true
		}
	}
	p.Title, p.Tab, p.Admin, p.Org, p.Data = "Offline license", "offline", adminOf(r), o, d
	s.render(w, status, "offline", p)
}

// offlineBackend saves the backend form. Credentials are write-only: blank
// fields keep them.
func (s *Server) offlineBackend(w http.ResponseWriter, r *http.Request) {
	o, ok := s.offlineOrg(w, r)
	if !ok {
		return
	}
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := parseForm(r); err != nil {
		s.offlineView(w, r, o, 400, &page{Error: "The form could not be read."})
		return
	}
	f := r.PostForm
	backend, location := strings.TrimSpace(f.Get("backendUrl")), strings.TrimSpace(f.Get("location"))
	auto := f.Get("autoUpdate") == "on"
	req := payload.Offline{BackendURL: &backend, Location: &location, Username: strings.TrimSpace(f.Get("username")),
		Password: f.Get("password"), ClearCredentials: f.Get("clearCredentials") == "on"}
	vendor := adminOf(r).IsOperator()
	cfg, err := s.Store.OfflineConfig(r.Context(), o.ID)
	if err == nil && (cfg.AutoAllowed || auto) {
		req.AutoUpdate = &auto
	}
	if err == nil && vendor {
		allowed := f.Get("autoUpdateAllowed") == "on"
		req.AutoAllowed = &allowed
		if !allowed {
			req.AutoUpdate = &allowed
		}
		days, err2 := strconv.Atoi(strings.TrimSpace(f.Get("validDays")))
		if err2 != nil {
			err = licet.Errorf(licet.EINVALID, "the validity must be a whole number of days")
		}
		req.ValidDays = &days
	}
	if err == nil {
		err = s.configureOffline(r.Context(), o.ID, req, vendor, adminOf(r).Email)
	}
	if err != nil {
		if code := licet.ErrorCode(err); code == licet.EINTERNAL || code == licet.EUNAVAILABLE {
			s.error(w, r, err)
			return
		}
		status, _ := ErrorStatus(err)
		s.offlineView(w, r, o, status, &page{Error: licet.ErrorMessage(err)})
		return
	}
	s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-backend-saved")
}

// offlineTest runs the backend test from the console.
func (s *Server) offlineTest(w http.ResponseWriter, r *http.Request) {
	o, ok := s.offlineOrg(w, r)
	if !ok {
		return
	}
	err := s.writable()
	if err == nil {
		err = s.mayTestOffline(o.ID)
	}
	var rep *licet.OfflineTest
	if err == nil {
		rep, err = s.Offline.Test(r.Context(), o.ID, adminOf(r).Email)
	}
	switch {
	case err != nil && (licet.ErrorCode(err) == licet.EINTERNAL || licet.ErrorCode(err) == licet.EUNAVAILABLE):
		s.error(w, r, err)
	case err != nil:
		status, _ := ErrorStatus(err)
		s.offlineView(w, r, o, status, &page{Error: "Not tested: " + licet.ErrorMessage(err)})
	case !rep.OK:
		s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-test-failed")
	default:
		s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-test-ok")
	}
}

func (s *Server) offlineUpdate(w http.ResponseWriter, r *http.Request) {
	o, ok := s.offlineOrg(w, r)
	if !ok {
		return
	}
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	if !adminOf(r).IsOperator() {
		if err := s.mayIssueOffline(o.ID); err != nil {
			status, _ := ErrorStatus(err)
			s.offlineView(w, r, o, status, &page{Error: "Not issued: " + licet.ErrorMessage(err)})
			return
		}
	}
	res, err := s.Offline.Issue(r.Context(), o.ID, adminOf(r).Email)
	switch {
	case err != nil && (licet.ErrorCode(err) == licet.EINTERNAL || licet.ErrorCode(err) == licet.EUNAVAILABLE):
		s.error(w, r, err)
	case err != nil:
		status, _ := ErrorStatus(err)
		s.offlineView(w, r, o, status, &page{Error: "Not issued: " + licet.ErrorMessage(err)})
	case res.UploadStatus == "failed":
		s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-upload-failed", res.Serial)
	default:
		s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-issued", res.Serial, int64(res.Users))
	}
}

func (s *Server) offlineDownload(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.offlineOrg(w, r); ok {
		s.downloadOffline(w, r)
	}
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	user := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("user")))
	action := strings.TrimSpace(r.URL.Query().Get("action"))
	if len(user) > 40 || len(action) > 64 {
		http.Error(w, "filter too long", http.StatusBadRequest)
		return
	}
	out, err := s.Store.Audit(r.Context(), o.ID, licet.AuditFilter{User: user, Action: action, Limit: 500})
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, 200, "audit", &page{Title: "Audit", Tab: "audit", Admin: adminOf(r), Org: o,
		Data: map[string]any{"Events": out, "User": user, "Action": action}})
}

// addAdmin is the operator's invitation: it makes an address an
// administrator of an organization and returns a one-time link (valid
// three days) to set the password; asked again, it gives a new link and
// the earlier ones stop working (a reset).
func (s *Server) addAdmin(w http.ResponseWriter, r *http.Request) {
	var req payload.Email
	org, err := guidParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = decodeBody(w, r, &req)
	}
	var email string
	if err == nil {
		email, err = oneEmail(req.Email)
	}
	tok := randomToken()
	var a *licet.Admin
	if err == nil {
		a, err = s.Store.AddAdmin(r.Context(), org, email, tokenHash(tok), s.Clock.Now().Add(72*time.Hour), licet.ActorOperator)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, payload.Invitation{Admin: a, Link: strings.TrimRight(s.PublicURL, "/") + "/admin/invite/" + tok,
		Expires: s.Clock.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, newToken, flash, errMsg string) {
	a := adminOf(r)
	toks, err := s.Store.AdminTokens(r.Context(), a.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, status, "tokens", &page{Title: "API tokens", Admin: a, Flash: flash, Error: errMsg,
		Data: map[string]any{"Tokens": toks, "New": newToken}})
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	p := withNotice(r, &page{})
	s.renderTokens(w, r, 200, "", p.Flash, p.Error)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	name := ""
	if parseForm(r) == nil {
		name = strings.TrimSpace(r.PostForm.Get("name"))
	}
	if name == "" || len(name) > 100 || licet.ValidName(name) != nil {
		s.renderTokens(w, r, 400, "", "", "Give the token a name (at most 100 characters).")
		return
	}
	tok := "lca_" + randomToken()
	if _, err := s.Store.CreateAdminToken(r.Context(), adminOf(r).ID, adminOf(r).SSOProvider, name, tokenHash(tok)); err != nil {
		s.error(w, r, err)
		return
	}
	s.renderTokens(w, r, 200, tok, "", "")
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = s.Store.RevokeAdminToken(r.Context(), adminOf(r).ID, id)
	}
	if licet.ErrorCode(err) == licet.ENOTFOUND {
		http.NotFound(w, r)
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	s.done(w, r, "/admin/tokens", "token-revoked")
}

func (s *Server) removeAdmin(w http.ResponseWriter, r *http.Request) {
	org, err := guidParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = s.Store.RemoveAdmin(r.Context(), org, r.PathValue("email"), actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
