package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/licet/licet"
)

type offlineView struct {
	Enabled bool `json:"enabled"`
	*licet.OfflineConfig
	History []licet.OfflineIssue `json:"history"`
}

func (s *Server) showOffline(w http.ResponseWriter, r *http.Request) {
	org, err := guidParam(r, "org")
	var v offlineView
	var o *licet.Organization
	if err == nil {
		o, err = s.Store.Organization(r.Context(), org)
	}
	if err == nil {
		v.Enabled = o.Settings.Offline
		v.OfflineConfig, err = s.Store.OfflineConfig(r.Context(), org)
	}
	if err == nil {
		v.History, err = s.Store.OfflineHistory(r.Context(), org, 50)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if v.History == nil {
		v.History = []licet.OfflineIssue{}
	}
	writeJSON(w, http.StatusOK, v)
}

// setOffline configures the backend. Credentials are write-only: give
// "username" and "password", or "bearerToken", or "clearCredentials".
func (s *Server) setOffline(w http.ResponseWriter, r *http.Request) {
	var req struct {
		BackendURL       *string `json:"backendUrl"`
		Username         string  `json:"username"`
		Password         string  `json:"password"`
		BearerToken      string  `json:"bearerToken"`
		ClearCredentials bool    `json:"clearCredentials"`
		ValidDays        *int    `json:"validDays"`
		Location         *string `json:"location"`
	}
	org, err := guidParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = decodeBody(w, r, &req)
	}
	var cfg *licet.OfflineConfig
	if err == nil {
		cfg, err = s.Store.OfflineConfig(r.Context(), org)
	}
	setAuth := false
	if err == nil {
		if req.BackendURL != nil {
			if sameHost(cfg.Backend, *req.BackendURL) == false && cfg.Auth != "" {
				// Credentials are for the server they were given for:
				// a new host gets them only when given again.
				cfg.Auth, setAuth = "", true
			}
			cfg.Backend = *req.BackendURL
			if cfg.Backend != "" {
				err = validBackend(cfg.Backend)
			}
		}
		if err == nil && req.Location != nil {
			cfg.Location = *req.Location
			if cfg.Location != "" {
				err = licet.ValidURL(cfg.Location)
			}
		}
		if err == nil && req.ValidDays != nil {
			cfg.ValidDays = *req.ValidDays
			if cfg.ValidDays < 1 || cfg.ValidDays > licet.MaxOfflineDays {
				err = licet.Errorf(licet.EINVALID, "validDays must be between 1 and %d", licet.MaxOfflineDays)
			}
		}
	}
	if err == nil {
		switch {
		case req.ClearCredentials:
			cfg.Auth, setAuth = "", true
		case req.BearerToken != "":
			cfg.Auth, setAuth = "bearer "+req.BearerToken, true
		case req.Username != "" || req.Password != "":
			if strings.Contains(req.Username, ":") || req.Username == "" {
				err = licet.Errorf(licet.EINVALID, "username must be given and cannot contain ':'")
			}
			cfg.Auth, setAuth = "basic "+req.Username+":"+req.Password, true
		}
		if len(cfg.Auth) > 4096 || strings.ContainsAny(cfg.Auth, "\r\n") {
			err = licet.Errorf(licet.EINVALID, "credentials too long or with line breaks")
		}
	}
	if err == nil {
		err = s.Store.SetOfflineConfig(r.Context(), org, *cfg, setAuth, actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.showOffline(w, r)
}

// validBackend checks a backend URL: http(s), no credentials in it.
func validBackend(s string) error {
	if err := licet.ValidURL(s); err != nil {
		return licet.Errorf(licet.EINVALID, "backendUrl: %s", licet.ErrorMessage(err))
	}
	u, _ := url.Parse(s)
	if u.User != nil {
		return licet.Errorf(licet.EINVALID, "backendUrl must not hold credentials; give username and password")
	}
	if u.Path == "" || strings.HasSuffix(u.Path, "/") {
		return licet.Errorf(licet.EINVALID, "backendUrl must name the file, e.g. https://dav.example.net/crm/licet-offline.lic")
	}
	return nil
}

func (s *Server) issueOffline(w http.ResponseWriter, r *http.Request) {
	org, err := guidParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.Offline.Issue(r.Context(), org, actor(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

func (s *Server) downloadOffline(w http.ResponseWriter, r *http.Request) {
	org, err := guidParam(r, "org")
	var is *licet.OfflineIssue
	if err == nil {
		is, err = s.Store.OfflineDocument(r.Context(), org)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="licet-offline.lic"`)
	w.Header().Set("X-Licet-Serial", strconv.FormatInt(is.Serial, 10))
	w.Header().Set("Content-Length", fmt.Sprint(len(is.Document)))
	w.Write(is.Document)
}

// sameHost reports whether two URLs name the same scheme, host and port.
func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host)
}
