package api

import (
	"net/http"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

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
