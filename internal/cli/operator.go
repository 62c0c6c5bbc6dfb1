package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
)

// orgDetail is the server's answer for one organization.
type orgDetail struct {
	licet.Organization
	Seats              []licet.SeatCount `json:"seats"`
	Pools              []licet.Pool      `json:"pools"`
	TemporaryAllowance int               `json:"temporaryAllowance"`
	Recipients         []licet.Recipient `json:"notificationRecipients"`
	Hosts              []licet.Host      `json:"hosts"`
}

func (p *Program) printJSON(v any) error {
	enc := json.NewEncoder(p.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func (p *Program) orgCreate(ctx context.Context, args []string) error {
	fs := p.flags("org create")
	o := fs.operator()
	id := fs.String("id", "", "the organization's GUID")
	name := fs.String("name", "", "the organization's name")
	u := fs.String("url", "", "the organization's URL")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	org, err := guid("id", *id)
	if err != nil {
		return err
	}
	if *name == "" || *u == "" {
		return usagef("--name and --url are required")
	}
	if err := licet.ValidName(*name); err != nil {
		return usagef("--name: %s", licet.ErrorMessage(err))
	}
	if err := licet.ValidURL(*u); err != nil {
		return usagef("--url: %s", licet.ErrorMessage(err))
	}
	a, err := o.client(true)
	if err != nil {
		return err
	}
	var out licet.Organization
	if err := a.do(ctx, "POST", "/v1/orgs", map[string]string{"id": org, "name": *name, "url": *u}, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out)
	}
	fmt.Fprintf(p.Stdout, "created organization %s (%s)\n", out.ID, out.Name)
	return nil
}

func (p *Program) orgSet(ctx context.Context, args []string) error {
	fs := p.flags("org set")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	name := fs.String("name", "", "new name")
	u := fs.String("url", "", "new URL")
	auto := fs.Bool("auto-assign", false, "assign free seats to new users automatically")
	assignType := fs.String("assign-type", "", `the license type automatic assignment takes ("" follows the app's Edition, else any)`)
	temp := fs.Int("temporary-days", 0, "days of a temporary license for new users when automatic assignment is off (0: none)")
	free := fs.Int("free-unused-days", 0, "move the seat of a user unseen this many days to a new user when full (0: off)")
	offline := fs.Bool("offline", false, "allow offline licenses (operator only)")
	notify := fs.Bool("notifications", false, "send license assignment notifications")
	emails := fs.String("notification-emails", "", "addresses that get notifications, comma-separated")
	window := fs.Int("notify-window", 0, "minutes within which assignments share one notification mail (0: one mail each)")
	tempMax := fs.Int("temporary-max", 0, "users that may hold a temporary license at once; -1: 10% of the active seats, at least 1 (operator only)")
	tempMaxDays := fs.Int("temporary-max-days", 0, "the longest --temporary-days administrators may set (operator only)")
	admissions := fs.Int("rate-admissions", 0, "checks that would write (assign, record, temporary) per minute; -1: the server's default, 0: no limit (operator only)")
	bindURL := fs.Bool("bind-url", false, "answer UnknownOrganization to checks whose OrganizationUrl names another host than --url")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	org, err := guid("org", *id)
	if err != nil {
		return err
	}
	if err := licet.ValidDays("--temporary-days", *temp); err != nil {
		return usagef("%s", licet.ErrorMessage(err))
	}
	if err := licet.ValidDays("--free-unused-days", *free); err != nil {
		return usagef("%s", licet.ErrorMessage(err))
	}
	var patch licet.SettingsPatch
	if fs.set("name") {
		patch.Name = name
	}
	if fs.set("url") {
		patch.URL = u
	}
	if fs.set("auto-assign") {
		patch.AutoAssign = auto
	}
	if fs.set("assign-type") {
		patch.AssignType = assignType
	}
	if fs.set("temporary-days") {
		patch.TemporaryDays = temp
	}
	if fs.set("free-unused-days") {
		patch.FreeUnusedDays = free
	}
	if fs.set("offline") {
		patch.Offline = offline
	}
	if fs.set("notifications") {
		patch.Notifications = notify
	}
	if fs.set("notify-window") {
		patch.NotifyWindow = window
	}
	if fs.set("temporary-max") {
		patch.TemporaryMax = tempMax
	}
	if fs.set("temporary-max-days") {
		patch.TemporaryMaxDays = tempMaxDays
	}
	if fs.set("rate-admissions") {
		patch.AdmissionsPerMinute = admissions
	}
	if fs.set("bind-url") {
		patch.BindURL = bindURL
	}
	if fs.set("notification-emails") {
		list := []string{}
		for _, e := range strings.Split(*emails, ",") {
			if e = strings.TrimSpace(e); e != "" {
				list = append(list, e)
			}
		}
		patch.NotificationEmails = &list
	}
	if err := patch.Validate(); err != nil {
		return usagef("%s", licet.ErrorMessage(err))
	}
	if patch == (licet.SettingsPatch{}) {
		return usagef("nothing to change: give at least one setting")
	}
	a, err := o.client(true)
	if err != nil {
		return err
	}
	var out orgDetail
	if err := a.do(ctx, "PATCH", "/v1/orgs/"+org, patch, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out)
	}
	p.printOrg(&out)
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

// lastDay shows a pool's exclusive end as the last day it is valid.
func lastDay(t time.Time) string {
	if t.IsZero() {
		return "no end"
	}
	return t.UTC().Add(-time.Millisecond).Format(time.DateOnly)
}

func (p *Program) printOrg(d *orgDetail) {
	st := d.Settings
	w := table(p.Stdout)
	fmt.Fprintf(w, "Organization\t%s\n", d.ID)
	fmt.Fprintf(w, "Name\t%s\n", d.Name)
	fmt.Fprintf(w, "URL\t%s\n", d.URL)
	at := st.AssignType
	if at == "" {
		at = "follows the app's Edition, else any"
	}
	fmt.Fprintf(w, "Automatic assignment\t%s (type: %s)\n", onOff(st.AutoAssign), at)
	fmt.Fprintf(w, "Temporary license days\t%d\n", st.TemporaryDays)
	fmt.Fprintf(w, "Temporary max days\t%d (set by the vendor)\n", st.TemporaryMaxDays)
	if st.TemporaryMax < 0 {
		fmt.Fprintf(w, "Temporary licenses max\t%d (10%% of the active seats, at least 1)\n", d.TemporaryAllowance)
	} else {
		fmt.Fprintf(w, "Temporary licenses max\t%d\n", st.TemporaryMax)
	}
	if st.FreeUnusedDays > 0 {
		fmt.Fprintf(w, "Free up unused licenses\tafter %d days\n", st.FreeUnusedDays)
	} else {
		fmt.Fprintf(w, "Free up unused licenses\toff\n")
	}
	fmt.Fprintf(w, "Offline licenses\t%s\n", onOff(st.Offline))
	switch st.AdmissionsPerMinute {
	case -1:
		fmt.Fprintf(w, "Admissions\tthe server's default per minute\n")
	case 0:
		fmt.Fprintf(w, "Admissions\tno limit\n")
	default:
		fmt.Fprintf(w, "Admissions\t%d per minute\n", st.AdmissionsPerMinute)
	}
	fmt.Fprintf(w, "URL binding\t%s\n", onOff(st.BindURL))
	if len(st.NotificationEmails) > 0 {
		digest := "one mail per assignment"
		if st.NotifyWindow > 0 {
			digest = "within " + licet.Plural(st.NotifyWindow, "minute") + " in one mail"
		}
		fmt.Fprintf(w, "Notifications\t%s to %s (%s)\n", onOff(st.Notifications), strings.Join(st.NotificationEmails, ", "), digest)
	} else {
		fmt.Fprintf(w, "Notifications\t%s\n", onOff(st.Notifications))
	}
	w.Flush()
	if len(d.Recipients) > 0 {
		fmt.Fprintln(p.Stdout)
		w = table(p.Stdout)
		fmt.Fprintln(w, "NOTIFICATION ADDRESS\tSTATE")
		for _, r := range d.Recipients {
			who := r.Address
			if r.Admin {
				who += " (administrator)"
			}
			fmt.Fprintf(w, "%s\t%s\n", who, r.State)
		}
		w.Flush()
	}
	fmt.Fprintln(p.Stdout)
	w = table(p.Stdout)
	fmt.Fprintln(w, "TYPE\tTOTAL\tUSED\tAVAILABLE")
	for _, c := range d.Seats {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", c.LicenseType, c.Total, c.Used, c.Available)
	}
	w.Flush()
	if len(d.Pools) > 0 {
		fmt.Fprintln(p.Stdout)
		p.printPools(d.Pools)
	}
	if len(d.Hosts) > 0 {
		fmt.Fprintln(p.Stdout)
		fmt.Fprintln(p.Stdout, "Hosts to allow through the organization's firewall:")
		w = table(p.Stdout)
		fmt.Fprintln(w, "HOST\tURL\tFOR")
		for _, h := range d.Hosts {
			fmt.Fprintf(w, "%s\t%s\t%s\n", h.Host, h.URL, h.Purpose)
		}
		w.Flush()
		for _, h := range d.Hosts {
			if h.Warning != "" {
				fmt.Fprintf(p.Stdout, "warning: %s: %s\n", h.Host, h.Warning)
			}
		}
	}
}

func (p *Program) printPools(pools []licet.Pool) {
	w := table(p.Stdout)
	fmt.Fprintln(w, "POOL\tTYPE\tSEATS\tFROM\tUNTIL")
	for _, pl := range pools {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\n", pl.ID, pl.LicenseType, pl.Seats, day(pl.From), lastDay(pl.Until))
	}
	w.Flush()
}

func (p *Program) orgShow(ctx context.Context, args []string) error {
	fs := p.flags("org show")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	asJSON := fs.Bool("json", false, "print JSON")
	org, a, err := fs.parseOrg(args, o, id)
	if err != nil {
		return err
	}
	var out orgDetail
	if err := a.do(ctx, "GET", "/v1/orgs/"+org, nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out)
	}
	p.printOrg(&out)
	return nil
}

