package fake

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
)

// OfflineStore is what the offline service reads and writes
// (offline.Store): organizations with their pools and users, where each
// organization's offline license goes, and the issued licenses.
type OfflineStore struct {
	clock licet.Clock

	outage
	orgs    map[string]*licet.Organization
	pools   map[string][]licet.Pool
	users   map[string]map[string]*licet.User
	configs map[string]licet.OfflineConfig
	issues  map[string][]licet.OfflineIssue // by serial
}

// NewOfflineStore makes an empty store on clock (nil: the system clock).
func NewOfflineStore(clock licet.Clock) *OfflineStore {
	if clock == nil {
		clock = licet.SystemClock{}
	}
	return &OfflineStore{clock: clock, orgs: map[string]*licet.Organization{}, pools: map[string][]licet.Pool{},
		users: map[string]map[string]*licet.User{}, configs: map[string]licet.OfflineConfig{}, issues: map[string][]licet.OfflineIssue{}}
}

// PutOrg creates or replaces an organization.
func (f *OfflineStore) PutOrg(o licet.Organization) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgs[o.ID] = &o
}

// AddPool adds a pool to its organization.
func (f *OfflineStore) AddPool(p licet.Pool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pools[p.OrgID] = append(f.pools[p.OrgID], p)
}

// PutUser creates or replaces a user.
func (f *OfflineStore) PutUser(u licet.User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users[u.OrgID] == nil {
		f.users[u.OrgID] = map[string]*licet.User{}
	}
	f.users[u.OrgID][u.ID] = &u
}

// DeleteUser deletes a user.
func (f *OfflineStore) DeleteUser(orgID, userID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users[orgID], userID)
}

// SetConfig sets where an organization's offline license goes; automatic
// Update stays off unless allowed, as the SQL store keeps it.
func (f *OfflineStore) SetConfig(orgID string, c licet.OfflineConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c.AutoUpdate = c.AutoUpdate && c.AutoAllowed
	c.HasAuth = c.Auth != ""
	f.configs[orgID] = c
}

func (f *OfflineStore) orgLocked(id string) (*licet.Organization, error) {
	o := f.orgs[id]
	if o == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "organization %s not found", id)
	}
	c := *o
	c.Settings.NotificationEmails = slices.Clone(o.Settings.NotificationEmails)
	return &c, nil
}

// Organization implements offline.Store.
func (f *OfflineStore) Organization(_ context.Context, id string) (*licet.Organization, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	return f.orgLocked(id)
}

// Pools implements offline.Store.
func (f *OfflineStore) Pools(_ context.Context, orgID string) ([]licet.Pool, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	if _, err := f.orgLocked(orgID); err != nil {
		return nil, err
	}
	return slices.Clone(f.pools[orgID]), nil
}

// OfflineConfig implements offline.Store.
func (f *OfflineStore) OfflineConfig(_ context.Context, orgID string) (*licet.OfflineConfig, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	if _, err := f.orgLocked(orgID); err != nil {
		return nil, err
	}
	c := f.configs[orgID]
	if c.LastTest != nil {
		t := *c.LastTest
		t.Steps = slices.Clone(t.Steps)
		c.LastTest = &t
	}
	return &c, nil
}

// IssueOffline implements offline.Store: the builder gets every licensed
// user who is not disabled, by ID, and the next serial.
func (f *OfflineStore) IssueOffline(_ context.Context, orgID, actor string, build licet.OfflineBuilder) (*licet.OfflineIssue, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	org, err := f.orgLocked(orgID)
	if err != nil {
		return nil, err
	}
	if !org.Settings.Offline {
		return nil, licet.Errorf(licet.ECONFLICT, "offline licenses are not enabled for organization %s; ask your vendor to enable offline licenses", orgID)
	}
	var users []*licet.User
	for _, u := range f.users[orgID] {
		if u.State == licet.UserLicensed && !u.Disabled {
			users = append(users, copyUser(u))
		}
	}
	slices.SortFunc(users, func(a, b *licet.User) int { return strings.Compare(a.ID, b.ID) })
	serial := int64(len(f.issues[orgID]) + 1)
	doc, until, n, err := build(org, serial, users, slices.Clone(f.pools[orgID]))
	if err != nil {
		return nil, err
	}
	now := f.clock.Now()
	is := licet.OfflineIssue{OrgID: orgID, Serial: serial, IssuedAt: now.Truncate(time.Millisecond), IssuedBy: actor, Users: n,
		ValidUntil: until.Truncate(time.Millisecond), Document: doc}
	f.issues[orgID] = append(f.issues[orgID], is)
	return &is, nil
}

// RecordOfflineUpload implements offline.Store.
func (f *OfflineStore) RecordOfflineUpload(_ context.Context, orgID string, serial int64, status, detail, _ string) error {
	if err := f.enter(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	for i := range f.issues[orgID] {
		is := &f.issues[orgID][i]
		if is.Serial == serial {
			is.UploadStatus, is.UploadDetail, is.UploadedAt = status, detail, time.Time{}
			if status == "uploaded" {
				is.UploadedAt = f.clock.Now()
			}
		}
	}
	return nil
}

// RecordOfflineTest implements offline.Store.
func (f *OfflineStore) RecordOfflineTest(_ context.Context, orgID string, t licet.OfflineTest) error {
	if err := f.enter(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	if _, err := f.orgLocked(orgID); err != nil {
		return err
	}
	c := f.configs[orgID]
	t.Steps = slices.Clone(t.Steps)
	c.LastTest = &t
	f.configs[orgID] = c
	return nil
}

// OfflineHolders implements offline.Store.
func (f *OfflineStore) OfflineHolders(_ context.Context, orgID string) (map[string]string, map[string]bool, error) {
	if err := f.enter(); err != nil {
		return nil, nil, err
	}
	defer f.mu.Unlock()
	if _, err := f.orgLocked(orgID); err != nil {
		return nil, nil, err
	}
	licensed, disabled := map[string]string{}, map[string]bool{}
	for id, u := range f.users[orgID] {
		switch {
		case u.Disabled:
			disabled[id] = true
		case u.State == licet.UserLicensed:
			licensed[id] = u.LicenseType
		}
	}
	return licensed, disabled, nil
}

// OfflineAutoOrgs implements offline.Store.
func (f *OfflineStore) OfflineAutoOrgs(context.Context) ([]string, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	var out []string
	for id, o := range f.orgs {
		if c := f.configs[id]; o.Settings.Offline && c.AutoAllowed && c.AutoUpdate {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// OfflineHistory implements offline.Store: newest first, without the
// documents.
func (f *OfflineStore) OfflineHistory(_ context.Context, orgID string, limit int) ([]licet.OfflineIssue, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	if _, err := f.orgLocked(orgID); err != nil {
		return nil, err
	}
	var out []licet.OfflineIssue
	for i := len(f.issues[orgID]) - 1; i >= 0 && len(out) < limit; i-- {
		is := f.issues[orgID][i]
		is.Document = nil
		out = append(out, is)
	}
	return out, nil
}

// OfflineDocument implements offline.Store: the newest issued license.
func (f *OfflineStore) OfflineDocument(_ context.Context, orgID string) (*licet.OfflineIssue, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	if _, err := f.orgLocked(orgID); err != nil {
		return nil, err
	}
	is := f.issues[orgID]
	if len(is) == 0 {
		return nil, licet.Errorf(licet.ENOTFOUND, "organization %s has no offline license yet", orgID)
	}
	last := is[len(is)-1]
	last.Document = slices.Clone(last.Document)
	return &last, nil
}
