package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

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
