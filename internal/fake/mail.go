package fake

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
)

// MailStore is what the mail dispatcher reads and writes (mail.Store): the
// outbox, organizations with their seat counts, and who wants their mail.
// ClaimMail checks at send time, as the SQL store does, that a mail is
// still wanted (deleting it unsent otherwise) and holds an organization
// to its hourly cap.
type MailStore struct {
	clock licet.Clock

	outage
	orgs       map[string]*licet.Organization
	pools      map[string][]licet.Pool
	used       map[string]map[string]int
	recipients map[string][]licet.Recipient
	addedBy    map[[2]string]string
	outbox     []*mailRow
	nextID     int64
}

type mailRow struct {
	licet.Mail
	claimedUntil time.Time
}

// NewMailStore makes an empty store on clock (nil: the system clock).
func NewMailStore(clock licet.Clock) *MailStore {
	if clock == nil {
		clock = licet.SystemClock{}
	}
	return &MailStore{clock: clock, orgs: map[string]*licet.Organization{}, pools: map[string][]licet.Pool{},
		used: map[string]map[string]int{}, recipients: map[string][]licet.Recipient{}, addedBy: map[[2]string]string{}}
}

// PutOrg creates or replaces an organization.
func (f *MailStore) PutOrg(o licet.Organization) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgs[o.ID] = &o
}

// AddPool adds a pool; used sets how many seats of each type are taken.
func (f *MailStore) AddPool(p licet.Pool, used map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pools[p.OrgID] = append(f.pools[p.OrgID], p)
	f.used[p.OrgID] = used
}

// SetRecipient sets an address's standing with an organization (as the
// SQL store derives it from the settings, the administrators, the
// confirmations and the opt-outs); addedBy is who typed a pending
// address in.
func (f *MailStore) SetRecipient(orgID string, r licet.Recipient, addedBy string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.Address = strings.ToLower(r.Address)
	rs := f.recipients[orgID]
	if i := slices.IndexFunc(rs, func(x licet.Recipient) bool { return x.Address == r.Address }); i >= 0 {
		rs[i] = r
	} else {
		f.recipients[orgID] = append(rs, r)
	}
	f.addedBy[[2]string{orgID, r.Address}] = addedBy
}

// Queue puts a mail in the outbox, pending and due at its DueAt (zero:
// now), and returns its ID.
func (f *MailStore) Queue(m licet.Mail) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	now := f.clock.Now()
	m.ID, m.Status, m.Address = f.nextID, "pending", strings.ToLower(m.Address)
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	if m.DueAt.IsZero() {
		m.DueAt = now
	}
	f.outbox = append(f.outbox, &mailRow{Mail: m})
	return m.ID
}

// Mail returns a copy of a mail as stored, nil when there is none (sent
// mails stay; unwanted ones were deleted).
func (f *MailStore) Mail(id int64) *licet.Mail {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.row(id); r != nil {
		m := r.Mail
		return &m
	}
	return nil
}

func (f *MailStore) row(id int64) *mailRow {
	i := slices.IndexFunc(f.outbox, func(r *mailRow) bool { return r.ID == id })
	if i < 0 {
		return nil
	}
	return f.outbox[i]
}

