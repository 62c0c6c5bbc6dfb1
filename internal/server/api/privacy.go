package api

import (
	"net/http"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

// eraseAddress is the right to erasure for an e-mail address: it leaves
// every organization's notification list, opt-outs and confirmations, its
// mails are deleted and the audit log no longer names it.
func (s *API) eraseAddress(w http.ResponseWriter, r *http.Request) {
	var req payload.Email
	err := s.writable()
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	var email string
	if err == nil {
		email, err = web.OneEmail(req.Email)
	}
	var e *licet.Erasure
	if err == nil {
		e, err = s.Store.EraseAddress(r.Context(), email)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, e)
}

// exportUser is the right of access: everything stored about one user.
func (s *API) exportUser(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
	var user string
	if err == nil {
		user, err = web.GUIDParam(r, "user")
	}
	var rec *licet.UserRecord
	if err == nil {
		rec, err = s.Store.UserRecord(r.Context(), org, user)
	}
	if err == nil && rec.User == nil && len(rec.Audit) == 0 && len(rec.Mails) == 0 && len(rec.OfflineLicenses) == 0 && rec.TemporaryGrantedAt.IsZero() {
		err = licet.Errorf(licet.ENOTFOUND, "nothing is stored about user %s in organization %s", user, org)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, rec)
}