func (p *Program) orgList(ctx context.Context, args []string) error {
	fs := p.flags("org list")
	o := fs.operator()
	asJSON := fs.Bool("json", false, "print JSON")
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	var out struct {
		Organizations []licet.Organization `json:"organizations"`
	}
	if err := a.do(ctx, "GET", "/v1/orgs", nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out.Organizations)
	}
	w := table(p.Stdout)
	fmt.Fprintln(w, "ID\tNAME\tURL\tAUTO-ASSIGN")
	for _, org := range out.Organizations {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", org.ID, org.Name, org.URL, onOff(org.Settings.AutoAssign))
	}
	return w.Flush()
}

func (p *Program) poolAdd(ctx context.Context, args []string) error {
	fs := p.flags("pool add")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	typ := fs.String("type", "", "the license type")
	seats := fs.Int("seats", -1, "number of seats")
	from := fs.String("from", "", "first day, YYYY-MM-DD (default now)")
	until := fs.String("until", "", "last day, YYYY-MM-DD (default no end)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	org, err := guid("org", *id)
	if err != nil {
		return err
	}
	if *typ == "" {
		return usagef("--type is required")
	}
	if err := licet.ValidTypeName(*typ); err != nil {
		return usagef("--type: %s", licet.ErrorMessage(err))
	}
	if !fs.set("seats") {
		return usagef("--seats is required")
	}
	if err := licet.ValidSeats(*seats); err != nil {
		return usagef("--seats: %s", licet.ErrorMessage(err))
	}
	if err := validDay("from", *from); err != nil {
		return err
	}
	if err := validDay("until", *until); err != nil {
		return err
	}
	a, err := o.client(true)
	if err != nil {
		return err
	}
	body := map[string]any{"licenseType": *typ, "seats": *seats, "from": *from, "until": *until}
	var out licet.Pool
	if err := a.do(ctx, "POST", "/v1/orgs/"+org+"/pools", body, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out)
	}
	fmt.Fprintf(p.Stdout, "added pool %d: %d %s seats for %s, %s to %s\n", out.ID, out.Seats, out.LicenseType, org, day(out.From), lastDay(out.Until))
	return nil
}

