package console

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/server/web"
)

//go:embed *.html
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
}).ParseFS(consoleFS, "*.html"))

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

// Routes registers the console's pages on mux.
func (s *Console) Routes(mux *http.ServeMux) {
	s.ssoRoutes(mux)
	if s.ReadOnly { // no session can be kept here: every page says where the console is
		mux.HandleFunc("/admin/", s.backupConsole)
		return
	}
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
func (s *Console) backupConsole(w http.ResponseWriter, r *http.Request) {
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

func (s *Console) render(w http.ResponseWriter, status int, name string, p *page) {
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
func (s *Console) signedIn(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var a *licet.Admin
		if err == nil && len(c.Value) < 100 {
			a, err = s.Store.SessionAdmin(r.Context(), web.TokenHash(c.Value))
		}
		if err != nil || a == nil {
			if licet.ErrorCode(err) == licet.EUNAVAILABLE {
				s.error(w, r, err)
				return
			}
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(web.WithAdmin(r.Context(), a)))
	})
}

// adminOf is the signed-in administrator (signedIn puts it there).
func adminOf(r *http.Request) *licet.Admin {
	a, _ := web.AdminOf(r)
	return a
}

// orgFor returns the organization of the path if the administrator may see
// it; any other organization is "not found", whether it exists or not.
func (s *Console) orgFor(w http.ResponseWriter, r *http.Request) (*licet.Organization, bool) {
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

func (s *Console) orgsPage(w http.ResponseWriter, r *http.Request) {
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

// auditData is what the Audit page shows: the events and the filter.
type auditData struct {
	Events       []licet.AuditEvent
	User, Action string
}

func (s *Console) auditPage(w http.ResponseWriter, r *http.Request) {
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
		Data: &auditData{Events: out, User: user, Action: action}})
}
