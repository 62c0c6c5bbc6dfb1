package fake

import (
	"context"
	"slices"
	"strings"

	"github.com/licet/licet"
)

// orgBook is what the console and the API both read and change:
// organizations, their pools and users, the license types, the audit log
// and the offline settings. It keeps no history beside the patches it was
// sent (Patches), which the tests of "who may change what" read.
type orgBook struct {
	clock licet.Clock

	outage
	orgs    map[string]*licet.Organization
	pools   map[string][]licet.Pool
	types   []licet.LicenseType
	users   map[string]map[string]*licet.User
	audit   map[string][]licet.AuditEvent
	offline map[string]*licet.OfflineConfig
	patches []licet.SettingsPatch
}

func newOrgBook(clock licet.Clock) orgBook {
	if clock == nil {
		clock = licet.SystemClock{}
	}
	return orgBook{clock: clock, orgs: map[string]*licet.Organization{}, pools: map[string][]licet.Pool{},
		users: map[string]map[string]*licet.User{}, audit: map[string][]licet.AuditEvent{}, offline: map[string]*licet.OfflineConfig{}}
}

// AddOrg keeps o as it is (its settings too: start from
// licet.DefaultSettings) and its pools.
func (b *orgBook) AddOrg(o licet.Organization, pools ...licet.Pool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.orgs[o.ID] = &o
	for _, p := range pools {
		p.OrgID = o.ID
		p.ID = int64(len(b.pools[o.ID]) + 1)
		b.pools[o.ID] = append(b.pools[o.ID], p)
		if !slices.ContainsFunc(b.types, func(t licet.LicenseType) bool { return t.Name == p.LicenseType }) {
			b.types = append(b.types, licet.LicenseType{Name: p.LicenseType, Includes: []string{}})
		}
	}
	if b.users[o.ID] == nil {
		b.users[o.ID] = map[string]*licet.User{}
	}
}

// AddUser keeps u in its organization.
func (b *orgBook) AddUser(u licet.User) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.users[u.OrgID] == nil {
		b.users[u.OrgID] = map[string]*licet.User{}
	}
	b.users[u.OrgID][u.ID] = &u
}

// Patches returns the settings patches applied, oldest first.
func (b *orgBook) Patches() []licet.SettingsPatch {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.patches)
}

func (b *orgBook) org(id string) (*licet.Organization, error) {
	if b.down != nil {
		return nil, b.down
	}
	o := b.orgs[id]
	if o == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "organization %s not found", id)
	}
	return o, nil
}

func (b *orgBook) Organization(_ context.Context, id string) (*licet.Organization, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.org(id)
	if err != nil {
		return nil, err
	}
	c := *o
	return &c, nil
}

func (b *orgBook) Organizations(context.Context) ([]*licet.Organization, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down != nil {
		return nil, b.down
	}
	var out []*licet.Organization
	for _, o := range b.orgs {
		c := *o
		out = append(out, &c)
	}
	slices.SortFunc(out, func(x, y *licet.Organization) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

func (b *orgBook) UpdateOrganization(_ context.Context, id string, p licet.SettingsPatch, actor string) (*licet.Organization, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.org(id)
	if err != nil {
		return nil, err
	}
	b.patches = append(b.patches, p)
	if p.Name != nil {
		o.Name = *p.Name
	}
	if p.URL != nil {
		o.URL = *p.URL
	}
	if changes := licet.ApplyPatch(o, p); len(changes) > 0 {
		b.audit[id] = append(b.audit[id], licet.AuditEvent{At: b.clock.Now(), Actor: actor, Action: "org.settings", Detail: strings.Join(changes, " ")})
	}
	c := *o
	return &c, nil
}

func (b *orgBook) SeatCounts(_ context.Context, orgID string) ([]licet.SeatCount, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.org(orgID); err != nil {
		return nil, err
	}
	var out []licet.SeatCount
	for _, p := range b.pools[orgID] {
		i := slices.IndexFunc(out, func(c licet.SeatCount) bool { return c.LicenseType == p.LicenseType })
		if i < 0 {
			out = append(out, licet.SeatCount{LicenseType: p.LicenseType})
			i = len(out) - 1
		}
		out[i].Total += p.Seats
	}
	for i := range out {
		for _, u := range b.users[orgID] {
			if u.State == licet.UserLicensed && u.LicenseType == out[i].LicenseType {
				out[i].Used++
			}
		}
		out[i].Available = max(0, out[i].Total-out[i].Used)
	}
	return out, nil
}

func (b *orgBook) Pools(_ context.Context, orgID string) ([]licet.Pool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.org(orgID); err != nil {
		return nil, err
	}
	return slices.Clone(b.pools[orgID]), nil
}

func (b *orgBook) LicenseTypes(context.Context) ([]licet.LicenseType, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down != nil {
		return nil, b.down
	}
	return slices.Clone(b.types), nil
}

func (b *orgBook) NotificationRecipients(_ context.Context, orgID string) ([]licet.Recipient, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.org(orgID)
	return nil, err
}

// Users filters by state, type and ID prefix, in ID order, then pages by
// offset and limit (not by cursor).
func (b *orgBook) Users(_ context.Context, orgID string, f licet.UserFilter) ([]*licet.User, int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.org(orgID); err != nil {
		return nil, 0, err
	}
	var all []*licet.User
	for _, u := range b.users[orgID] {
		switch {
		case f.State == "disabled" && !u.Disabled,
			f.State != "" && f.State != "disabled" && (u.State != f.State || u.Disabled),
			f.Type != "" && u.LicenseType != f.Type,
			!strings.HasPrefix(u.ID, f.Search):
			continue
		}
		c := *u
		all = append(all, &c)
	}
	slices.SortFunc(all, func(x, y *licet.User) int { return strings.Compare(x.ID, y.ID) })
	page := all[min(f.Offset, len(all)):]
	if f.Limit > 0 {
		page = page[:min(f.Limit, len(page))]
	}
	return page, len(all), nil
}

func (b *orgBook) User(_ context.Context, orgID, userID string) (*licet.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.org(orgID); err != nil {
		return nil, err
	}
	u := b.users[orgID][userID]
	if u == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "user %s not found", userID)
	}
	c := *u
	return &c, nil
}