func (p *Program) poolSet(ctx context.Context, args []string) error {
	fs := p.flags("pool set")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	pool := fs.Int64("pool", 0, "the pool's number (see pool list)")
	seats := fs.Int("seats", 0, "new number of seats")
	until := fs.String("until", "", `new last day, YYYY-MM-DD ("" for no end)`)
	if err := fs.parse(args); err != nil {
		return err
	}
	org, err := guid("org", *id)
	if err != nil {
		return err
	}
	if *pool <= 0 {
		return usagef("--pool is required")
	}
	body := map[string]any{}
	if fs.set("seats") {
		if err := licet.ValidSeats(*seats); err != nil {
			return usagef("--seats: %s", licet.ErrorMessage(err))
		}
		body["seats"] = *seats
	}
	if fs.set("until") {
		if err := validDay("until", *until); err != nil {
			return err
		}
		body["until"] = *until
	}
	if len(body) == 0 {
		return usagef("nothing to change: give --seats or --until")
	}
	a, err := o.client(true)
	if err != nil {
		return err
	}
	var out licet.Pool
	if err := a.do(ctx, "PATCH", "/v1/orgs/"+org+"/pools/"+strconv.FormatInt(*pool, 10), body, &out); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "pool %d: %d %s seats, %s to %s\n", out.ID, out.Seats, out.LicenseType, day(out.From), lastDay(out.Until))
	return nil
}

