package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/server/web"
)

// tokensData is what the API tokens page shows: the tokens, and a new
// one's secret once, right after it was made.
type tokensData struct {
	Tokens []licet.AdminToken
	New    string
}

func (s *Console) renderTokens(w http.ResponseWriter, r *http.Request, status int, newToken, flash, errMsg string) {
	a := adminOf(r)
	toks, err := s.Store.AdminTokens(r.Context(), a.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, status, "tokens", &page{Title: "API tokens", Admin: a, Flash: flash, Error: errMsg,
		Data: &tokensData{Tokens: toks, New: newToken}})
}

func (s *Console) tokensPage(w http.ResponseWriter, r *http.Request) {
	p := withNotice(r, &page{})
	s.renderTokens(w, r, 200, "", p.Flash, p.Error)
}

func (s *Console) createToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	name := ""
	if web.ParseForm(r) == nil {
		name = strings.TrimSpace(r.PostForm.Get("name"))
	}
	if name == "" || len(name) > 100 || licet.ValidName(name) != nil {
		s.renderTokens(w, r, 400, "", "", "Give the token a name (at most 100 characters).")
		return
	}
	tok := "lca_" + web.RandomToken()
	if _, err := s.Store.CreateAdminToken(r.Context(), adminOf(r).ID, adminOf(r).SSOProvider, name, web.TokenHash(tok)); err != nil {
		s.error(w, r, err)
		return
	}
	s.renderTokens(w, r, 200, tok, "", "")
}

func (s *Console) revokeToken(w http.ResponseWriter, r *http.Request) {
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