// ChangeUsers does the action to every user, all or nothing. Assigning
// takes the first license type (or the one named) without counting seats.
func (b *orgBook) ChangeUsers(_ context.Context, orgID string, userIDs []string, action licet.UserAction, licenseType, actor string) ([]*licet.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.org(orgID); err != nil {
		return nil, err
	}
	for _, id := range userIDs {
		if b.users[orgID][id] == nil && action != licet.ActionAdd {
			return nil, licet.Errorf(licet.ENOTFOUND, "user %s not found", id)
		}
	}
	var out []*licet.User
	for _, id := range userIDs {
		u := b.users[orgID][id]
		switch action {
		case licet.ActionAdd:
			if u == nil {
				u = &licet.User{OrgID: orgID, ID: id, State: licet.UserUnlicensed}
				b.users[orgID][id] = u
			}
		case licet.ActionAssign:
			if licenseType == "" && len(b.types) > 0 {
				licenseType = b.types[0].Name
			}
			u.State, u.LicenseType, u.AssignedAt, u.AssignedBy = licet.UserLicensed, licenseType, b.clock.Now(), actor
		case licet.ActionUnassign:
			u.State, u.LicenseType = licet.UserUnlicensed, ""
		case licet.ActionEnable:
			u.Disabled = false
		case licet.ActionDisable:
			u.Disabled, u.State, u.LicenseType = true, licet.UserUnlicensed, ""
		case licet.ActionDelete:
			delete(b.users[orgID], id)
		}
		b.audit[orgID] = append(b.audit[orgID], licet.AuditEvent{At: b.clock.Now(), Actor: actor, Action: "user." + string(action), UserID: id})
		c := *u
		out = append(out, &c)
	}
	return out, nil
}

func (b *orgBook) ChangeUser(ctx context.Context, orgID, userID string, action licet.UserAction, licenseType, actor string) (*licet.User, error) {
	us, err := b.ChangeUsers(ctx, orgID, []string{userID}, action, licenseType, actor)
	if err != nil {
		return nil, err
	}
	return us[0], nil
}

// Audit lists the organization's events, newest first.
func (b *orgBook) Audit(_ context.Context, orgID string, f licet.AuditFilter) ([]licet.AuditEvent, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.org(orgID); err != nil {
		return nil, err
	}
	var out []licet.AuditEvent
	for _, e := range slices.Backward(b.audit[orgID]) {
		if (f.User == "" || e.UserID == f.User) && (f.Action == "" || e.Action == f.Action) && (f.Limit == 0 || len(out) < f.Limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (b *orgBook) OfflineConfig(_ context.Context, orgID string) (*licet.OfflineConfig, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.org(orgID); err != nil {
		return nil, err
	}
	c := licet.OfflineConfig{ValidDays: 30}
	if cfg := b.offline[orgID]; cfg != nil {
		c = *cfg
	}
	return &c, nil
}
