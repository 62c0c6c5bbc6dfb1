package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

// addAdmin is the operator's invitation: it makes an address an
// administrator of an organization and returns a one-time link (valid
// three days) to set the password; asked again, it gives a new link and
// the earlier ones stop working (a reset).
func (s *API) addAdmin(w http.ResponseWriter, r *http.Request) {
	var req payload.Email
	org, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	var email string
	if err == nil {
		email, err = web.OneEmail(req.Email)
	}
	tok := web.RandomToken()
	var a *licet.Admin
	if err == nil {
		a, err = s.Store.AddAdmin(r.Context(), org, email, web.TokenHash(tok), s.Clock.Now().Add(72*time.Hour), licet.ActorOperator)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, payload.Invitation{Admin: a, Link: strings.TrimRight(s.PublicURL, "/") + "/admin/invite/" + tok,
		Expires: s.Clock.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)})
}

func (s *API) removeAdmin(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = s.Store.RemoveAdmin(r.Context(), org, r.PathValue("email"), web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