func (p *Program) poolList(ctx context.Context, args []string) error {
	fs := p.flags("pool list")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	asJSON := fs.Bool("json", false, "print JSON")
	org, a, err := fs.parseOrg(args, o, id)
	if err != nil {
		return err
	}
	var out struct {
		Pools []licet.Pool `json:"pools"`
	}
	if err := a.do(ctx, "GET", "/v1/orgs/"+org+"/pools", nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out.Pools)
	}
	p.printPools(out.Pools)
	return nil
}

func (p *Program) typeSet(ctx context.Context, args []string) error {
	fs := p.flags("type set")
	o := fs.operator()
	name := fs.String("name", "", "the license type")
	includes := fs.String("includes", "", "types a seat of this type also serves, comma-separated")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	if err := licet.ValidTypeName(*name); err != nil {
		return usagef("--name: %s", licet.ErrorMessage(err))
	}
	inc := []string{}
	for _, s := range strings.Split(*includes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if err := licet.ValidTypeName(s); err != nil {
				return usagef("--includes: %s", licet.ErrorMessage(err))
			}
			inc = append(inc, s)
		}
	}
	a, err := o.client(true)
	if err != nil {
		return err
	}
	var out licet.LicenseType
	if err := a.do(ctx, "PUT", "/v1/license-types/"+url.PathEscape(*name), map[string]any{"includes": inc}, &out); err != nil {
		return err
	}
	if len(out.Includes) == 0 {
		fmt.Fprintf(p.Stdout, "license type %s includes no other type\n", out.Name)
	} else {
		fmt.Fprintf(p.Stdout, "license type %s includes: %s\n", out.Name, strings.Join(out.Includes, ", "))
	}
	return nil
}

