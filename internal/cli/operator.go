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

func (p *Program) printJSON(v any) error {
	enc := json.NewEncoder(p.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// ifSet is v when the flag name was given, else nil: a patch holds only
// what the command line changes.
func ifSet[T any](f *flagSet, name string, v *T) *T {
	if f.set(name) {
		return v
	}
	return nil
}

func (p *Program) orgCreate(ctx context.Context, args []string) error {
	c := p.opCmd("org create", withJSON)
	id := c.String("id", "", "the organization's GUID")
	name := c.String("name", "", "the organization's name")
	u := c.String("url", "", "the organization's URL")
	if err := c.parseArgs(args); err != nil {
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
	var out licet.Organization
	if err := c.call(ctx, "POST", "/v1/orgs", payload.CreateOrg{ID: org, Name: *name, URL: *u}, &out); err != nil {
		return err
	}
	return c.jsonOr(out, func() error {
		fmt.Fprintf(p.Stdout, "created organization %s (%s)\n", out.ID, out.Name)
		return nil
	})
}

func (p *Program) orgSet(ctx context.Context, args []string) error {
	c := p.opCmd("org set", withOrg|withJSON)
	name := c.String("name", "", "new name")
	u := c.String("url", "", "new URL")
	auto := c.Bool("auto-assign", false, "assign free seats to new users automatically")
	assignType := c.String("assign-type", "", `the license type automatic assignment takes ("" follows the app's Edition, else any)`)
	temp := c.Int("temporary-days", 0, "days of a temporary license for new users when automatic assignment is off (0: none)")
	free := c.Int("free-unused-days", 0, "move the seat of a user unseen this many days to a new user when full (0: off)")
	offline := c.Bool("offline", false, "allow offline licenses (operator only)")
	notify := c.Bool("notifications", false, "send license assignment notifications")
	emails := c.String("notification-emails", "", "addresses that get notifications, comma-separated")
	window := c.Int("notify-window", 0, "minutes within which assignments share one notification mail (0: one mail each)")
	tempMax := c.Int("temporary-max", 0, "users that may hold a temporary license at once; -1: 10% of the active seats, at least 1 (operator only)")
	tempMaxDays := c.Int("temporary-max-days", 0, "the longest --temporary-days administrators may set (operator only)")
	admissions := c.Int("rate-admissions", 0, "checks that would write (assign, record, temporary) per minute; -1: the server's default, 0: no limit (operator only)")
	bindURL := c.Bool("bind-url", false, "answer UnknownOrganization to checks whose OrganizationUrl names another host than --url")
	if err := c.parseArgs(args); err != nil {
		return err
	}
	if err := licet.ValidDays("--temporary-days", *temp); err != nil {
		return usagef("%s", licet.ErrorMessage(err))
	}
	if err := licet.ValidDays("--free-unused-days", *free); err != nil {
		return usagef("%s", licet.ErrorMessage(err))
	}
	f := c.flagSet
	patch := licet.SettingsPatch{Name: ifSet(f, "name", name), URL: ifSet(f, "url", u), AutoAssign: ifSet(f, "auto-assign", auto),
		AssignType: ifSet(f, "assign-type", assignType), TemporaryDays: ifSet(f, "temporary-days", temp),
		FreeUnusedDays: ifSet(f, "free-unused-days", free), Offline: ifSet(f, "offline", offline),
		Notifications: ifSet(f, "notifications", notify), NotifyWindow: ifSet(f, "notify-window", window),
		TemporaryMax: ifSet(f, "temporary-max", tempMax), TemporaryMaxDays: ifSet(f, "temporary-max-days", tempMaxDays),
		AdmissionsPerMinute: ifSet(f, "rate-admissions", admissions), BindURL: ifSet(f, "bind-url", bindURL)}
	if f.set("notification-emails") {
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
	out := orgDetail()
	if err := c.call(ctx, "PATCH", "/v1/orgs/"+c.org, patch, &out); err != nil {
		return err
	}
	return c.jsonOr(out, func() error { p.printOrg(&out); return nil })
}

// orgDetail is an answer about one organization to decode into (its
// Organization is there to fill).
func orgDetail() payload.OrgDetail { return payload.OrgDetail{Organization: new(licet.Organization)} }

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

func (p *Program) printOrg(d *payload.OrgDetail) {
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
		printTable(p.Stdout, d.Recipients, "NOTIFICATION ADDRESS\tSTATE", func(r licet.Recipient) []any {
			who := r.Address
			if r.Admin {
				who += " (administrator)"
			}
			return []any{who, r.State}
		})
	}
	fmt.Fprintln(p.Stdout)
	printTable(p.Stdout, d.Seats, "TYPE\tTOTAL\tUSED\tAVAILABLE", func(c licet.SeatCount) []any {
		return []any{c.LicenseType, c.Total, c.Used, c.Available}
	})
	if len(d.Pools) > 0 {
		fmt.Fprintln(p.Stdout)
		printTable(p.Stdout, d.Pools, poolHeader, poolRow)
	}
	if len(d.Hosts) > 0 {
		fmt.Fprintln(p.Stdout)
		fmt.Fprintln(p.Stdout, "Hosts to allow through the organization's firewall:")
		printTable(p.Stdout, d.Hosts, "HOST\tURL\tFOR", func(h licet.Host) []any { return []any{h.Host, h.URL, h.Purpose} })
		for _, h := range d.Hosts {
			if h.Warning != "" {
				fmt.Fprintf(p.Stdout, "warning: %s: %s\n", h.Host, h.Warning)
			}
		}
	}
}

const poolHeader = "POOL\tTYPE\tSEATS\tFROM\tUNTIL"

func poolRow(pl licet.Pool) []any {
	return []any{pl.ID, pl.LicenseType, pl.Seats, day(pl.From), lastDay(pl.Until)}
}

func (p *Program) orgShow(ctx context.Context, args []string) error {
	c := p.opCmd("org show", withOrg|withJSON)
	if err := c.parse(args); err != nil {
		return err
	}
	out := orgDetail()
	if err := c.call(ctx, "GET", "/v1/orgs/"+c.org, nil, &out); err != nil {
		return err
	}
	return c.jsonOr(out, func() error { p.printOrg(&out); return nil })
}

func (p *Program) orgList(ctx context.Context, args []string) error {
	c := p.opCmd("org list", withJSON)
	var out payload.OrgList
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.call(ctx, "GET", "/v1/orgs", nil, &out); err != nil {
		return err
	}
	return list(c, out.Organizations, "ID\tNAME\tURL\tAUTO-ASSIGN", func(o *licet.Organization) []any {
		return []any{o.ID, o.Name, o.URL, onOff(o.Settings.AutoAssign)}
	})
}

func (p *Program) poolAdd(ctx context.Context, args []string) error {
	c := p.opCmd("pool add", withOrg|withJSON)
	typ := c.String("type", "", "the license type")
	seats := c.Int("seats", -1, "number of seats")
	from := c.String("from", "", "first day, YYYY-MM-DD (default now)")
	until := c.String("until", "", "last day, YYYY-MM-DD (default no end)")
	if err := c.parseArgs(args); err != nil {
		return err
	}
	if *typ == "" {
		return usagef("--type is required")
	}
	if err := licet.ValidTypeName(*typ); err != nil {
		return usagef("--type: %s", licet.ErrorMessage(err))
	}
	if !c.set("seats") {
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
	var out licet.Pool
	if err := c.call(ctx, "POST", "/v1/orgs/"+c.org+"/pools", payload.Pool{LicenseType: *typ, Seats: seats, From: *from, Until: until}, &out); err != nil {
		return err
	}
	return c.jsonOr(out, func() error {
		fmt.Fprintf(p.Stdout, "added pool %d: %d %s seats for %s, %s to %s\n", out.ID, out.Seats, out.LicenseType, c.org, day(out.From), lastDay(out.Until))
		return nil
	})
}

func (p *Program) poolSet(ctx context.Context, args []string) error {
	c := p.opCmd("pool set", withOrg)
	pool := c.Int64("pool", 0, "the pool's number (see pool list)")
	seats := c.Int("seats", 0, "new number of seats")
	until := c.String("until", "", `new last day, YYYY-MM-DD ("" for no end)`)
	if err := c.parseArgs(args); err != nil {
		return err
	}
	if *pool <= 0 {
		return usagef("--pool is required")
	}
	req := payload.Pool{Seats: ifSet(c.flagSet, "seats", seats), Until: ifSet(c.flagSet, "until", until)}
	if req.Seats != nil {
		if err := licet.ValidSeats(*seats); err != nil {
			return usagef("--seats: %s", licet.ErrorMessage(err))
		}
	}
	if req.Until != nil {
		if err := validDay("until", *until); err != nil {
			return err
		}
	}
	if req.Seats == nil && req.Until == nil {
		return usagef("nothing to change: give --seats or --until")
	}
	var out licet.Pool
	if err := c.call(ctx, "PATCH", "/v1/orgs/"+c.org+"/pools/"+strconv.FormatInt(*pool, 10), req, &out); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "pool %d: %d %s seats, %s to %s\n", out.ID, out.Seats, out.LicenseType, day(out.From), lastDay(out.Until))
	return nil
}

func (p *Program) poolList(ctx context.Context, args []string) error {
	c := p.opCmd("pool list", withOrg|withJSON)
	var out payload.PoolList
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.call(ctx, "GET", "/v1/orgs/"+c.org+"/pools", nil, &out); err != nil {
		return err
	}
	return list(c, out.Pools, poolHeader, poolRow)
}

func (p *Program) typeSet(ctx context.Context, args []string) error {
	c := p.opCmd("type set", 0)
	name := c.String("name", "", "the license type")
	includes := c.String("includes", "", "types a seat of this type also serves, comma-separated")
	if err := c.parseArgs(args); err != nil {
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
	var out licet.LicenseType
	if err := c.call(ctx, "PUT", "/v1/license-types/"+url.PathEscape(*name), payload.PutLicenseType{Includes: inc}, &out); err != nil {
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
	c := p.opCmd("type list", withJSON)
	var out payload.LicenseTypeList
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.call(ctx, "GET", "/v1/license-types", nil, &out); err != nil {
		return err
	}
	return list(c, out.LicenseTypes, "TYPE\tINCLUDES", func(t licet.LicenseType) []any {
		return []any{t.Name, dash(strings.Join(t.Includes, ", "))}
	})
}

func (p *Program) userList(ctx context.Context, args []string) error {
	c := p.opCmd("user list", withOrg|withJSON)
	state := c.String("state", "", "only users in this state: unlicensed, temporary, licensed or disabled")
	typ := c.String("type", "", "only users of this license type")
	if err := c.parse(args); err != nil {
		return err
	}
	// Page through everything: a script asked for the whole list.
	users := []*licet.User{}
	for {
		q := url.Values{"state": {*state}, "type": {*typ}, "offset": {strconv.Itoa(len(users))}, "limit": {"1000"}}
		var page payload.UserPage
		if err := c.call(ctx, "GET", "/v1/orgs/"+c.org+"/users?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		users = append(users, page.Users...)
		if len(page.Users) == 0 || len(users) >= page.Total {
			break
		}
	}
	return list(c, users, "USER\tSTATE\tTYPE\tASSIGNED\tBY\tLAST SEEN\tDEVICE\tVERSION", func(u *licet.User) []any {
		return []any{u.ID, u.StateText(), dash(u.LicenseType), day(u.AssignedAt), dash(u.AssignedBy),
			day(u.LastSeen), dash(u.Last.DeviceInfo), dash(u.Last.Version)}
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (p *Program) userShow(ctx context.Context, args []string) error {
	c := p.opCmd("user show", withOrg)
	user := c.String("user", "", "the user's GUID")
	if err := c.parseArgs(args); err != nil {
		return err
	}
	uid, err := guid("user", *user)
	if err != nil {
		return err
	}
	var out licet.User
	if err := c.call(ctx, "GET", "/v1/orgs/"+c.org+"/users/"+uid, nil, &out); err != nil {
		return err
	}
	return p.printJSON(out)
}

// userAction makes the command for one thing an operator does to a user.
func userAction(action string) func(*Program, context.Context, []string) error {
	return func(p *Program, ctx context.Context, args []string) error {
		c := p.opCmd("user "+action, withOrg)
		user := c.String("user", "", "the user's GUID")
		typ := new(string)
		if action == "assign" {
			typ = c.String("type", "", "license type (default: the type automatic assignment would take)")
		}
		if err := c.parseArgs(args); err != nil {
			return err
		}
		uid, err := guid("user", *user)
		if err != nil {
			return err
		}
		var out licet.User
		switch action {
		case "delete":
			err = c.call(ctx, "DELETE", "/v1/orgs/"+c.org+"/users/"+uid, nil, nil)
		case "add":
			err = c.call(ctx, "POST", "/v1/orgs/"+c.org+"/users", payload.AddUser{UserID: uid}, &out)
		default:
			err = c.call(ctx, "POST", "/v1/orgs/"+c.org+"/users/"+uid+"/"+action, payload.ChangeUser{LicenseType: *typ}, &out)
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
	c := p.opCmd("audit", withOrg|withJSON)
	limit := c.Int("limit", 100, "how many events, newest first")
	var out payload.AuditList
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.call(ctx, "GET", fmt.Sprintf("/v1/orgs/%s/audit?limit=%d", c.org, *limit), nil, &out); err != nil {
		return err
	}
	return list(c, out.Events, "WHEN\tWHO\tWHAT\tUSER\tDETAIL", func(e licet.AuditEvent) []any {
		return []any{e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, dash(e.UserID), dash(e.Detail)}
	})
}

func (p *Program) keysPublic(ctx context.Context, args []string) error {
	c := p.opCmd("keys public", noToken)
	var out payload.Keys
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.call(ctx, "GET", "/v1/keys", nil, &out); err != nil {
		return err
	}
	for _, k := range out.Keys {
		fmt.Fprint(p.Stdout, k.PEM)
	}
	return nil
}

func (p *Program) secretsRotate(ctx context.Context, args []string) error {
	c := p.opCmd("secrets rotate", 0)
	var out payload.SecretsRotation
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/v1/secrets/rotate", nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "secrets are now sealed with key %s (%d sealed again; key %s removed from %s)\n", out.KeyID, out.Resealed, out.Previous, out.File)
	fmt.Fprintf(p.Stdout, "copy %s to every other server of this database and to read-only backups\n", out.File)
	return nil
}

func (p *Program) keysRotate(ctx context.Context, args []string) error {
	c := p.opCmd("keys rotate", 0)
	var out payload.Keys
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/v1/keys/rotate", nil, &out); err != nil {
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

func (p *Program) keysRetire(ctx context.Context, args []string) error {
	return p.keyAction(ctx, "retire", args, "key %s retired: no longer published; devices that pinned it keep trusting what it signed\n")
}

func (p *Program) keysRevoke(ctx context.Context, args []string) error {
	return p.keyAction(ctx, "revoke", args, "key %s revoked: /v1/keys lists it as revoked; devices stop trusting it at their next key refresh\n")
}

// keyAction runs "licet keys retire|revoke KEYID".
func (p *Program) keyAction(ctx context.Context, action string, args []string, done string) error {
	c := p.opCmd("keys "+action, 0)
	var kid string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		kid, args = args[0], args[1:]
	}
	if err := c.parseArgs(args); err != nil {
		return err
	}
	if kid == "" || len(kid) > 64 || strings.ContainsAny(kid, "/?#% ") {
		return usagef("give the KEYID to %s (licet keys public lists them; /v1/keys names them)", action)
	}
	if err := c.call(ctx, "POST", "/v1/keys/"+kid+"/"+action, nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, done, kid)
	return nil
}

func (p *Program) mailList(ctx context.Context, args []string) error {
	c := p.opCmd("mail list", withJSON)
	status := c.String("status", "", "only mails in this state: pending, sent or failed")
	var out payload.MailList
	if err := c.parse(args); err != nil {
		return err
	}
	if err := c.call(ctx, "GET", "/v1/mail?status="+url.QueryEscape(*status), nil, &out); err != nil {
		return err
	}
	return list(c, out.Mails, "ID\tORGANIZATION\tTO\tKIND\tASSIGNMENTS\tSTATUS\tATTEMPTS\tLAST ERROR", func(m *licet.Mail) []any {
		return []any{m.ID, m.OrgID, m.Address, m.Kind, len(m.Events), m.Status, m.Attempts, dash(m.LastError)}
	})
}

func (p *Program) adminAdd(ctx context.Context, args []string) error {
	c := p.opCmd("admin add", withOrg)
	email := c.String("email", "", "the administrator's e-mail address")
	if err := c.parse(args); err != nil {
		return err
	}
	if _, err := licet.NormalizeEmails([]string{*email}); err != nil || *email == "" {
		return usagef("--email must be a plain e-mail address")
	}
	var out payload.Invitation
	if err := c.call(ctx, "POST", "/v1/orgs/"+c.org+"/admins", payload.Email{Email: *email}, &out); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "%s administers %s. One-time link to set the password (valid until %s):\n%s\n", strings.ToLower(*email), c.org, out.Expires, out.Link)
	return nil
}

func (p *Program) adminRemove(ctx context.Context, args []string) error {
	c := p.opCmd("admin remove", withOrg)
	email := c.String("email", "", "the administrator's e-mail address")
	if err := c.parse(args); err != nil {
		return err
	}
	if *email == "" || len(*email) > licet.MaxEmailLen {
		return usagef("--email is required")
	}
	if err := c.call(ctx, "DELETE", "/v1/orgs/"+c.org+"/admins/"+url.PathEscape(strings.ToLower(*email)), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "%s no longer administers %s\n", strings.ToLower(*email), c.org)
	return nil
}
