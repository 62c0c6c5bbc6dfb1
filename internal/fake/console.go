package fake

import (
	"context"
	"slices"
	"time"

	"github.com/licet/licet"
)

// ConsoleStore is what the console reads and changes (console.Store):
// the organizations and their users, administrators with their password
// hashes, invitation links, sessions that end at their time on the clock,
// and API tokens.
type ConsoleStore struct {
	orgBook
	admins   map[int64]*licet.Admin
	links    map[string]int64 // invitation link hash → administrator
	sessions map[string]session
	tokens   map[int64][]licet.AdminToken
	sso      []*licet.SSOProvider
}

type session struct {
	admin    int64
	provider string
	expires  time.Time
}

// NewConsoleStore makes an empty store on clock (nil: the system clock).
func NewConsoleStore(clock licet.Clock) *ConsoleStore {
	return &ConsoleStore{orgBook: newOrgBook(clock), admins: map[int64]*licet.Admin{}, links: map[string]int64{},
		sessions: map[string]session{}, tokens: map[int64][]licet.AdminToken{}}
}

// AddAdministrator keeps an administrator of orgs, with a password hash
// ("" for none yet) and an invitation link's hash ("" for none).
func (f *ConsoleStore) AddAdministrator(email, passwordHash, linkHash string, orgs ...string) *licet.Admin {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := &licet.Admin{ID: int64(len(f.admins) + 1), Email: email, PasswordHash: passwordHash, Orgs: orgs}
	f.admins[a.ID] = a
	if linkHash != "" {
		f.links[linkHash] = a.ID
	}
	c := *a
	return &c
}

// AddSSOProvider keeps a single sign-on registration.
func (f *ConsoleStore) AddSSOProvider(p *licet.SSOProvider) {
	f.mu.Lock()
	f.sso = append(f.sso, p)
	f.mu.Unlock()
}

// Session returns when the session of a token hash ends, and through
// which provider it was opened.
func (f *ConsoleStore) Session(hash string) (time.Time, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[hash]
	return s.expires, s.provider, ok
}

func (f *ConsoleStore) admin(id int64) (*licet.Admin, error) {
	a := f.admins[id]
	if a == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "administrator not found")
	}
	c := *a
	return &c, nil
}

func (f *ConsoleStore) AdminByEmail(_ context.Context, email string) (*licet.Admin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return nil, f.down
	}
	for _, a := range f.admins {
		if a.Email == email {
			return f.admin(a.ID)
		}
	}
	return nil, licet.Errorf(licet.ENOTFOUND, "administrator %s not found", email)
}

// OperatorAdmin is the operator: every organization.
func (f *ConsoleStore) OperatorAdmin(context.Context) (*licet.Admin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return nil, f.down
	}
	return f.operator(), nil
}

func (f *ConsoleStore) operator() *licet.Admin {
	a := &licet.Admin{ID: 0, Email: licet.ActorOperator}
	for id := range f.orgs {
		a.Orgs = append(a.Orgs, id)
	}
	slices.Sort(a.Orgs)
	return a
}

func (f *ConsoleStore) AdminByLink(_ context.Context, linkHash string) (*licet.Admin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.links[linkHash]
	if !ok {
		return nil, licet.Errorf(licet.ENOTFOUND, "the link is not valid")
	}
	return f.admin(id)
}

// SetAdminPassword uses the link up.
func (f *ConsoleStore) SetAdminPassword(_ context.Context, linkHash, passwordHash string) (*licet.Admin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.links[linkHash]
	if !ok {
		return nil, licet.Errorf(licet.ENOTFOUND, "the link is not valid")
	}
	delete(f.links, linkHash)
	f.admins[id].PasswordHash = passwordHash
	return f.admin(id)
}

func (f *ConsoleStore) ChangeAdminPassword(_ context.Context, adminID int64, passwordHash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.admins[adminID]
	if a == nil {
		return licet.Errorf(licet.ENOTFOUND, "administrator not found")
	}
	a.PasswordHash = passwordHash
	for h, s := range f.sessions {
		if s.admin == adminID {
			delete(f.sessions, h)
		}
	}
	return nil
}

func (f *ConsoleStore) CreateSession(_ context.Context, hash string, adminID int64, ssoProvider string, expires time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return f.down
	}
	f.sessions[hash] = session{admin: adminID, provider: ssoProvider, expires: expires}
	return nil
}

// SessionAdmin is the session's administrator while the session lasts.
func (f *ConsoleStore) SessionAdmin(_ context.Context, hash string) (*licet.Admin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return nil, f.down
	}
	s, ok := f.sessions[hash]
	if !ok || !f.clock.Now().Before(s.expires) {
		return nil, licet.Errorf(licet.ENOTFOUND, "no such session")
	}
	if s.admin == 0 {
		return f.operator(), nil
	}
	a, err := f.admin(s.admin)
	if err == nil {
		a.SSOProvider = s.provider
	}
	return a, err
}

func (f *ConsoleStore) DeleteSession(_ context.Context, hash string) error {
	f.mu.Lock()
	delete(f.sessions, hash)
	f.mu.Unlock()
	return nil
}

func (f *ConsoleStore) CreateAdminToken(_ context.Context, adminID int64, _, name, _ string) (*licet.AdminToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := licet.AdminToken{ID: int64(len(f.tokens[adminID]) + 1), Name: name, CreatedAt: f.clock.Now()}
	f.tokens[adminID] = append(f.tokens[adminID], t)
	return &t, nil
}

func (f *ConsoleStore) AdminTokens(_ context.Context, adminID int64) ([]licet.AdminToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tokens[adminID]), nil
}

func (f *ConsoleStore) RevokeAdminToken(_ context.Context, adminID, tokenID int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, t := range f.tokens[adminID] {
		if t.ID == tokenID && t.RevokedAt.IsZero() {
			f.tokens[adminID][i].RevokedAt = f.clock.Now()
			return nil
		}
	}
	return licet.Errorf(licet.ENOTFOUND, "token not found")
}

func (f *ConsoleStore) SSOProviders(context.Context) ([]*licet.SSOProvider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return nil, f.down
	}
	return slices.Clone(f.sso), nil
}

// SSORequired says whether a provider that covers one of orgs requires
// single sign-on.
func (f *ConsoleStore) SSORequired(_ context.Context, orgs []string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.sso {
		for _, o := range orgs {
			if p.Required && slices.Contains(p.Orgs, o) {
				return true, nil
			}
		}
	}
	return false, nil
}