func (p *Program) typeList(ctx context.Context, args []string) error {
	fs := p.flags("type list")
	o := fs.operator()
	asJSON := fs.Bool("json", false, "print JSON")
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	var out struct {
		Types []licet.LicenseType `json:"licenseTypes"`
	}
	if err := a.do(ctx, "GET", "/v1/license-types", nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out.Types)
	}
	w := table(p.Stdout)
	fmt.Fprintln(w, "TYPE\tINCLUDES")
	for _, t := range out.Types {
		fmt.Fprintf(w, "%s\t%s\n", t.Name, dash(strings.Join(t.Includes, ", ")))
	}
	return w.Flush()
}

func (p *Program) userList(ctx context.Context, args []string) error {
	fs := p.flags("user list")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	state := fs.String("state", "", "only users in this state: unlicensed, temporary, licensed or disabled")
	typ := fs.String("type", "", "only users of this license type")
	asJSON := fs.Bool("json", false, "print JSON")
	org, a, err := fs.parseOrg(args, o, id)
	if err != nil {
		return err
	}
	// Page through everything: a script asked for the whole list.
	var users []*licet.User
	for {
		q := url.Values{"state": {*state}, "type": {*typ}, "offset": {strconv.Itoa(len(users))}, "limit": {"1000"}}
		var page struct {
			Total int           `json:"total"`
			Users []*licet.User `json:"users"`
		}
		if err := a.do(ctx, "GET", "/v1/orgs/"+org+"/users?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		users = append(users, page.Users...)
		if len(page.Users) == 0 || len(users) >= page.Total {
			break
		}
	}
	if *asJSON {
		if users == nil {
			users = []*licet.User{}
		}
		return p.printJSON(users)
	}
	w := table(p.Stdout)
	fmt.Fprintln(w, "USER\tSTATE\tTYPE\tASSIGNED\tBY\tLAST SEEN\tDEVICE\tVERSION")
	for _, u := range users {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.StateText(), dash(u.LicenseType), day(u.AssignedAt), dash(u.AssignedBy),
			day(u.LastSeen), dash(u.Last.DeviceInfo), dash(u.Last.Version))
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (p *Program) userShow(ctx context.Context, args []string) error {
	fs := p.flags("user show")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	user := fs.String("user", "", "the user's GUID")
	if err := fs.parse(args); err != nil {
		return err
	}
	org, err := guid("org", *id)
	if err != nil {
		return err
	}
	uid, err := guid("user", *user)
	if err != nil {
		return err
	}
	a, err := o.client(true)
	if err != nil {
		return err
	}
	var out licet.User
	if err := a.do(ctx, "GET", "/v1/orgs/"+org+"/users/"+uid, nil, &out); err != nil {
		return err
	}
	return p.printJSON(out)
}

// userAction makes the command for one thing an operator does to a user.
func userAction(action string) func(*Program, context.Context, []string) error {
	return func(p *Program, ctx context.Context, args []string) error {
		fs := p.flags("user " + action)
		o := fs.operator()
		id := fs.String("org", "", "the organization's GUID")
		user := fs.String("user", "", "the user's GUID")
		typ := new(string)
		if action == "assign" {
			typ = fs.String("type", "", "license type (default: the type automatic assignment would take)")
		}
		if err := fs.parse(args); err != nil {
			return err
		}
		org, err := guid("org", *id)
		if err != nil {
			return err
		}
		uid, err := guid("user", *user)
		if err != nil {
			return err
		}
		a, err := o.client(true)
		if err != nil {
			return err
		}
		var out licet.User
		switch action {
		case "delete":
			err = a.do(ctx, "DELETE", "/v1/orgs/"+org+"/users/"+uid, nil, nil)
		case "add":
			err = a.do(ctx, "POST", "/v1/orgs/"+org+"/users", map[string]string{"userId": uid}, &out)
		default:
			err = a.do(ctx, "POST", "/v1/orgs/"+org+"/users/"+uid+"/"+action, map[string]string{"licenseType": *typ}, &out)
		}
		if err != nil {
			return err
		}
		switch {
		case action == "delete":
			fmt.Fprintf(p.Stdout, "deleted user %s\n", uid)
		case out.Disabled:
			fmt.Fprintf(p.Stdout, "user %s: disabled\n", uid)
		case out.State == licet.UserLicensed:
			fmt.Fprintf(p.Stdout, "user %s: licensed (%s)\n", uid, out.LicenseType)
		default:
			fmt.Fprintf(p.Stdout, "user %s: %s\n", uid, out.State)
		}
		return nil
	}
}

func (p *Program) audit(ctx context.Context, args []string) error {
	fs := p.flags("audit")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	limit := fs.Int("limit", 100, "how many events, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	org, a, err := fs.parseOrg(args, o, id)
	if err != nil {
		return err
	}
	var out struct {
		Events []licet.AuditEvent `json:"events"`
	}
	if err := a.do(ctx, "GET", fmt.Sprintf("/v1/orgs/%s/audit?limit=%d", org, *limit), nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out.Events)
	}
	w := table(p.Stdout)
	fmt.Fprintln(w, "WHEN\tWHO\tWHAT\tUSER\tDETAIL")
	for _, e := range out.Events {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, dash(e.UserID), dash(e.Detail))
	}
	return w.Flush()
}

func (p *Program) keysPublic(ctx context.Context, args []string) error {
	fs := p.flags("keys public")
	o := fs.operator()
	if err := fs.parse(args); err != nil {
		return err
	}
	a, err := o.client(false)
	if err != nil {
		return err
	}
	var out struct {
		Keys []struct {
			ID     string `json:"id"`
			PEM    string `json:"publicKeyPem"`
			Active bool   `json:"active"`
		} `json:"keys"`
	}
	if err := a.do(ctx, "GET", "/v1/keys", nil, &out); err != nil {
		return err
	}
	for _, k := range out.Keys {
		fmt.Fprint(p.Stdout, k.PEM)
	}
	return nil
}

func (p *Program) secretsRotate(ctx context.Context, args []string) error {
	fs := p.flags("secrets rotate")
	o := fs.operator()
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	var out payload.SecretsRotation
	if err := a.do(ctx, "POST", "/v1/secrets/rotate", nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "secrets are now sealed with key %s (%d sealed again; key %s removed from %s)\n", out.KeyID, out.Resealed, out.Previous, out.File)
	fmt.Fprintf(p.Stdout, "copy %s to every other server of this database and to read-only backups\n", out.File)
	return nil
}

func (p *Program) keysRotate(ctx context.Context, args []string) error {
	fs := p.flags("keys rotate")
	o := fs.operator()
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	var out struct {
		Keys []struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
		} `json:"keys"`
	}
	if err := a.do(ctx, "POST", "/v1/keys/rotate", nil, &out); err != nil {
		return err
	}
	for _, k := range out.Keys {
		if k.Active {
			fmt.Fprintf(p.Stdout, "now signing with key %s; %d key(s) published\n", k.ID, len(out.Keys))
		}
	}
	return nil
}