// ClaimMail implements mail.Store.
func (f *MailStore) ClaimMail(_ context.Context, n int, hold time.Duration, perOrgHour int) ([]*licet.Mail, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	now := f.clock.Now()
	var due []*mailRow
	for _, r := range f.outbox {
		if r.Status == "pending" && !r.DueAt.After(now) && r.claimedUntil.Before(now) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *mailRow) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	due = due[:min(n, len(due))]
	type orgState struct {
		sent  int
		until time.Time
	}
	orgs := map[string]*orgState{}
	var out []*licet.Mail
	for _, r := range due {
		st := orgs[r.OrgID]
		if st == nil {
			st = &orgState{}
			orgs[r.OrgID] = st
			var oldest time.Time // the oldest sent within the hour
			for _, o := range f.outbox {
				switch {
				case o.OrgID != r.OrgID:
				case o.Status == "sent" && o.SentAt.After(now.Add(-time.Hour)):
					st.sent++
					if oldest.IsZero() || o.SentAt.Before(oldest) {
						oldest = o.SentAt
					}
				case o.Status == "pending" && !o.claimedUntil.Before(now):
					st.sent++
				}
			}
			// The cap lets the next mail go when the oldest leaves the hour.
			st.until = later(now.Add(time.Minute), oldest.Add(time.Hour))
		}
		if !f.wanted(&r.Mail) {
			f.outbox = slices.DeleteFunc(f.outbox, func(o *mailRow) bool { return o == r })
			continue
		}
		if perOrgHour > 0 && st.sent >= perOrgHour {
			r.DueAt = st.until
			continue
		}
		st.sent++
		r.claimedUntil = now.Add(hold)
		m := r.Mail
		out = append(out, &m)
	}
	return out, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// wanted: a confirmation while the address is listed and pending; an
// activity alert while it is subscribed; anything else while the
// organization sends notifications and the address is subscribed.
func (f *MailStore) wanted(m *licet.Mail) bool {
	org := f.orgs[m.OrgID]
	if org == nil {
		return false
	}
	rs := f.recipients[m.OrgID]
	i := slices.IndexFunc(rs, func(r licet.Recipient) bool { return r.Address == m.Address })
	if i < 0 {
		return false
	}
	switch m.Kind {
	case licet.MailConfirm:
		return rs[i].Listed && rs[i].State == licet.SubPending
	case licet.MailActivity:
		return rs[i].State == licet.SubSubscribed
	}
	return org.Settings.Notifications && rs[i].State == licet.SubSubscribed
}

// MailSent implements mail.Store.
func (f *MailStore) MailSent(_ context.Context, id int64) error {
	if err := f.enter(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	if r := f.row(id); r != nil {
		r.Status, r.SentAt, r.LastError, r.claimedUntil = "sent", f.clock.Now(), "", time.Time{}
		r.Attempts++
	}
	return nil
}

// MailFailed implements mail.Store: due again at retryAt, or given up
// when retryAt is zero.
func (f *MailStore) MailFailed(_ context.Context, id int64, reason string, retryAt time.Time) error {
	if err := f.enter(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	if r := f.row(id); r != nil {
		r.Status, r.DueAt = "pending", retryAt
		if retryAt.IsZero() {
			r.Status, r.DueAt = "failed", f.clock.Now()
		}
		r.Attempts++
		r.LastError, r.claimedUntil = reason, time.Time{}
	}
	return nil
}

// Organization implements mail.Store.
func (f *MailStore) Organization(_ context.Context, id string) (*licet.Organization, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	o := f.orgs[id]
	if o == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "organization %s not found", id)
	}
	c := *o
	c.Settings.NotificationEmails = slices.Clone(o.Settings.NotificationEmails)
	return &c, nil
}

// SeatCounts implements mail.Store.
func (f *MailStore) SeatCounts(_ context.Context, orgID string) ([]licet.SeatCount, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	if f.orgs[orgID] == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "organization %s not found", orgID)
	}
	return licet.CountSeats(f.clock.Now(), f.pools[orgID], f.used[orgID]), nil
}

// Subscriptions implements mail.Store: the organizations the address is a
// recipient of, by name.
func (f *MailStore) Subscriptions(_ context.Context, address string) ([]licet.Subscription, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	address = strings.ToLower(address)
	var out []licet.Subscription
	for id, rs := range f.recipients {
		o := f.orgs[id]
		i := slices.IndexFunc(rs, func(r licet.Recipient) bool { return r.Address == address })
		if o == nil || i < 0 {
			continue
		}
		s := licet.Subscription{OrgID: id, OrgName: o.Name, State: rs[i].State, Subscribed: rs[i].State == licet.SubSubscribed,
			NotificationsOn: o.Settings.Notifications}
		if s.State == licet.SubPending {
			s.AddedBy = f.addedBy[[2]string{id, address}]
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b licet.Subscription) int {
		if c := strings.Compare(a.OrgName, b.OrgName); c != 0 {
			return c
		}
		return strings.Compare(a.OrgID, b.OrgID)
	})
	return out, nil
}
