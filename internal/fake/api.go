package fake

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
)

// APIStore is what the JSON API reads and changes (api.Store): the
// organizations and their users, administrators' API tokens, and the
// rest kept as plainly as the API's tests need (offline settings, single
// sign-on registrations, mails). Snapshot and SealSecrets are not kept:
// they answer EUNAVAILABLE.
type APIStore struct {
	orgBook
	tokens  map[string]*licet.Admin // API token hash → administrator
	admins  map[[2]string]bool      // (org, e-mail)
	sso     map[string]*licet.SSOProvider
	mails   []*licet.Mail
	history map[string][]licet.OfflineIssue
}

// NewAPIStore makes an empty store on clock (nil: the system clock).
func NewAPIStore(clock licet.Clock) *APIStore {
	return &APIStore{orgBook: newOrgBook(clock), tokens: map[string]*licet.Admin{}, admins: map[[2]string]bool{},
		sso: map[string]*licet.SSOProvider{}, history: map[string][]licet.OfflineIssue{}}
}

// AddToken keeps an administrator's API token (by its hash).
func (f *APIStore) AddToken(hash string, a licet.Admin) {
	f.mu.Lock()
	f.tokens[hash] = &a
	f.mu.Unlock()
}

func (f *APIStore) AdminByToken(_ context.Context, hash string) (*licet.Admin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return nil, f.down
	}
	a := f.tokens[hash]
	if a == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "no such token")
	}
	c := *a
	return &c, nil
}

func (f *APIStore) CreateOrganization(_ context.Context, o *licet.Organization, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.orgs[o.ID] != nil {
		return licet.Errorf(licet.ECONFLICT, "organization %s exists", o.ID)
	}
	o.CreatedAt = f.clock.Now().UTC().Truncate(time.Millisecond)
	c := *o
	f.orgs[o.ID] = &c
	f.users[o.ID] = map[string]*licet.User{}
	return nil
}

func (f *APIStore) AddPool(_ context.Context, p *licet.Pool, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.org(p.OrgID); err != nil {
		return err
	}
	p.ID = int64(len(f.pools[p.OrgID]) + 1)
	f.pools[p.OrgID] = append(f.pools[p.OrgID], *p)
	return nil
}

func (f *APIStore) UpdatePool(_ context.Context, orgID string, poolID int64, c licet.PoolChange, _ string) (*licet.Pool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.pools[orgID] {
		if p := &f.pools[orgID][i]; p.ID == poolID {
			if c.Seats != nil {
				p.Seats = *c.Seats
			}
			if c.Until != nil {
				p.Until = *c.Until
			}
			cp := *p
			return &cp, nil
		}
	}
	return nil, licet.Errorf(licet.ENOTFOUND, "pool %d not found", poolID)
}

func (f *APIStore) PutLicenseType(_ context.Context, t licet.LicenseType, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.types = slices.DeleteFunc(f.types, func(x licet.LicenseType) bool { return x.Name == t.Name })
	f.types = append(f.types, t)
	return nil
}

func (f *APIStore) UserRecord(_ context.Context, orgID, userID string) (*licet.UserRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := &licet.UserRecord{}
	if u := f.users[orgID][userID]; u != nil {
		c := *u
		rec.User = &c
	}
	return rec, nil
}

func (f *APIStore) EraseAddress(_ context.Context, address string) (*licet.Erasure, error) {
	return &licet.Erasure{}, nil
}

func (f *APIStore) AddAdmin(_ context.Context, orgID, email, _ string, _ time.Time, _ string) (*licet.Admin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.org(orgID); err != nil {
		return nil, err
	}
	f.admins[[2]string{orgID, email}] = true
	return &licet.Admin{ID: int64(len(f.admins)), Email: email, Orgs: []string{orgID}}, nil
}

func (f *APIStore) RemoveAdmin(_ context.Context, orgID, email, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.admins[[2]string{orgID, email}] {
		return licet.Errorf(licet.ENOTFOUND, "%s does not administer %s", email, orgID)
	}
	delete(f.admins, [2]string{orgID, email})
	return nil
}

func (f *APIStore) SetOfflineConfig(_ context.Context, orgID string, c licet.OfflineConfig, _ bool, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.org(orgID); err != nil {
		return err
	}
	c.HasAuth = c.Auth != ""
	f.offline[orgID] = &c
	return nil
}

func (f *APIStore) OfflineHistory(_ context.Context, orgID string, limit int) ([]licet.OfflineIssue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.history[orgID]
	return slices.Clone(h[:min(limit, len(h))]), nil
}

func (f *APIStore) OfflineDocument(_ context.Context, orgID string) (*licet.OfflineIssue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.history[orgID]; len(h) > 0 {
		c := h[0]
		return &c, nil
	}
	return nil, licet.Errorf(licet.ENOTFOUND, "no offline license issued for organization %s", orgID)
}

func (f *APIStore) SSOProviders(context.Context) ([]*licet.SSOProvider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*licet.SSOProvider
	for _, p := range f.sso {
		c := *p
		out = append(out, &c)
	}
	slices.SortFunc(out, func(x, y *licet.SSOProvider) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}

func (f *APIStore) SSOProvider(_ context.Context, id string) (*licet.SSOProvider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.sso[id]
	if p == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "single sign-on provider %q not found", id)
	}
	c := *p
	return &c, nil
}

func (f *APIStore) PutSSOProvider(_ context.Context, p *licet.SSOProvider, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *p
	f.sso[p.ID] = &c
	return nil
}

func (f *APIStore) DeleteSSOProvider(_ context.Context, id, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sso[id] == nil {
		return licet.Errorf(licet.ENOTFOUND, "single sign-on provider %q not found", id)
	}
	delete(f.sso, id)
	return nil
}

// AddMail keeps a mail for the outbox listing.
func (f *APIStore) AddMail(m licet.Mail) {
	f.mu.Lock()
	f.mails = append(f.mails, &m)
	f.mu.Unlock()
}

func (f *APIStore) Mails(_ context.Context, status string, limit int) ([]*licet.Mail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*licet.Mail
	for _, m := range f.mails {
		if (status == "" || m.Status == status) && len(out) < limit {
			c := *m
			out = append(out, &c)
		}
	}
	return out, nil
}

func (f *APIStore) SealSecrets(context.Context) (int, error) {
	return 0, licet.Errorf(licet.EUNAVAILABLE, "the fake keeps no secrets")
}

func (f *APIStore) Snapshot(context.Context, string) error {
	return licet.Errorf(licet.EUNAVAILABLE, "the fake takes no snapshots")
}
