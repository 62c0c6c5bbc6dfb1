package api

import (
	"net/http"
	"strconv"
	"time"

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

func (s *API) listPools(w http.ResponseWriter, r *http.Request) {
	id, err := web.GUIDParam(r, "org")
	var pools []licet.Pool
	if err == nil {
		pools, err = s.Store.Pools(r.Context(), id)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if pools == nil {
		pools = []licet.Pool{}
	}
	web.WriteJSON(w, http.StatusOK, payload.PoolList{Pools: pools})
}

// ParseDay reads a YYYY-MM-DD date; end gives the instant the day ends.
func ParseDay(name, s string, end bool) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}, licet.Errorf(licet.EINVALID, "%s %q is not a date YYYY-MM-DD", name, s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func (s *API) addPool(w http.ResponseWriter, r *http.Request) {
	var req payload.Pool
	id, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	p := &licet.Pool{OrgID: id, LicenseType: req.LicenseType, From: s.Clock.Now().UTC().Truncate(time.Millisecond)}
	if err == nil {
		err = licet.ValidTypeName(req.LicenseType)
	}
	if err == nil && req.Seats == nil {
		err = licet.Errorf(licet.EINVALID, "seats is required")
	}
	if err == nil {
		p.Seats = *req.Seats
		err = licet.ValidSeats(p.Seats)
	}
	if err == nil && req.From != "" {
		p.From, err = ParseDay("from", req.From, false)
	}
	if err == nil && req.Until != nil && *req.Until != "" {
		p.Until, err = ParseDay("until", *req.Until, true)
		if err == nil && !p.Until.After(p.From) {
			err = licet.Errorf(licet.EINVALID, "until %s is before the pool starts", *req.Until)
		}
	}
	if err == nil {
		err = s.Store.AddPool(r.Context(), p, web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, p)
}

func (s *API) updatePool(w http.ResponseWriter, r *http.Request) {
	var req payload.Pool
	id, err := web.GUIDParam(r, "org")
	poolID, perr := strconv.ParseInt(r.PathValue("pool"), 10, 64)
	if err == nil && perr != nil {
		err = licet.Errorf(licet.EINVALID, "pool %q is not a pool number", r.PathValue("pool"))
	}
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	if err == nil && (req.LicenseType != "" || req.From != "") {
		err = licet.Errorf(licet.EINVALID, "a pool's type and start cannot change; add another pool")
	}
	var ch licet.PoolChange
	if err == nil && req.Seats != nil {
		ch.Seats = req.Seats
		err = licet.ValidSeats(*req.Seats)
	}
	if err == nil && req.Until != nil {
		var t time.Time
		if *req.Until != "" {
			t, err = ParseDay("until", *req.Until, true)
		}
		ch.Until = &t
	}
	var p *licet.Pool
	if err == nil {
		p, err = s.Store.UpdatePool(r.Context(), id, poolID, ch, web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, p)
}

// MaxPage bounds one page of a listing.
const MaxPage = 1000

func (s *API) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := licet.UserFilter{State: licet.UserState(q.Get("state")), Type: q.Get("type"), Search: q.Get("q"), Limit: MaxPage}
	id, err := web.GUIDParam(r, "org")
	switch f.State {
	case "", licet.UserUnlicensed, licet.UserTemporary, licet.UserLicensed, "disabled":
	default:
		err = licet.Errorf(licet.EINVALID, "state must be unlicensed, temporary, licensed or disabled")
	}
	if v := q.Get("limit"); v != "" && err == nil {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > MaxPage {
			err = licet.Errorf(licet.EINVALID, "limit must be between 1 and %d", MaxPage)
		}
	}
	if v := q.Get("offset"); v != "" && err == nil {
		if f.Offset, err = strconv.Atoi(v); err != nil || f.Offset < 0 {
			err = licet.Errorf(licet.EINVALID, "offset must be a number from 0")
		}
	}
	if len(f.Search) > 40 || len(f.Type) > 64 {
		err = licet.Errorf(licet.EINVALID, "search or type too long")
	}
	var users []*licet.User
	var total int
	if err == nil {
		users, total, err = s.Store.Users(r.Context(), id, f)
	}
	var pools []licet.Pool
	if err == nil {
		pools, err = s.Store.Pools(r.Context(), id)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	licet.MarkEnded(users, pools, s.Clock.Now())
	if users == nil {
		users = []*licet.User{}
	}
	web.WriteJSON(w, http.StatusOK, payload.UserPage{Offset: f.Offset, Total: total, Users: users})
}

func (s *API) showUser(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
	var user string
	if err == nil {
		user, err = web.GUIDParam(r, "user")
	}
	var u *licet.User
	if err == nil {
		u, err = s.Store.User(r.Context(), org, user)
	}
	var pools []licet.Pool
	if err == nil {
		pools, err = s.Store.Pools(r.Context(), org)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	licet.MarkEnded([]*licet.User{u}, pools, s.Clock.Now())
	web.WriteJSON(w, http.StatusOK, u)
}

func (s *API) addUser(w http.ResponseWriter, r *http.Request) {
	var req payload.AddUser
	org, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	user, ok := licet.ParseGUID(req.UserID)
	if err == nil && !ok {
		err = licet.Errorf(licet.EINVALID, "userId %q is not a GUID", req.UserID)
	}
	var u *licet.User
	if err == nil {
		u, err = s.Store.ChangeUser(r.Context(), org, user, licet.ActionAdd, "", web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, u)
}

func (s *API) changeUser(w http.ResponseWriter, r *http.Request) {
	var req payload.ChangeUser
	action := licet.UserAction(r.PathValue("action"))
	org, err := web.GUIDParam(r, "org")
	var user string
	if err == nil {
		user, err = web.GUIDParam(r, "user")
	}
	if err == nil {
		switch action {
		case licet.ActionAssign, licet.ActionUnassign, licet.ActionEnable, licet.ActionDisable:
		default:
			err = licet.Errorf(licet.ENOTFOUND, "no such action %q", action)
		}
	}
	if err == nil {
		err = s.writable()
	}
	if err == nil && r.ContentLength != 0 {
		err = web.DecodeBody(w, r, &req)
	}
	if err == nil && req.LicenseType != "" {
		err = licet.ValidTypeName(req.LicenseType)
	}
	var u *licet.User
	if err == nil {
		u, err = s.Store.ChangeUser(r.Context(), org, user, action, req.LicenseType, web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, u)
}

func (s *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	org, err := web.GUIDParam(r, "org")
	var user string
	if err == nil {
		user, err = web.GUIDParam(r, "user")
	}
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		_, err = s.Store.ChangeUser(r.Context(), org, user, licet.ActionDelete, "", web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
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

func (s *API) listTypes(w http.ResponseWriter, r *http.Request) {
	types, err := s.Store.LicenseTypes(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if types == nil {
		types = []licet.LicenseType{}
	}
	web.WriteJSON(w, http.StatusOK, payload.LicenseTypeList{LicenseTypes: types})
}

func (s *API) putType(w http.ResponseWriter, r *http.Request) {
	var req payload.PutLicenseType
	t := licet.LicenseType{Name: r.PathValue("name")}
	err := licet.ValidTypeName(t.Name)
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = web.DecodeBody(w, r, &req)
	}
	if err == nil && len(req.Includes) > licet.MaxTypeIncludes {
		err = licet.Errorf(licet.EINVALID, "a type includes at most %d others", licet.MaxTypeIncludes)
	}
	t.Includes = []string{}
	for _, inc := range req.Includes {
		if err == nil {
			err = licet.ValidTypeName(inc)
		}
		if err == nil && inc == t.Name {
			err = licet.Errorf(licet.EINVALID, "a type cannot include itself")
		}
		t.Includes = append(t.Includes, inc)
	}
	if err == nil {
		err = s.Store.PutLicenseType(r.Context(), t, web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, t)
}

// MaxBatch bounds the users one batch request changes.
const MaxBatch = 10_000

// changeUsers does one action to many users, all or nothing:
// {"action": "assign", "userIds": [...], "licenseType": "Standard"}.
func (s *API) changeUsers(w http.ResponseWriter, r *http.Request) {
	var req payload.Batch
	org, err := web.GUIDParam(r, "org")
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = web.DecodeBodyLimit(w, r, &req, 48*MaxBatch)
	}
	if err == nil {
		switch req.Action {
		case licet.ActionAdd, licet.ActionAssign, licet.ActionUnassign, licet.ActionEnable, licet.ActionDisable, licet.ActionDelete:
		default:
			err = licet.Errorf(licet.EINVALID, "action must be add, assign, unassign, enable, disable or delete")
		}
	}
	if err == nil && (len(req.UserIDs) == 0 || len(req.UserIDs) > MaxBatch) {
		err = licet.Errorf(licet.EINVALID, "userIds must list 1 to %d users", MaxBatch)
	}
	if err == nil && req.LicenseType != "" {
		err = licet.ValidTypeName(req.LicenseType)
	}
	ids := make([]string, 0, len(req.UserIDs))
	seen := make(map[string]bool, len(req.UserIDs))
	for _, raw := range req.UserIDs {
		id, ok := licet.ParseGUID(raw)
		if err == nil && !ok {
			err = licet.Errorf(licet.EINVALID, "userIds: %q is not a GUID", raw)
		}
		if err == nil && seen[id] {
			err = licet.Errorf(licet.EINVALID, "userIds: %s is listed twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	var users []*licet.User
	if err == nil {
		users, err = s.Store.ChangeUsers(r.Context(), org, ids, req.Action, req.LicenseType, web.Actor(r))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if users == nil {
		users = []*licet.User{}
	}
	web.WriteJSON(w, http.StatusOK, payload.BatchResult{Changed: len(ids), Users: users})
}

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
