package console

import (
	"context"
	"encoding/csv"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/server/api"
	"github.com/licet/licet/internal/server/web"
)

// userFilter reads the Mobile Users filter from a query.
func userFilter(q url.Values) (licet.UserFilter, int) {
	f := licet.UserFilter{Search: strings.ToUpper(strings.TrimSpace(q.Get("q"))), Type: q.Get("type"), Sort: q.Get("sort")}
	switch st := licet.UserState(q.Get("state")); st {
	case licet.UserUnlicensed, licet.UserTemporary, licet.UserLicensed, "disabled":
		f.State = st
	}
	if len(f.Search) > 40 {
		f.Search = f.Search[:40]
	}
	if len(f.Type) > 64 {
		f.Type = ""
	}
	if f.Sort != "lastSeen" && f.Sort != "assigned" {
		f.Sort = ""
	}
	p, _ := strconv.Atoi(q.Get("page"))
	return f, max(0, min(p, 1_000_000))
}

func (s *Console) typesOf(ctx context.Context) []string {
	types, _ := s.Store.LicenseTypes(ctx)
	var out []string
	for _, t := range types {
		out = append(out, t.Name)
	}
	return out
}

func (s *Console) usersPage(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	s.showUsers(w, r, o, 200, withNotice(r, &page{}))
}

// usersData is what the Mobile Users page shows: one page of the filtered
// users, the seats, and the links to the query and the pages around.
type usersData struct {
	Users      []*licet.User
	Total      int
	Seats      []licet.SeatCount
	Pools      []licet.Pool
	Filter     licet.UserFilter
	Types      []string
	States     []string
	Query      template.URL
	Prev, Next template.URL // "" when there is none
}

// showUsers renders Mobile Users for the request's filter, with p's message.
func (s *Console) showUsers(w http.ResponseWriter, r *http.Request, o *licet.Organization, status int, p *page) {
	f, pg := userFilter(r.URL.Query())
	f.Offset, f.Limit = pg*ConsolePage, ConsolePage
	if f.Sort == "" { // by ID: page by cursor, as fast at the end as at the start
		if a, ok := licet.ParseGUID(r.URL.Query().Get("after")); ok {
			f.After = a
		} else if b, ok := licet.ParseGUID(r.URL.Query().Get("before")); ok {
			f.Before = b
		}
	}
	users, total, err := s.Store.Users(r.Context(), o.ID, f)
	var seats []licet.SeatCount
	var pools []licet.Pool
	if err == nil {
		seats, err = s.Store.SeatCounts(r.Context(), o.ID)
	}
	if err == nil {
		pools, err = s.Store.Pools(r.Context(), o.ID)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	licet.MarkEnded(users, pools, s.Clock.Now())
	q := url.Values{"q": {f.Search}, "state": {string(f.State)}, "type": {f.Type}, "sort": {f.Sort}}
	link := func(p int) template.URL { // built from url.Values: safe as it is
		q.Set("page", strconv.Itoa(p))
		return template.URL(q.Encode())
	}
	data := &usersData{Users: users, Total: total, Seats: seats, Pools: pools, Filter: f, Types: s.typesOf(r.Context()),
		States: []string{"", "licensed", "temporary", "unlicensed", "disabled"}, Query: link(0)}
	cursor := func(name, id string) template.URL {
		c := url.Values{"q": {f.Search}, "state": {string(f.State)}, "type": {f.Type}, name: {id}}
		return template.URL(c.Encode())
	}
	switch {
	case f.Sort == "" && len(users) == 0 && f.After != "":
		data.Prev = cursor("before", f.After) // past the end: back to the last page
	case f.Sort == "" && len(users) > 0:
		// Cursor links: "previous" unless this is the first page, "next"
		// when a full page may have more behind it.
		if f.After != "" || f.Before != "" {
			data.Prev = cursor("before", users[0].ID)
		}
		if len(users) == ConsolePage && (f.Before != "" || f.After != "" || total > ConsolePage) {
			data.Next = cursor("after", users[len(users)-1].ID)
		}
	case f.Sort != "":
		if pg > 0 {
			data.Prev = link(pg - 1)
		}
		if (pg+1)*ConsolePage < total {
			data.Next = link(pg + 1)
		}
	}
	p.Title, p.Tab, p.Admin, p.Org, p.Data = "Mobile Users", "users", adminOf(r), o, data
	s.render(w, status, "users", p)
}

// usersCSV exports the filtered list, every page of it.
func (s *Console) usersCSV(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	f, _ := userFilter(r.URL.Query())
	f.Limit = 1000
	// The first page is read before anything is sent: a failure is an
	// error status, not a file with only the header.
	users, _, err := s.Store.Users(r.Context(), o.ID, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mobile-users.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"UserId", "State", "LicenseType", "AssignedAt", "AssignedBy", "LastSync", "DeviceId", "DeviceInfo", "Version", "Enabled"})
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for f.Offset = 0; ; f.Offset += 1000 {
		if f.Offset > 0 {
			if users, _, err = s.Store.Users(r.Context(), o.ID, f); err != nil {
				s.Logger.Error("csv export cut short", "err", err)
				break
			}
		}
		for _, u := range users {
			st := string(u.State)
			if u.Disabled {
				st = "disabled"
			}
			cw.Write([]string{u.ID, st, u.LicenseType, ts(u.AssignedAt), u.AssignedBy, ts(u.LastSeen), csvSafe(u.Last.DeviceID),
				csvSafe(u.Last.DeviceInfo), csvSafe(u.Last.Version), strconv.FormatBool(!u.Disabled)})
		}
		if len(users) < 1000 {
			break
		}
	}
	cw.Flush()
}

// csvSafe keeps a device-supplied value from being read as a formula by a
// spreadsheet.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Console) usersAction(w http.ResponseWriter, r *http.Request) {
	o, ok := s.orgFor(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 512<<10)
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	if err := web.ParseForm(r); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	a := adminOf(r)
	back := func(msg string) { // nothing changed: say why on the page itself
		s.showUsers(w, r, o, http.StatusBadRequest, &page{Error: msg})
	}
	var ids []string
	action := licet.UserAction(r.PostForm.Get("action"))
	raw := r.PostForm["user"]
	if r.PostForm.Get("do") == "add" {
		action = licet.ActionAdd
		raw = strings.Fields(r.PostForm.Get("ids"))
	}
	for _, v := range raw {
		id, ok := licet.ParseGUID(v)
		if !ok {
			back("Nothing changed: " + strconv.Quote(v[:min(len(v), 40)]) + " is not a user ID.")
			return
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		back("Nothing selected.")
		return
	case len(ids) > api.MaxBatch:
		back("Nothing changed: at most " + strconv.Itoa(api.MaxBatch) + " users at a time.")
		return
	}
	switch action {
	case licet.ActionAdd, licet.ActionAssign, licet.ActionUnassign, licet.ActionEnable, licet.ActionDisable, licet.ActionDelete:
	default:
		back("Nothing changed: unknown action.")
		return
	}
	typ := r.PostForm.Get("type")
	if typ != "" && licet.ValidTypeName(typ) != nil {
		typ = ""
	}
	if _, err := s.Store.ChangeUsers(r.Context(), o.ID, ids, action, typ, a.Email); err != nil {
		if licet.ErrorCode(err) == licet.EINTERNAL || licet.ErrorCode(err) == licet.EUNAVAILABLE {
			s.error(w, r, err)
			return
		}
		back("Nothing changed: " + licet.ErrorMessage(err))
		return
	}
	s.done(w, r, "/admin/orgs/"+o.ID+"/users", "users-"+string(action), int64(len(ids)))
}
