package api

import (
	"net/http"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/server/web"
)

// authenticate admits requests bearing the operator token, and requests
// bearing an administrator's API token (lca_…), which each route then
// holds to its organizations (adminMay, vendorOnly).
func (s *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		if ok && strings.HasPrefix(tok, "lca_") && len(tok) < 100 {
			a, err := s.Store.AdminByToken(r.Context(), web.TokenHash(tok))
			if err != nil {
				if licet.ErrorCode(err) != licet.EUNAVAILABLE {
					w.Header().Set("WWW-Authenticate", `Bearer realm="licet"`)
					err = licet.Errorf(licet.EUNAUTHORIZED, "a valid operator or administrator token is required")
				}
				s.error(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(web.WithAdmin(r.Context(), a)))
			return
		}
		if !ok || !web.IsOperatorToken(tok, s.TokenHash) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="licet operator"`)
			s.error(w, r, licet.Errorf(licet.EUNAUTHORIZED, "a valid operator token is required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminMay lets the operator, and an administrator's API token for an
// organization it administers, call h; another organization is "not
// found", whether it exists or not.
func (s *API) adminMay(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := web.AdminOf(r); ok && !administers(a, r) {
			s.error(w, r, licet.Errorf(licet.ENOTFOUND, "organization %q not found", r.PathValue("org")))
			return
		}
		h(w, r)
	})
}

// vendorOnly keeps h for the vendor's operator token: an administrator's
// API token is refused (on another organization's route, as adminMay
// refuses it).
func (s *API) vendorOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := web.AdminOf(r)
		switch {
		case !ok:
			h(w, r)
		case r.PathValue("org") != "" && !administers(a, r):
			s.error(w, r, licet.Errorf(licet.ENOTFOUND, "organization %q not found", r.PathValue("org")))
		default:
			s.error(w, r, licet.Errorf(licet.EFORBIDDEN, "this call is for the vendor's operator token"))
		}
	})
}

// administers reports whether a administers the organization of r's path.
func administers(a *licet.Admin, r *http.Request) bool {
	org, ok := licet.ParseGUID(r.PathValue("org"))
	return ok && a.Administers(org)
}
