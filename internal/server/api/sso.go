package api

import (
	"net/http"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

func (s *API) listSSO(w http.ResponseWriter, r *http.Request) {
	ps, err := s.Store.SSOProviders(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, payload.SSOList{Providers: ps})
}

func (s *API) showSSO(w http.ResponseWriter, r *http.Request) {
	p, err := s.Store.SSOProvider(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, p)
}

func (s *API) putSSO(w http.ResponseWriter, r *http.Request) {
	var req payload.SSOProvider
	err := s.writable()
	if err == nil && s.SSO == nil {
		err = licet.Errorf(licet.EUNAVAILABLE, "single sign-on is not set up on this server")
	}
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	p := &licet.SSOProvider{ID: r.PathValue("id"), Issuer: req.Issuer, ClientID: req.ClientID, ClientSecret: req.ClientSecret,
		Domains: req.Domains, Claim: req.Claim, ClaimValue: req.ClaimValue, Orgs: req.Orgs, Required: req.Required}
	if err == nil {
		err = p.Validate()
	}
	if err == nil {
		err = s.SSO.Seal(p)
	}
	if err == nil {
		err = s.Store.PutSSOProvider(r.Context(), p, web.Actor(r))
	}
	if err == nil {
		p, err = s.Store.SSOProvider(r.Context(), p.ID)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, p)
}

func (s *API) deleteSSO(w http.ResponseWriter, r *http.Request) {
	err := s.writable()
	if err == nil {
		err = s.Store.DeleteSSOProvider(r.Context(), r.PathValue("id"), web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