// validDay checks a YYYY-MM-DD flag before the server sees it.
func validDay(name, v string) error {
	if v == "" {
		return nil
	}
	if t, err := time.Parse(time.DateOnly, v); err != nil || t.Year() < 2000 {
		return usagef("--%s %q is not a date YYYY-MM-DD", name, v)
	}
	return nil
}

// parseClient parses a command's flags and returns a client for the
// operator API.
func (f *flagSet) parseClient(args []string, o *operatorFlags) (*api, error) {
	if err := f.parse(args); err != nil {
		return nil, err
	}
	return o.client(true)
}

// parseOrg parses a command that works on one organization given by
// --org, and returns it with a client for the operator API.
func (f *flagSet) parseOrg(args []string, o *operatorFlags, id *string) (string, *api, error) {
	if err := f.parse(args); err != nil {
		return "", nil, err
	}
	org, err := guid("org", *id) // a command-line mistake before any token is read
	if err != nil {
		return "", nil, err
	}
	a, err := o.client(true)
	return org, a, err
}

func (p *Program) keysRetire(ctx context.Context, args []string) error {
	return p.keyAction(ctx, "retire", args, "key %s retired: no longer published; devices that pinned it keep trusting what it signed\n")
}

func (p *Program) keysRevoke(ctx context.Context, args []string) error {
	return p.keyAction(ctx, "revoke", args, "key %s revoked: /v1/keys lists it as revoked; devices stop trusting it at their next key refresh\n")
}

