package api

import (
	"net/http"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

func (s *API) listMail(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	if status != "" && status != "pending" && status != "sent" && status != "failed" {
		s.error(w, r, licet.Errorf(licet.EINVALID, "status must be pending, sent or failed"))
		return
	}
	mails, err := s.Store.Mails(r.Context(), status, 200)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if mails == nil {
		mails = []*licet.Mail{}
	}
	web.WriteJSON(w, http.StatusOK, payload.MailList{Mails: mails})
}
