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
// tells the organization's subscribed addresses of it: a new mail, or the
// pending one of the same address still inside its coalescing window.
func enqueueAssignment(ctx context.Context, tx *Tx, org *licet.Organization, ev licet.MailEvent, now time.Time) error {
	if !org.Settings.Notifications {
		return nil
	}
	out, err := optouts(ctx, tx, org.ID)
	if err != nil {
		return err
	}
	to, err := recipients(ctx, tx, org)
	if err != nil {
		return err
	}
	for _, addr := range to {
		if slices.Contains(out, addr) {
			continue
		}
		var id int64
		var raw string
		err := tx.QueryRowContext(ctx, `SELECT id, events FROM outbox WHERE org_id = ? AND address = ? AND kind = 'assignment'
			AND status = 'pending' AND attempts = 0 AND due_at > ? AND claimed_until < ? ORDER BY id DESC LIMIT 1`,
			org.ID, addr, ms(now), ms(now)).Scan(&id, &raw)
		if err == nil {
			var evs []licet.MailEvent
			if err := json.Unmarshal([]byte(raw), &evs); err != nil {
				return err
			}
			b, _ := json.Marshal(append(evs, ev))
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET events = ? WHERE id = ?`, string(b), id); err != nil {
				return err
			}
			continue
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		b, _ := json.Marshal([]licet.MailEvent{ev})
		due := now.Add(time.Duration(org.Settings.NotifyWindow) * time.Minute)
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (org_id, address, kind, events, created_at, due_at)
			VALUES (?, ?, 'assignment', ?, ?, ?)`, org.ID, addr, string(b), ms(now), ms(due)); err != nil {
			return err
		}
	}
	return nil
}

// recipients are an organization's notification addresses and its
// administrators, each once.
func recipients(ctx context.Context, tx *Tx, org *licet.Organization) ([]string, error) {
	to := slices.Clone(org.Settings.NotificationEmails)
	rows, err := tx.QueryContext(ctx, `SELECT a.email FROM admins a JOIN admin_orgs ao ON ao.admin_id = a.id WHERE ao.org_id = ? ORDER BY a.email`, org.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		if !slices.Contains(to, e) {
			to = append(to, e)
		}
	}
	return to, rows.Err()
}

func optouts(ctx context.Context, tx *Tx, orgID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT address FROM mail_optouts WHERE org_id = ?`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
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
	if err := json.Unmarshal([]byte(raw), &m.Events); err != nil {
		return nil, err
	}
	return &m, nil
}

// ClaimMail takes up to n due mails for this process for hold: no other
// dispatcher takes them meanwhile (SKIP LOCKED on PostgreSQL), and if this
// one dies they are due again when the hold ends.
func (s *Store) ClaimMail(ctx context.Context, n int, hold time.Duration) (out []*licet.Mail, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		now := s.clock.Now()
		rows, err := tx.QueryContext(ctx, `SELECT `+mailCols+` FROM outbox WHERE status = 'pending' AND due_at <= ? AND claimed_until < ?
			ORDER BY due_at, id LIMIT ?`+s.d.SkipLocked, ms(now), ms(now), n)
		if err != nil {
			return err
		}
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET claimed_until = ? WHERE id = ?`, ms(now.Add(hold)), m.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// MailSent marks a mail delivered.
func (s *Store) MailSent(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '', claimed_until = 0
			WHERE id = ?`, ms(s.clock.Now()), id)
		return err
	})
}

// MailFailed records a failed attempt: due again at retryAt, or given up
// for good when retryAt is zero.
func (s *Store) MailFailed(ctx context.Context, id int64, reason string, retryAt time.Time) error {
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
	err = s.read(ctx, func(tx *Tx) error {
		m, err = scanMail(tx.QueryRowContext(ctx, `SELECT `+mailCols+` FROM outbox WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.ENOTFOUND, "no such mail")
		}
		return err
	})
	return m, err
}

// Subscriptions lists the organizations that send notifications to an
// address (typed in by an administrator, or as an administrator), and
// whether it still wants them.
func (s *Store) Subscriptions(ctx context.Context, address string) (out []licet.Subscription, err error) {
	address = strings.ToLower(address)
	err = s.read(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT o.id, o.name, o.notification_emails || CASE WHEN EXISTS (SELECT 1 FROM admin_orgs ao JOIN admins a ON a.id = ao.admin_id
			WHERE ao.org_id = o.id AND a.email = ?) THEN ',' || ? ELSE '' END FROM organizations o
			WHERE o.notification_emails LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM admin_orgs ao JOIN admins a ON a.id = ao.admin_id
			WHERE ao.org_id = o.id AND a.email = ?) ORDER BY o.name, o.id`, address, address, "%"+likeEscape(address)+"%", address)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sub licet.Subscription
			var emails string
			if err := rows.Scan(&sub.OrgID, &sub.OrgName, &emails); err != nil {
				rows.Close()
				return err
			}
			if slices.Contains(strings.Split(emails, ","), address) {
				out = append(out, sub)
			}
		}
		rows.Close()
		for i := range out {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_optouts WHERE org_id = ? AND address = ?`, out[i].OrgID, address).Scan(&n); err != nil {
				return err
			}
			out[i].Subscribed = n == 0
		}
		return rows.Err()
	})
	return out, err
}

// SetSubscription subscribes or unsubscribes an address from one
// organization's notifications; audited with the address as actor.
func (s *Store) SetSubscription(ctx context.Context, orgID, address string, subscribed bool) error {
	address = strings.ToLower(address)
	return s.write(ctx, func(tx *Tx) error {
		now := s.clock.Now()
		var err error
		if subscribed {
			_, err = tx.ExecContext(ctx, `DELETE FROM mail_optouts WHERE org_id = ? AND address = ?`, orgID, address)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO mail_optouts (org_id, address, at) VALUES (?, ?, ?) ON CONFLICT (org_id, address) DO NOTHING`, orgID, address, ms(now))
		}
		if err != nil {
			return err
		}
		action := map[bool]string{true: "notifications.subscribe", false: "notifications.unsubscribe"}[subscribed]
		return audit(ctx, tx, now, orgID, address, action, "", "")
	})
}

// Secret returns a random 32-byte secret kept in the database under name,
// making it on first use, so every process (and a backup) shares it. It is
// kept sealed (see Sealer): the database alone does not give it away.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	key := "secret:" + name
	var v []byte
	err := s.read(ctx, func(tx *Tx) error {
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
func (s *Store) MailCounts(ctx context.Context) (map[string]int, error) {
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
