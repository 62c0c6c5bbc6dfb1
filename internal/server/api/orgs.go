package api

import (
	"net/http"
	"strconv"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

func (s *API) listOrgs(w http.ResponseWriter, r *http.Request) {
	orgs, err := s.Store.Organizations(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if orgs == nil {
		orgs = []*licet.Organization{}
	}
	web.WriteJSON(w, http.StatusOK, payload.OrgList{Organizations: orgs})
}

func (s *API) createOrg(w http.ResponseWriter, r *http.Request) {
	var req payload.CreateOrg
	err := s.writable()
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	id, ok := licet.ParseGUID(req.ID)
	if err == nil && !ok {
		err = licet.Errorf(licet.EINVALID, "id %q is not a GUID", req.ID)
	}
	if err == nil {
		err = licet.ValidName(req.Name)
	}
	if err == nil {
		req.URL, err = licet.CanonicalOrgURL(req.URL)
	}
	if err == nil {
		err = req.Settings.Validate()
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	o := &licet.Organization{ID: id, Name: req.Name, URL: req.URL, Settings: licet.DefaultSettings()}
	req.Settings.Name, req.Settings.URL = nil, nil
	licet.ApplyPatch(o, req.Settings)
	if err := s.Store.CreateOrganization(r.Context(), o, web.Actor(r)); err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, o)
}

func (s *API) orgDetail(r *http.Request, id string) (*payload.OrgDetail, error) {
	o, err := s.Store.Organization(r.Context(), id)
	if err != nil {
		return nil, err
	}
	seats, err := s.Store.SeatCounts(r.Context(), id)
	if err != nil {
		return nil, err
	}
	pools, err := s.Store.Pools(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if pools == nil {
		pools = []licet.Pool{}
	}
	rs, err := s.Store.NotificationRecipients(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return &payload.OrgDetail{Organization: o, Seats: seats, Pools: pools, Recipients: rs,
		TemporaryAllowance: licet.TemporaryAllowance(o, pools, s.Clock.Now()), Hosts: s.AllowList(r.Context(), o)}, nil
}

func (s *API) showOrg(w http.ResponseWriter, r *http.Request) {
	id, err := web.GUIDParam(r, "org")
	var d *payload.OrgDetail
	if err == nil {
		d, err = s.orgDetail(r, id)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, d)
}

func (s *API) updateOrg(w http.ResponseWriter, r *http.Request) {
	var p licet.SettingsPatch
	id, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = web.DecodeBody(w, r, &p)
	}
	if err == nil {
		err = p.Validate()
	}
	if _, admin := web.AdminOf(r); err == nil && admin {
		if _, more := p.ForAdmin(); more {
			err = licet.Errorf(licet.EFORBIDDEN, "the organization's name, URL, offline switch and the bounds on temporary licenses and admissions are the vendor's to change")
		}
	}
	if err == nil {
		_, err = s.Store.UpdateOrganization(r.Context(), id, p, web.Actor(r))
	}
	var d *payload.OrgDetail
	if err == nil {
		d, err = s.orgDetail(r, id)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, d)
}

func (s *API) listAudit(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" && err == nil {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxPage {
			err = licet.Errorf(licet.EINVALID, "limit must be between 1 and %d", MaxPage)
		}
	}
	if err == nil {
		_, err = s.Store.Organization(r.Context(), org)
	}
	var ev []licet.AuditEvent
	if err == nil {
		q := r.URL.Query()
		if len(q.Get("user")) > 40 || len(q.Get("action")) > 64 {
			err = licet.Errorf(licet.EINVALID, "user or action filter too long")
		} else {
			ev, err = s.Store.Audit(r.Context(), org, licet.AuditFilter{User: q.Get("user"), Action: q.Get("action"), Limit: limit})
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if ev == nil {
		ev = []licet.AuditEvent{}
	}
	web.WriteJSON(w, http.StatusOK, payload.AuditList{Events: ev})
}
