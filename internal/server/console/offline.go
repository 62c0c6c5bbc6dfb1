package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
	"github.com/licet/licet/protocol"
)

func (s *Console) offlineOrg(w http.ResponseWriter, r *http.Request) (*licet.Organization, bool) {
	o, ok := s.orgFor(w, r)
	if ok && !o.Settings.Offline {
		http.NotFound(w, r)
		return nil, false
	}
	return o, ok
}

func (s *Console) offlinePage(w http.ResponseWriter, r *http.Request) {
	o, ok := s.offlineOrg(w, r)
	if !ok {
		return
	}
	s.offlineView(w, r, o, 200, withNotice(r, &page{}))
}

// offlinePageData is what the Offline page shows.
type offlinePageData struct {
	*payload.OfflineView
	// Differ: licet saves where devices do not read, so only the backend
	// test can tell whether both name the same file.
	Differ bool
	// NotFound: the newest test did not find the probe where devices look.
	NotFound bool
}

// offlineView renders the Offline page with p's message.
func (s *Console) offlineView(w http.ResponseWriter, r *http.Request, o *licet.Organization, status int, p *page) {
	v, err := s.API.OfflineState(r.Context(), o.ID, 20)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d := &offlinePageData{OfflineView: v}
	d.Differ = v.Backend != "" && protocol.NormalizeURL(v.Backend) != protocol.NormalizeURL(v.DeviceLocation)
	if t := v.LastTest; t != nil {
		if st := t.Step("read"); st != nil && !st.OK && !st.Skipped {
			d.NotFound = true
		}
	}
	p.Title, p.Tab, p.Admin, p.Org, p.Data = "Offline license", "offline", adminOf(r), o, d
	s.render(w, status, "offline", p)
}

// offlineBackend saves the backend form. Credentials are write-only: blank
// fields keep them.
func (s *Console) offlineBackend(w http.ResponseWriter, r *http.Request) {
	o, ok := s.offlineOrg(w, r)
	if !ok {
		return
	}
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := web.ParseForm(r); err != nil {
		s.offlineView(w, r, o, 400, &page{Error: "The form could not be read."})
		return
	}
	f := r.PostForm
	backend, location := strings.TrimSpace(f.Get("backendUrl")), strings.TrimSpace(f.Get("location"))
	auto := f.Get("autoUpdate") == "on"
	req := payload.Offline{BackendURL: &backend, Location: &location, Username: strings.TrimSpace(f.Get("username")),
		Password: f.Get("password"), ClearCredentials: f.Get("clearCredentials") == "on"}
	vendor := adminOf(r).IsOperator()
	cfg, err := s.Store.OfflineConfig(r.Context(), o.ID)
	if err == nil && (cfg.AutoAllowed || auto) {
		req.AutoUpdate = &auto
	}
	if err == nil && vendor {
		allowed := f.Get("autoUpdateAllowed") == "on"
		req.AutoAllowed = &allowed
		if !allowed {
			req.AutoUpdate = &allowed
		}
		days, err2 := strconv.Atoi(strings.TrimSpace(f.Get("validDays")))
		if err2 != nil {
			err = licet.Errorf(licet.EINVALID, "the validity must be a whole number of days")
		}
		req.ValidDays = &days
	}
	if err == nil {
		err = s.API.ConfigureOffline(r.Context(), o.ID, req, vendor, adminOf(r).Email)
	}
	if err != nil {
		if code := licet.ErrorCode(err); code == licet.EINTERNAL || code == licet.EUNAVAILABLE {
			s.error(w, r, err)
			return
		}
		status, _ := web.ErrorStatus(err)
		s.offlineView(w, r, o, status, &page{Error: licet.ErrorMessage(err)})
		return
	}
	s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-backend-saved")
}

// offlineTest runs the backend test from the console.
func (s *Console) offlineTest(w http.ResponseWriter, r *http.Request) {
	o, ok := s.offlineOrg(w, r)
	if !ok {
		return
	}
	err := s.writable()
	if err == nil {
		err = s.API.MayTestOffline(o.ID)
	}
	var rep *licet.OfflineTest
	if err == nil {
		rep, err = s.Offline.Test(r.Context(), o.ID, adminOf(r).Email)
	}
	switch {
	case err != nil && (licet.ErrorCode(err) == licet.EINTERNAL || licet.ErrorCode(err) == licet.EUNAVAILABLE):
		s.error(w, r, err)
	case err != nil:
		status, _ := web.ErrorStatus(err)
		s.offlineView(w, r, o, status, &page{Error: "Not tested: " + licet.ErrorMessage(err)})
	case !rep.OK:
		s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-test-failed")
	default:
		s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-test-ok")
	}
}

func (s *Console) offlineUpdate(w http.ResponseWriter, r *http.Request) {
	o, ok := s.offlineOrg(w, r)
	if !ok {
		return
	}
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	if !adminOf(r).IsOperator() {
		if err := s.API.MayIssueOffline(o.ID); err != nil {
			status, _ := web.ErrorStatus(err)
			s.offlineView(w, r, o, status, &page{Error: "Not issued: " + licet.ErrorMessage(err)})
			return
		}
	}
	res, err := s.Offline.Issue(r.Context(), o.ID, adminOf(r).Email)
	switch {
	case err != nil && (licet.ErrorCode(err) == licet.EINTERNAL || licet.ErrorCode(err) == licet.EUNAVAILABLE):
		s.error(w, r, err)
	case err != nil:
		status, _ := web.ErrorStatus(err)
		s.offlineView(w, r, o, status, &page{Error: "Not issued: " + licet.ErrorMessage(err)})
	case res.UploadStatus == "failed":
		s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-upload-failed", res.Serial)
	default:
		s.done(w, r, "/admin/orgs/"+o.ID+"/offline", "offline-issued", res.Serial, int64(res.Users))
	}
}

func (s *Console) offlineDownload(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.offlineOrg(w, r); ok {
		s.API.DownloadOffline(w, r)
	}
}
