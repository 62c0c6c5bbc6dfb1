package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/server/web"
)

func (s *Console) settingsPage(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	data, err := s.settingsData(r.Context(), o.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, 200, "settings", withNotice(r, &page{Title: "Settings", Tab: "settings", Admin: adminOf(r), Org: o, Data: data,
		Hosts: s.API.AllowList(r.Context(), o)}))
}

// settingsData is what the Settings page shows beside the organization:
// the license types, and where each notification address stands.
type settingsData struct {
	Types      []string
	Recipients []licet.Recipient
	SSO        []*licet.SSOProvider // the single sign-on registrations that cover the organization
}

func (s *Console) settingsData(ctx context.Context, orgID string) (*settingsData, error) {
	rs, err := s.Store.NotificationRecipients(ctx, orgID)
	if err != nil {
		return nil, err
	}
	sso, err := s.ssoOf(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return &settingsData{Types: s.typesOf(ctx), Recipients: rs, SSO: sso}, nil
}

func (s *Console) saveSettings(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	data, err := s.settingsData(r.Context(), o.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := &page{Title: "Settings", Tab: "settings", Admin: adminOf(r), Org: o, Data: data, Hosts: s.API.AllowList(r.Context(), o)}
	if err := web.ParseForm(r); err != nil {
		p.Error = "The form could not be read."
		s.render(w, 400, "settings", p)
		return
	}
	f := r.PostForm
	num := func(name string) (*int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(f.Get(name)))
		return &n, err == nil
	}
	auto, notify := f.Get("autoAssign") == "on", f.Get("notifications") == "on"
	at := f.Get("assignType")
	emails := strings.Fields(strings.ReplaceAll(f.Get("emails"), ",", " "))
	offline := f.Get("offline") == "on"
	patch := licet.SettingsPatch{AutoAssign: &auto, Notifications: &notify, AssignType: &at, NotificationEmails: &emails, Offline: &offline}
	if !adminOf(r).IsOperator() {
		patch, _ = patch.ForAdmin()
	}
	var ok1, ok2, ok3 bool
	patch.TemporaryDays, ok1 = num("temporaryDays")
	patch.FreeUnusedDays, ok2 = num("freeUnusedDays")
	patch.NotifyWindow, ok3 = num("notifyWindow")
	err = patch.Validate()
	if !ok1 || !ok2 || !ok3 {
		err = licet.Errorf(licet.EINVALID, "the numbers must be whole numbers")
	}
	if err == nil {
		_, err = s.Store.UpdateOrganization(r.Context(), o.ID, patch, adminOf(r).Email)
	}
	if err != nil {
		if code := licet.ErrorCode(err); code == licet.EINTERNAL || code == licet.EUNAVAILABLE {
			s.error(w, r, err)
			return
		}
		p.Error = licet.ErrorMessage(err)
		s.render(w, 400, "settings", p)
		return
	}
	s.done(w, r, "/admin/orgs/"+o.ID+"/settings", "settings-saved")
}
