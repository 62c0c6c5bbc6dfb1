package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
)

// enqueueAssignment writes, in the assignment's transaction, the mail that
// tells the organization's subscribed addresses of it. The first
// assignment of a quiet period goes at once; later ones within the
// organization's window join the pending mail, or the next one, due when
// the window after the last mail ends.
func enqueueAssignment(ctx context.Context, tx *Tx, org *licet.Organization, ev licet.MailEvent, now time.Time) error {
	if !org.Settings.Notifications {
		return nil
	}
	rs, err := recipientStates(ctx, tx, org)
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
			case status == "pending" && attempts == 0 && claimed < ms(now) && strings.Count(raw, `{"user":`) >= MaxDigest:
				due = maxTime(now, fromMS(dueAt)) // full: another mail, due with it
			case status == "pending" && attempts == 0 && claimed < ms(now):
				joined, err := joinMail(ctx, tx, id, raw, ev, now)
				if err != nil {
					return err
				}
				if joined {
					continue
				}
				due = maxTime(now, fromMS(dueAt).Add(window)) // claimed meanwhile: the next mail
			default:
				last := dueAt
				if sentAt > 0 {
					last = sentAt
				}
				due = maxTime(now, fromMS(last).Add(window))
			}
		}
		b, _ := json.Marshal([]licet.MailEvent{ev})
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (org_id, address, kind, events, created_at, due_at)
			VALUES (?, ?, 'assignment', ?, ?, ?)`, org.ID, r.Address, string(b), ms(now), ms(due)); err != nil {
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
func joinMail(ctx context.Context, tx *Tx, id int64, raw string, ev licet.MailEvent, now time.Time) (bool, error) {
	raw = strings.TrimSpace(raw)
	if !strings.HasSuffix(raw, "}]") {
		return false, nil // not the array of events it should be: start another mail
	}
	b, _ := json.Marshal(ev)
	joined := raw[:len(raw)-1] + "," + string(b) + "]"
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET events = ? WHERE id = ? AND status = 'pending' AND claimed_until < ?`, joined, id, ms(now))
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