// keyAction runs "licet keys retire|revoke KEYID".
func (p *Program) keyAction(ctx context.Context, action string, args []string, done string) error {
	fs := p.flags("keys " + action)
	o := fs.operator()
	var kid string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		kid, args = args[0], args[1:]
	}
	if err := fs.parse(args); err != nil {
		return err
	}
	if kid == "" || len(kid) > 64 || strings.ContainsAny(kid, "/?#% ") {
		return usagef("give the KEYID to %s (licet keys public lists them; /v1/keys names them)", action)
	}
	a, err := o.client(true)
	if err != nil {
		return err
	}
	if err := a.do(ctx, "POST", "/v1/keys/"+kid+"/"+action, nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, done, kid)
	return nil
}

func (p *Program) mailList(ctx context.Context, args []string) error {
	fs := p.flags("mail list")
	o := fs.operator()
	status := fs.String("status", "", "only mails in this state: pending, sent or failed")
	asJSON := fs.Bool("json", false, "print JSON")
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	var out struct {
		Mails []licet.Mail `json:"mails"`
	}
	if err := a.do(ctx, "GET", "/v1/mail?status="+url.QueryEscape(*status), nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out.Mails)
	}
	w := table(p.Stdout)
	fmt.Fprintln(w, "ID\tORGANIZATION\tTO\tKIND\tASSIGNMENTS\tSTATUS\tATTEMPTS\tLAST ERROR")
	for _, m := range out.Mails {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", m.ID, m.OrgID, m.Address, m.Kind, len(m.Events), m.Status, m.Attempts, dash(m.LastError))
	}
	return w.Flush()
}

func (p *Program) adminAdd(ctx context.Context, args []string) error {
	fs := p.flags("admin add")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	email := fs.String("email", "", "the administrator's e-mail address")
	org, a, err := fs.parseOrg(args, o, id)
	if err != nil {
		return err
	}
	if _, err := licet.NormalizeEmails([]string{*email}); err != nil || *email == "" {
		return usagef("--email must be a plain e-mail address")
	}
	var out struct {
		Link    string `json:"link"`
		Expires string `json:"expires"`
	}
	if err := a.do(ctx, "POST", "/v1/orgs/"+org+"/admins", map[string]string{"email": *email}, &out); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "%s administers %s. One-time link to set the password (valid until %s):\n%s\n", strings.ToLower(*email), org, out.Expires, out.Link)
	return nil
}

func (p *Program) adminRemove(ctx context.Context, args []string) error {
	fs := p.flags("admin remove")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	email := fs.String("email", "", "the administrator's e-mail address")
	org, a, err := fs.parseOrg(args, o, id)
	if err != nil {
		return err
	}
	if *email == "" || len(*email) > licet.MaxEmailLen {
		return usagef("--email is required")
	}
	if err := a.do(ctx, "DELETE", "/v1/orgs/"+org+"/admins/"+url.PathEscape(strings.ToLower(*email)), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "%s no longer administers %s\n", strings.ToLower(*email), org)
	return nil
}
