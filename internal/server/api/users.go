package api

import (
	"net/http"
	"strconv"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

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
