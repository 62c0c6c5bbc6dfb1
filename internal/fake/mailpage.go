package fake

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/licet/licet"
)

// MailPageStore is what the pages mails link to read and change
// (mailpage.Store): an address's subscriptions, and the mails for their
// web view.
type MailPageStore struct {
	mu    sync.Mutex
	subs  map[string][]licet.Subscription // by address, lower case
	mails map[int64]*licet.Mail
}

// NewMailPageStore makes an empty store.
func NewMailPageStore() *MailPageStore {
	return &MailPageStore{subs: map[string][]licet.Subscription{}, mails: map[int64]*licet.Mail{}}
}

// AddSubscription keeps an address's standing with an organization.
func (f *MailPageStore) AddSubscription(address string, s licet.Subscription) {
	f.mu.Lock()
	a := strings.ToLower(address)
	f.subs[a] = append(f.subs[a], s)
	f.mu.Unlock()
}

// AddMail keeps a mail for its web view.
func (f *MailPageStore) AddMail(m licet.Mail) {
	f.mu.Lock()
	f.mails[m.ID] = &m
	f.mu.Unlock()
}

func (f *MailPageStore) Subscriptions(_ context.Context, address string) ([]licet.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.subs[strings.ToLower(address)]), nil
}

// SetSubscription confirms or ends a subscription the organization made.
func (f *MailPageStore) SetSubscription(_ context.Context, orgID, address string, subscribed bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.subs[strings.ToLower(address)] {
		if s.OrgID == orgID {
			s.Subscribed, s.State = subscribed, "subscribed"
			if !subscribed {
				s.State = "unsubscribed"
			}
			f.subs[strings.ToLower(address)][i] = s
			return nil
		}
	}
	return licet.Errorf(licet.ENOTFOUND, "%s is not on organization %s's list", address, orgID)
}

func (f *MailPageStore) MailByID(_ context.Context, id int64) (*licet.Mail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.mails[id]
	if m == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "mail %d not found", id)
	}
	c := *m
	return &c, nil
}