// recipientStates lists every address the organization's notifications
// may go to (its listed addresses, then its administrators) with where
// each stands. Only SubSubscribed ones get mail.
func recipientStates(ctx context.Context, tx *Tx, org *licet.Organization) ([]licet.Recipient, error) {
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
	admins, err := column(ctx, tx, `SELECT a.email FROM admins a JOIN admin_orgs ao ON ao.admin_id = a.id WHERE ao.org_id = ? ORDER BY a.email`, org.ID)
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
	out2, err := column(ctx, tx, `SELECT address FROM mail_optouts WHERE org_id = ?`, org.ID)
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

// column reads a one-column query's strings.
func column(ctx context.Context, tx *Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// NotificationRecipients lists where each of an organization's addresses
// stands: the Settings page marks those pending, declined or unsubscribed.
func (s *Store) NotificationRecipients(ctx context.Context, orgID string) (out []licet.Recipient, err error) {
	defer failed(&err, "list notification recipients")
	err = s.read(ctx, func(tx *Tx) error {
		org, err := findOrg(ctx, tx, orgID)
		if err != nil {
			return err
		}
		out, err = recipientStates(ctx, tx, org)
		return err
	})
	if out == nil {
		out = []licet.Recipient{}
	}
	return out, err
}

// consentNewAddresses records consent for the addresses a settings change
// adds. The operator's, and administrators' own (the actor's or another
// administrator's of the organization), are confirmed. Others are pending
// and get one confirmation mail; an address asked before keeps its state,
// so typing it in again neither overrides a refusal nor sends again.
func consentNewAddresses(ctx context.Context, tx *Tx, org *licet.Organization, before []string, actor string, now time.Time) error {
	var admins []string
	for _, addr := range org.Settings.NotificationEmails {
		if slices.Contains(before, addr) {
			continue
		}
		if admins == nil {
			var err error
			if admins, err = column(ctx, tx, `SELECT a.email FROM admins a JOIN admin_orgs ao ON ao.admin_id = a.id WHERE ao.org_id = ?`, org.ID); err != nil {
				return err
			}
			admins = append(admins, "")
		}
		if actor == licet.ActorOperator || addr == actor || slices.Contains(admins, addr) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_consents (org_id, address, state, added_by, at) VALUES (?, ?, 'confirmed', ?, ?)
				ON CONFLICT (org_id, address) DO UPDATE SET state = 'confirmed', added_by = excluded.added_by, at = excluded.at`,
				org.ID, addr, actor, ms(now)); err != nil {
				return err
			}
			continue
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO mail_consents (org_id, address, state, added_by, at) VALUES (?, ?, 'pending', ?, ?)
			ON CONFLICT (org_id, address) DO NOTHING`, org.ID, addr, actor, ms(now))
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
			VALUES (?, ?, 'confirm', '[]', ?, ?)`, org.ID, addr, ms(now), ms(now)); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, org.ID, actor, "notifications.ask", "", "address="+addr); err != nil {
			return err
		}
	}
	return nil
}

const mailCols = `id, org_id, address, kind, events, created_at, due_at, attempts, status, last_error, sent_at`

func scanMail(r scanner) (*licet.Mail, error) {
	var m licet.Mail
	var raw string
	var created, due, sent int64
	if err := r.Scan(&m.ID, &m.OrgID, &m.Address, &m.Kind, &raw, &created, &due, &m.Attempts, &m.Status, &m.LastError, &sent); err != nil {
		return nil, err
	}
	m.CreatedAt, m.DueAt, m.SentAt = fromMS(created), fromMS(due), fromMS(sent)
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
func (s *Store) ClaimMail(ctx context.Context, n int, hold time.Duration, perOrgHour int) (out []*licet.Mail, err error) {
	defer failed(&err, "claim mail")
	err = s.write(ctx, func(tx *Tx) error {
		out = nil
		now := s.clock.Now()
		rows, err := tx.QueryContext(ctx, `SELECT `+mailCols+` FROM outbox WHERE status = 'pending' AND due_at <= ? AND claimed_until < ?
			ORDER BY due_at, id LIMIT ?`+s.d.SkipLocked, ms(now), ms(now), n)
		if err != nil {
			return err
		}
		var due []*licet.Mail
		for rows.Next() {
			m, err := scanMail(rows)
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
				st.org, err = findOrg(ctx, tx, m.OrgID)
				if licet.ErrorCode(err) == licet.ENOTFOUND {
					st.org, err = nil, nil
				}
				if err != nil {
					return err
				}
				if st.org != nil {
					if st.rs, err = recipientStates(ctx, tx, st.org); err != nil {
						return err
					}
				}
				if perOrgHour > 0 {
					var oldest sql.NullInt64
					hourAgo := ms(now.Add(-time.Hour))
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MIN(sent_at) FROM outbox WHERE org_id = ? AND sent_at > ?`,
						m.OrgID, hourAgo).Scan(&st.sent, &oldest); err != nil {
						return err
					}
					var inFlight int
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE org_id = ? AND status = 'pending' AND claimed_until >= ?`,
						m.OrgID, ms(now)).Scan(&inFlight); err != nil {
						return err
					}
					st.sent += inFlight
					st.until = now.Add(time.Minute)
					if oldest.Valid {
						st.until = maxTime(st.until, fromMS(oldest.Int64).Add(time.Hour))
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
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET due_at = ? WHERE id = ?`, ms(st.until), m.ID); err != nil {
					return err
				}
				continue
			}
			st.sent++
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET claimed_until = ? WHERE id = ?`, ms(now.Add(hold)), m.ID); err != nil {
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
func (s *Store) MailSent(ctx context.Context, id int64) (err error) {
	defer failed(&err, "mark a mail sent")
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '', claimed_until = 0
			WHERE id = ?`, ms(s.clock.Now()), id)
		return err
	})
}

