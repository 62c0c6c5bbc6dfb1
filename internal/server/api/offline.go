package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
	"github.com/licet/licet/protocol"
)

// OfflineState is the organization's offline view, with the newest history
// issues.
func (s *API) OfflineState(ctx context.Context, org string, history int) (*payload.OfflineView, error) {
	o, err := s.Store.Organization(ctx, org)
	if err != nil {
		return nil, err
	}
	v := &payload.OfflineView{Enabled: o.Settings.Offline}
	if v.OfflineConfig, err = s.Store.OfflineConfig(ctx, org); err != nil {
		return nil, err
	}
	v.DeviceLocation = v.Location
	if v.DeviceLocation == "" {
		v.DeviceLocation = protocol.OfflineLocation(o.URL)
	}
	if v.Changes, err = s.Offline.Changes(ctx, org); err != nil {
		return nil, err
	}
	if v.History, err = s.Store.OfflineHistory(ctx, org, history); err != nil {
		return nil, err
	}
	if v.History == nil {
		v.History = []licet.OfflineIssue{}
	}
	return v, nil
}

func (s *API) showOffline(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
	var v *payload.OfflineView
	if err == nil {
		v, err = s.OfflineState(r.Context(), org, 50)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, v)
}

// setOffline configures the backend. Administrators set the backend of
// their organizations once the vendor switched offline licenses on; the
// validity and whether automatic Update is allowed stay the vendor's.
func (s *API) setOffline(w http.ResponseWriter, r *http.Request) {
	var req payload.Offline
	org, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	_, byAdmin := web.AdminOf(r)
	if err == nil {
		err = s.ConfigureOffline(r.Context(), org, req, !byAdmin, web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.showOffline(w, r)
}

// ConfigureOffline validates and applies req; vendor says whether the
// vendor's operator asks.
func (s *API) ConfigureOffline(ctx context.Context, org string, req payload.Offline, vendor bool, actor string) error {
	if !vendor && (req.ValidDays != nil || req.AutoAllowed != nil) {
		return licet.Errorf(licet.EFORBIDDEN, "how long an offline license is valid, and whether it may be updated automatically, are the vendor's to set")
	}
	o, err := s.Store.Organization(ctx, org)
	if err != nil {
		return err
	}
	if !vendor && !o.Settings.Offline {
		return licet.Errorf(licet.ECONFLICT, "offline licenses are not enabled for organization %s; ask your vendor to enable offline licenses", org)
	}
	cfg, err := s.Store.OfflineConfig(ctx, org)
	if err != nil {
		return err
	}
	setAuth := false
	if req.BackendURL != nil {
		if !sameHost(cfg.Backend, *req.BackendURL) && cfg.Auth != "" {
			// Credentials are for the server they were given for:
			// a new host gets them only when given again.
			cfg.Auth, setAuth = "", true
		}
		cfg.Backend = *req.BackendURL
		if cfg.Backend != "" {
			if err := validBackend(cfg.Backend); err != nil {
				return err
			}
			if err := s.Offline.CheckURL(ctx, "backendUrl", cfg.Backend); err != nil {
				return err
			}
		}
	}
	if req.Location != nil {
		cfg.Location = *req.Location
		if cfg.Location != "" {
			if err := licet.ValidURL(cfg.Location); err != nil {
				return licet.Errorf(licet.EINVALID, "location: %s", licet.ErrorMessage(err))
			}
			if u, _ := url.Parse(cfg.Location); u.User != nil {
				// Devices read it anonymously; a password here would be
				// shown back and audited.
				return licet.Errorf(licet.EINVALID, "location must not hold credentials: devices read the offline license without any")
			}
			if err := s.Offline.CheckURL(ctx, "location", cfg.Location); err != nil {
				return err
			}
		}
	}
	if req.AutoAllowed != nil {
		cfg.AutoAllowed = *req.AutoAllowed
	}
	if req.AutoUpdate != nil {
		cfg.AutoUpdate = *req.AutoUpdate
		if cfg.AutoUpdate && !cfg.AutoAllowed {
			return licet.Errorf(licet.ECONFLICT, "automatic Update is not allowed for this organization; ask your vendor")
		}
	}
	if req.ValidDays != nil {
		cfg.ValidDays = *req.ValidDays
		if cfg.ValidDays < 1 || cfg.ValidDays > licet.MaxOfflineDays {
			return licet.Errorf(licet.EINVALID, "validDays must be between 1 and %d", licet.MaxOfflineDays)
		}
	}
	switch {
	case req.ClearCredentials:
		cfg.Auth, setAuth = "", true
	case req.BearerToken != "":
		cfg.Auth, setAuth = "bearer "+req.BearerToken, true
	case req.Username != "" || req.Password != "":
		if strings.Contains(req.Username, ":") || req.Username == "" || req.Password == "" {
			return licet.Errorf(licet.EINVALID, "give both the user name and the password; the user name cannot contain ':'")
		}
		cfg.Auth, setAuth = "basic "+req.Username+":"+req.Password, true
	}
	if len(cfg.Auth) > 4096 || strings.ContainsAny(cfg.Auth, "\r\n\x00") {
		return licet.Errorf(licet.EINVALID, "credentials too long or with line breaks")
	}
	return s.Store.SetOfflineConfig(ctx, org, *cfg, setAuth, actor)
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

func (s *API) issueOffline(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if _, byAdmin := web.AdminOf(r); err == nil && byAdmin {
		err = s.MayIssueOffline(org)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.Offline.Issue(r.Context(), org, web.Actor(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, res)
}

// testOffline tests the backend: a probe saved, read back where devices
// look, verified; each step reported.
func (s *API) testOffline(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = s.MayTestOffline(org)
	}
	var rep *licet.OfflineTest
	if err == nil {
		rep, err = s.Offline.Test(r.Context(), org, web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, rep)
}

// MayTestOffline bounds backend tests per organization: each one sends
// requests to a server the administrator names.
func (s *API) MayTestOffline(org string) error {
	if ok, wait := s.offlineTests.Allow(org, s.Clock.Now()); !ok {
		return licet.Errorf(licet.ERATE, "the backend was tested moments ago; try again in %s seconds", web.RetryAfter(wait))
	}
	return nil
}

// MayIssueOffline bounds administrators' Updates per organization, as
// MayTestOffline bounds tests: each one sends requests to the backend.
func (s *API) MayIssueOffline(org string) error {
	if ok, wait := s.offlineIssues.Allow(org, s.Clock.Now()); !ok {
		return licet.Errorf(licet.ERATE, "the offline license was updated moments ago; try again in %s seconds", web.RetryAfter(wait))
	}
	return nil
}

// DownloadOffline sends the newest offline license of the path's
// organization.
func (s *API) DownloadOffline(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
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
