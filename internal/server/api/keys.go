package api

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
	"github.com/licet/licet/protocol"
)

func (s *API) handleKeys(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, s.keysAnswer())
}

func (s *API) keysAnswer() payload.Keys {
	a := payload.Keys{Keys: s.Keys.Public(), Revoked: s.Keys.Revoked(), KeySet: s.Keys.KeySet()}
	if a.Revoked == nil {
		a.Revoked = []protocol.RevokedKey{}
	}
	return a
}

// backup streams a consistent snapshot of the database (SQLite) that
// "licet serve --read-only --database FILE" can serve.
func (s *API) backup(w http.ResponseWriter, r *http.Request) {
	dir, err := os.MkdirTemp("", "licet-backup-")
	if err != nil {
		s.error(w, r, err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "licet.db")
	if err := s.Store.Snapshot(r.Context(), path); err != nil {
		s.error(w, r, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.error(w, r, err)
		return
	}
	defer f.Close()
	fi, _ := f.Stat()
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Disposition", `attachment; filename="licet.db"`)
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	if _, err := io.Copy(w, f); err != nil {
		s.Logger.Warn("backup download cut", "err", err)
	}
	s.Logger.Info("backup taken", "bytes", fi.Size())
}

func (s *API) rotateKeys(w http.ResponseWriter, r *http.Request) {
	if s.ReadOnly {
		s.error(w, r, licet.Errorf(licet.EREADONLY, "this server is read-only; rotate keys on the primary"))
		return
	}
	k, err := s.Keys.Rotate()
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.Logger.Info("signing key rotated", "kid", k.ID)
	web.WriteJSON(w, http.StatusOK, s.keysAnswer())
}

// rotateSecrets seals the database's secrets with a new key: the new key
// joins the file, every secret is sealed again in one transaction, then
// the old key leaves the file. A failure in between leaves both keys in
// the file, so it can be run again.
func (s *API) rotateSecrets(w http.ResponseWriter, r *http.Request) {
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	s.rotating.Lock()
	defer s.rotating.Unlock()
	old := s.Secrets.ActiveID()
	if err := s.Secrets.Rotate(); err != nil {
		s.error(w, r, err)
		return
	}
	n, err := s.Store.SealSecrets(r.Context())
	if err == nil {
		err = s.Secrets.Retain()
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.Logger.Info("secrets key rotated", "kid", s.Secrets.ActiveID(), "previous", old, "resealed", n)
	web.WriteJSON(w, http.StatusOK, payload.SecretsRotation{KeyID: s.Secrets.ActiveID(), Previous: old, Resealed: n, File: s.Secrets.Path()})
}

func (s *API) retireKey(w http.ResponseWriter, r *http.Request) {
	if s.ReadOnly {
		s.error(w, r, licet.Errorf(licet.EREADONLY, "this server is read-only; retire keys on the primary"))
		return
	}
	kid := r.PathValue("kid")
	if err := s.Keys.Retire(kid); err != nil {
		s.error(w, r, licet.Errorf(licet.ECONFLICT, "%s", err.Error()))
		return
	}
	s.Logger.Info("signing key retired", "kid", kid)
	web.WriteJSON(w, http.StatusOK, s.keysAnswer())
}

func (s *API) revokeKey(w http.ResponseWriter, r *http.Request) {
	if s.ReadOnly {
		s.error(w, r, licet.Errorf(licet.EREADONLY, "this server is read-only; revoke keys on the primary"))
		return
	}
	kid := r.PathValue("kid")
	if err := s.Keys.Revoke(kid, s.Clock.Now()); err != nil {
		s.error(w, r, licet.Errorf(licet.ECONFLICT, "%s", err.Error()))
		return
	}
	s.Logger.Warn("signing key revoked", "kid", kid)
	web.WriteJSON(w, http.StatusOK, s.keysAnswer())
}
