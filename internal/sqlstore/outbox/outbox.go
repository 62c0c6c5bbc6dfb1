// Package outbox is the part of the SQL store that keeps the mail queue:
// notification mails written in the transaction of what they tell of,
// claimed by dispatchers, the consent of the addresses they go to, and
// subscriptions.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// Queue is the mail queue and what decides who gets mail.
type Queue struct{ db *sqldb.DB }

// New returns the queue kept in db.
func New(db *sqldb.DB) *Queue { return &Queue{db: db} }

// EnqueueAssignment writes, in the assignment's transaction, the mail that
// tells the organization's subscribed addresses of it. The first
// assignment of a quiet period goes at once; later ones within the
// organization's window join the pending mail, or the next one, due when
// the window after the last mail ends.
func EnqueueAssignment(ctx context.Context, tx *sqldb.Tx, org *licet.Organization, ev licet.MailEvent, now time.Time) error {
	if !org.Settings.Notifications {
		return nil
	}
	rs, err := Recipients(ctx, tx, org)
	if err != nil {
		return err
	}
	window := time.Duration(org.Settings.NotifyWindow) * time.Minute
	for _, r := range rs {
		if r.State != licet.SubSubscribed {
			continue
		}
		due := now
		if window > 0 {
			var id, dueAt, sentAt, claimed int64
			var raw, status string
			var attempts int
			err := tx.QueryRowContext(ctx, `SELECT id, events, status, due_at, sent_at, claimed_until, attempts FROM outbox
				WHERE org_id = ? AND address = ? AND kind = 'assignment' ORDER BY id DESC LIMIT 1`, org.ID, r.Address).
				Scan(&id, &raw, &status, &dueAt, &sentAt, &claimed, &attempts)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			case status == "pending" && attempts == 0 && claimed < sqldb.MS(now) && strings.Count(raw, `{"user":`) >= MaxDigest:
				due = maxTime(now, sqldb.FromMS(dueAt)) // full: another mail, due with it
			case status == "pending" && attempts == 0 && claimed < sqldb.MS(now):
				joined, err := joinMail(ctx, tx, id, raw, ev, now)
				if err != nil {
					return err
				}
				if joined {
					continue
				}
				due = maxTime(now, sqldb.FromMS(dueAt).Add(window)) // claimed meanwhile: the next mail
			default:
				last := dueAt
				if sentAt > 0 {
					last = sentAt
				}
				due = maxTime(now, sqldb.FromMS(last).Add(window))
			}
		}
		b, _ := json.Marshal([]licet.MailEvent{ev})
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (org_id, address, kind, events, created_at, due_at)
			VALUES (?, ?, 'assignment', ?, ?, ?)`, org.ID, r.Address, string(b), sqldb.MS(now), sqldb.MS(due)); err != nil {
			return err
		}
	}
	return nil
}

// MaxDigest bounds the assignments one mail tells of: a rollout larger
// than that within a window gets several digests, due together, so that
// neither joining nor rendering grows without bound.
const MaxDigest = 500

// joinMail adds an event to a pending mail unless a dispatcher has claimed
// it meanwhile (the condition is checked again under the row's lock). The
// event is appended to the stored JSON array as it is, without reading
// the array back.
func joinMail(ctx context.Context, tx *sqldb.Tx, id int64, raw string, ev licet.MailEvent, now time.Time) (bool, error) {
	raw = strings.TrimSpace(raw)
	if !strings.HasSuffix(raw, "}]") {
		return false, nil // not the array of events it should be: start another mail
	}
	b, _ := json.Marshal(ev)
	joined := raw[:len(raw)-1] + "," + string(b) + "]"
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET events = ? WHERE id = ? AND status = 'pending' AND claimed_until < ?`, joined, id, sqldb.MS(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Recipients lists every address the organization's notifications
// may go to (its listed addresses, then its administrators) with where
// each stands. Only SubSubscribed ones get mail.
func Recipients(ctx context.Context, tx *sqldb.Tx, org *licet.Organization) ([]licet.Recipient, error) {
	var out []licet.Recipient
	idx := map[string]int{}
	add := func(addr string) *licet.Recipient {
		if i, ok := idx[addr]; ok {
			return &out[i]
		}
		idx[addr] = len(out)
		out = append(out, licet.Recipient{Address: addr})
		return &out[len(out)-1]
	}
	for _, a := range org.Settings.NotificationEmails {
		add(a).Listed = true
	}
	admins, err := sqldb.Column(ctx, tx, `SELECT a.email FROM admins a JOIN admin_orgs ao ON ao.admin_id = a.id WHERE ao.org_id = ? ORDER BY a.email`, org.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range admins {
		add(a).Admin = true
	}
	consent := map[string]string{}
	rows, err := tx.QueryContext(ctx, `SELECT address, state FROM mail_consents WHERE org_id = ?`, org.ID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var a, st string
		if err := rows.Scan(&a, &st); err != nil {
			rows.Close()
			return nil, err
		}
		consent[a] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out2, err := sqldb.Column(ctx, tx, `SELECT address FROM mail_optouts WHERE org_id = ?`, org.ID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		r := &out[i]
		switch {
		case slices.Contains(out2, r.Address):
			r.State = licet.SubUnsubscribed
		case r.Admin || consent[r.Address] == "confirmed":
			r.State = licet.SubSubscribed
		case consent[r.Address] == "declined":
			r.State = licet.SubDeclined
		default: // pending, or never asked: no mail without consent
			r.State = licet.SubPending
		}
	}
	return out, nil
}

// NotificationRecipients lists where each of an organization's addresses
// stands: the Settings page marks those pending, declined or unsubscribed.
func (s *Queue) NotificationRecipients(ctx context.Context, orgID string) (out []licet.Recipient, err error) {
	defer sqldb.Failed(&err, "list notification recipients")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		org, err := sqldb.FindOrg(ctx, tx, orgID)
		if err != nil {
			return err
		}
		out, err = Recipients(ctx, tx, org)
		return err
	})
	if out == nil {
		out = []licet.Recipient{}
	}
	return out, err
}

// ConsentNewAddresses records consent for the addresses a settings change
// adds. The operator's, and administrators' own (the actor's or another
// administrator's of the organization), are confirmed. Others are pending
// and get one confirmation mail; an address asked before keeps its state,
// so typing it in again neither overrides a refusal nor sends again.
func ConsentNewAddresses(ctx context.Context, tx *sqldb.Tx, org *licet.Organization, before []string, actor string, now time.Time) error {
	var admins []string
	for _, addr := range org.Settings.NotificationEmails {
		if slices.Contains(before, addr) {
			continue
		}
		if admins == nil {
			var err error
			if admins, err = sqldb.Column(ctx, tx, `SELECT a.email FROM admins a JOIN admin_orgs ao ON ao.admin_id = a.id WHERE ao.org_id = ?`, org.ID); err != nil {
				return err
			}
			admins = append(admins, "")
		}
		if actor == licet.ActorOperator || addr == actor || slices.Contains(admins, addr) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_consents (org_id, address, state, added_by, at) VALUES (?, ?, 'confirmed', ?, ?)
				ON CONFLICT (org_id, address) DO UPDATE SET state = 'confirmed', added_by = excluded.added_by, at = excluded.at`,
				org.ID, addr, actor, sqldb.MS(now)); err != nil {
				return err
			}
			continue
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO mail_consents (org_id, address, state, added_by, at) VALUES (?, ?, 'pending', ?, ?)
			ON CONFLICT (org_id, address) DO NOTHING`, org.ID, addr, actor, sqldb.MS(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Asked before: ask again only if it is still pending and its
			// confirmation never went (dropped when the address was removed
			// before it was sent) or was pruned.
			var again int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_consents c WHERE c.org_id = ? AND c.address = ? AND c.state = 'pending'
				AND NOT EXISTS (SELECT 1 FROM outbox m WHERE m.org_id = c.org_id AND m.address = c.address AND m.kind = 'confirm')`,
				org.ID, addr).Scan(&again); err != nil {
				return err
			}
			if again == 0 {
				continue
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (org_id, address, kind, events, created_at, due_at)
			VALUES (?, ?, 'confirm', '[]', ?, ?)`, org.ID, addr, sqldb.MS(now), sqldb.MS(now)); err != nil {
			return err
		}
		if err := sqldb.Audit(ctx, tx, now, org.ID, actor, "notifications.ask", "", "address="+addr); err != nil {
			return err
		}
	}
	return nil
}

// MailCols are the columns ScanMail reads, in its order.
const MailCols = `id, org_id, address, kind, events, created_at, due_at, attempts, status, last_error, sent_at`

// ScanMail reads a mail.
func ScanMail(r sqldb.Scanner) (*licet.Mail, error) {
	var m licet.Mail
	var raw string
	var created, due, sent int64
	if err := r.Scan(&m.ID, &m.OrgID, &m.Address, &m.Kind, &raw, &created, &due, &m.Attempts, &m.Status, &m.LastError, &sent); err != nil {
		return nil, err
	}
	m.CreatedAt, m.DueAt, m.SentAt = sqldb.FromMS(created), sqldb.FromMS(due), sqldb.FromMS(sent)
	if m.Kind == licet.MailActivity {
		m.Activity, m.Events = &licet.ActivityReport{}, []licet.MailEvent{}
		return &m, json.Unmarshal([]byte(raw), m.Activity)
	}
	if err := json.Unmarshal([]byte(raw), &m.Events); err != nil {
		return nil, err
	}
	return &m, nil
}

// ClaimMail takes up to n due mails for this process for hold: no other
// dispatcher takes them meanwhile (SKIP LOCKED on PostgreSQL), and if this
// one dies they are due again when the hold ends. Each mail is checked
// against the recipients as they are now: one no longer wanted is deleted.
// An organization over its hourly cap has its mails put off until the
// oldest of its last hour's mails is an hour old.
func (s *Queue) ClaimMail(ctx context.Context, n int, hold time.Duration, perOrgHour int) (out []*licet.Mail, err error) {
	defer sqldb.Failed(&err, "claim mail")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		out = nil
		now := s.db.Clock.Now()
		rows, err := tx.QueryContext(ctx, `SELECT `+MailCols+` FROM outbox WHERE status = 'pending' AND due_at <= ? AND claimed_until < ?
			ORDER BY due_at, id LIMIT ?`+s.db.D.SkipLocked, sqldb.MS(now), sqldb.MS(now), n)
		if err != nil {
			return err
		}
		var due []*licet.Mail
		for rows.Next() {
			m, err := ScanMail(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		type orgState struct {
			org   *licet.Organization
			rs    []licet.Recipient
			sent  int
			until time.Time // when the cap lets the next mail go
		}
		orgs := map[string]*orgState{}
		for _, m := range due {
			st := orgs[m.OrgID]
			if st == nil {
				st = &orgState{}
				orgs[m.OrgID] = st
				st.org, err = sqldb.FindOrg(ctx, tx, m.OrgID)
				if licet.ErrorCode(err) == licet.ENOTFOUND {
					st.org, err = nil, nil
				}
				if err != nil {
					return err
				}
				if st.org != nil {
					if st.rs, err = Recipients(ctx, tx, st.org); err != nil {
						return err
					}
				}
				if perOrgHour > 0 {
					var oldest sql.NullInt64
					hourAgo := sqldb.MS(now.Add(-time.Hour))
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MIN(sent_at) FROM outbox WHERE org_id = ? AND sent_at > ?`,
						m.OrgID, hourAgo).Scan(&st.sent, &oldest); err != nil {
						return err
					}
					var inFlight int
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE org_id = ? AND status = 'pending' AND claimed_until >= ?`,
						m.OrgID, sqldb.MS(now)).Scan(&inFlight); err != nil {
						return err
					}
					st.sent += inFlight
					st.until = now.Add(time.Minute)
					if oldest.Valid {
						st.until = maxTime(st.until, sqldb.FromMS(oldest.Int64).Add(time.Hour))
					}
				}
			}
			if !wanted(st.org, st.rs, m) {
				if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, m.ID); err != nil {
					return err
				}
				continue
			}
			if perOrgHour > 0 && st.sent >= perOrgHour {
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET due_at = ? WHERE id = ?`, sqldb.MS(st.until), m.ID); err != nil {
					return err
				}
				continue
			}
			st.sent++
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET claimed_until = ? WHERE id = ?`, sqldb.MS(now.Add(hold)), m.ID); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// wanted reports whether a mail's address still wants it: a confirmation
// while the address is listed and pending; anything else while the
// organization sends notifications and the address is subscribed.
func wanted(org *licet.Organization, rs []licet.Recipient, m *licet.Mail) bool {
	if org == nil {
		return false
	}
	i := slices.IndexFunc(rs, func(r licet.Recipient) bool { return r.Address == m.Address })
	if i < 0 {
		return false
	}
	if m.Kind == licet.MailConfirm {
		return rs[i].Listed && rs[i].State == licet.SubPending
	}
	if m.Kind == licet.MailActivity { // a security alert: whether or not assignment notifications are on
		return rs[i].State == licet.SubSubscribed
	}
	return org.Settings.Notifications && rs[i].State == licet.SubSubscribed
}

// MailSent marks a mail delivered.
func (s *Queue) MailSent(ctx context.Context, id int64) (err error) {
	defer sqldb.Failed(&err, "mark a mail sent")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '', claimed_until = 0
			WHERE id = ?`, sqldb.MS(s.db.Clock.Now()), id)
		return err
	})
}

// MailFailed records a failed attempt: due again at retryAt, or given up
// for good when retryAt is zero.
func (s *Queue) MailFailed(ctx context.Context, id int64, reason string, retryAt time.Time) (err error) {
	defer sqldb.Failed(&err, "record a failed mail")
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		status, due := "pending", sqldb.MS(retryAt)
		if retryAt.IsZero() {
			status, due = "failed", sqldb.MS(s.db.Clock.Now())
		}
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = ?, due_at = ?, attempts = attempts + 1, last_error = ?, claimed_until = 0
			WHERE id = ?`, status, due, reason, id)
		return err
	})
}

// Mails lists the outbox, newest first ("" for every status).
func (s *Queue) Mails(ctx context.Context, status string, limit int) (out []*licet.Mail, err error) {
	defer sqldb.Failed(&err, "list mails")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		q, args := `SELECT `+MailCols+` FROM outbox`, []any{}
		if status != "" {
			q += ` WHERE status = ?`
			args = append(args, status)
		}
		rows, err := tx.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := ScanMail(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}

// MailByID returns one mail.
func (s *Queue) MailByID(ctx context.Context, id int64) (m *licet.Mail, err error) {
	defer sqldb.Failed(&err, "fetch a mail")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		m, err = ScanMail(tx.QueryRowContext(ctx, `SELECT `+MailCols+` FROM outbox WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.ENOTFOUND, "no such mail")
		}
		return err
	})
	return m, err
}

// Subscriptions lists the organizations whose notifications may go to an
// address (typed in by an administrator, or as an administrator), and
// where it stands with each.
func (s *Queue) Subscriptions(ctx context.Context, address string) (out []licet.Subscription, err error) {
	defer sqldb.Failed(&err, "list subscriptions")
	address = strings.ToLower(address)
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT `+sqldb.OrgCols+` FROM organizations o WHERE o.notification_emails LIKE ? ESCAPE '\'
			OR EXISTS (SELECT 1 FROM admin_orgs ao JOIN admins a ON a.id = ao.admin_id WHERE ao.org_id = o.id AND a.email = ?)
			ORDER BY o.name, o.id`, "%"+sqldb.LikeEscape(address)+"%", address)
		if err != nil {
			return err
		}
		var orgs []*licet.Organization
		for rows.Next() {
			o, err := sqldb.ScanOrg(rows)
			if err != nil {
				rows.Close()
				return err
			}
			orgs = append(orgs, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, o := range orgs {
			rs, err := Recipients(ctx, tx, o)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(rs, func(r licet.Recipient) bool { return r.Address == address })
			if i < 0 {
				continue // a listed address only contains this one
			}
			sub := licet.Subscription{OrgID: o.ID, OrgName: o.Name, State: rs[i].State, Subscribed: rs[i].State == licet.SubSubscribed,
				NotificationsOn: o.Settings.Notifications}
			if rs[i].State == licet.SubPending {
				err := tx.QueryRowContext(ctx, `SELECT added_by FROM mail_consents WHERE org_id = ? AND address = ?`, o.ID, address).Scan(&sub.AddedBy)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			out = append(out, sub)
		}
		return nil
	})
	return out, err
}

// SetSubscription subscribes or unsubscribes an address from one
// organization's notifications; audited with the address as actor. For an
// address waiting for its owner's consent, subscribing confirms and
// unsubscribing declines.
func (s *Queue) SetSubscription(ctx context.Context, orgID, address string, subscribed bool) (err error) {
	defer sqldb.Failed(&err, "change a subscription")
	address = strings.ToLower(address)
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		action := "notifications.subscribe"
		if subscribed {
			if _, err := tx.ExecContext(ctx, `DELETE FROM mail_optouts WHERE org_id = ? AND address = ?`, orgID, address); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE mail_consents SET state = 'confirmed', at = ? WHERE org_id = ? AND address = ? AND state <> 'confirmed'`,
				sqldb.MS(now), orgID, address)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				action = "notifications.confirm"
			}
		} else {
			action = "notifications.unsubscribe"
			res, err := tx.ExecContext(ctx, `UPDATE mail_consents SET state = 'declined', at = ? WHERE org_id = ? AND address = ? AND state = 'pending'`,
				sqldb.MS(now), orgID, address)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				action = "notifications.decline"
			} else if _, err := tx.ExecContext(ctx, `INSERT INTO mail_optouts (org_id, address, at) VALUES (?, ?, ?) ON CONFLICT (org_id, address) DO NOTHING`,
				orgID, address, sqldb.MS(now)); err != nil {
				return err
			}
		}
		return sqldb.Audit(ctx, tx, now, orgID, address, action, "", "")
	})
}

// MailCounts counts the outbox by status.
func (s *Queue) MailCounts(ctx context.Context) (used map[string]int, err error) {
	defer sqldb.Failed(&err, "count mails")
	out := map[string]int{}
	rows, err := s.db.R.QueryContext(ctx, `SELECT status, COUNT(*) FROM outbox GROUP BY status`)
	if err != nil {
		return nil, s.db.Wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}