// MailFailed records a failed attempt: due again at retryAt, or given up
// for good when retryAt is zero.
func (s *Store) MailFailed(ctx context.Context, id int64, reason string, retryAt time.Time) (err error) {
	defer failed(&err, "record a failed mail")
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	return s.write(ctx, func(tx *Tx) error {
		status, due := "pending", ms(retryAt)
		if retryAt.IsZero() {
			status, due = "failed", ms(s.clock.Now())
		}
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = ?, due_at = ?, attempts = attempts + 1, last_error = ?, claimed_until = 0
			WHERE id = ?`, status, due, reason, id)
		return err
	})
}

// Mails lists the outbox, newest first ("" for every status).
func (s *Store) Mails(ctx context.Context, status string, limit int) (out []*licet.Mail, err error) {
	defer failed(&err, "list mails")
	err = s.read(ctx, func(tx *Tx) error {
		q, args := `SELECT `+mailCols+` FROM outbox`, []any{}
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
			m, err := scanMail(rows)
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
func (s *Store) MailByID(ctx context.Context, id int64) (m *licet.Mail, err error) {
	defer failed(&err, "fetch a mail")
	err = s.read(ctx, func(tx *Tx) error {
		m, err = scanMail(tx.QueryRowContext(ctx, `SELECT `+mailCols+` FROM outbox WHERE id = ?`, id))
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
func (s *Store) Subscriptions(ctx context.Context, address string) (out []licet.Subscription, err error) {
	defer failed(&err, "list subscriptions")
	address = strings.ToLower(address)
	err = s.read(ctx, func(tx *Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT `+orgCols+` FROM organizations o WHERE o.notification_emails LIKE ? ESCAPE '\'
			OR EXISTS (SELECT 1 FROM admin_orgs ao JOIN admins a ON a.id = ao.admin_id WHERE ao.org_id = o.id AND a.email = ?)
			ORDER BY o.name, o.id`, "%"+likeEscape(address)+"%", address)
		if err != nil {
			return err
		}
		var orgs []*licet.Organization
		for rows.Next() {
			o, err := scanOrg(rows)
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
			rs, err := recipientStates(ctx, tx, o)
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
func (s *Store) SetSubscription(ctx context.Context, orgID, address string, subscribed bool) (err error) {
	defer failed(&err, "change a subscription")
	address = strings.ToLower(address)
	return s.write(ctx, func(tx *Tx) error {
		now := s.clock.Now()
		action := "notifications.subscribe"
		if subscribed {
			if _, err := tx.ExecContext(ctx, `DELETE FROM mail_optouts WHERE org_id = ? AND address = ?`, orgID, address); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE mail_consents SET state = 'confirmed', at = ? WHERE org_id = ? AND address = ? AND state <> 'confirmed'`,
				ms(now), orgID, address)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				action = "notifications.confirm"
			}
		} else {
			action = "notifications.unsubscribe"
			res, err := tx.ExecContext(ctx, `UPDATE mail_consents SET state = 'declined', at = ? WHERE org_id = ? AND address = ? AND state = 'pending'`,
				ms(now), orgID, address)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				action = "notifications.decline"
			} else if _, err := tx.ExecContext(ctx, `INSERT INTO mail_optouts (org_id, address, at) VALUES (?, ?, ?) ON CONFLICT (org_id, address) DO NOTHING`,
				orgID, address, ms(now)); err != nil {
				return err
			}
		}
		return audit(ctx, tx, now, orgID, address, action, "", "")
	})
}

// Secret returns a random 32-byte secret kept in the database under name,
// making it on first use, so every process (and a backup) shares it. It is
// kept sealed (see Sealer): the database alone does not give it away.
func (s *Store) Secret(ctx context.Context, name string) (v []byte, err error) {
	defer failed(&err, "read a secret")
	key := "secret:" + name
	err = s.read(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			v = nil
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if v != nil || s.readOnly {
		if v == nil {
			return nil, nil
		}
		return s.unseal(string(v), metaPlace(key))
	}
	b := make([]byte, 32)
	rand.Read(b)
	sealed, err := s.seal(b, metaPlace(key))
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, []byte(sealed))
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	})
	if err != nil {
		return nil, err
	}
	return s.unseal(string(v), metaPlace(key))
}

// MailCounts counts the outbox by status.
func (s *Store) MailCounts(ctx context.Context) (used map[string]int, err error) {
	defer failed(&err, "count mails")
	out := map[string]int{}
	rows, err := s.r.QueryContext(ctx, `SELECT status, COUNT(*) FROM outbox GROUP BY status`)
	if err != nil {
		return nil, s.wrap(err)
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
