package sqlstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/outbox"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// The bounds of issue 13 that live in the database: who held a temporary
// license (as keyed hashes), how many hold one now, and the cap on users
// recorded without a license.

// idKey returns the secret that keys the hashes of user IDs, made once and
// shared by every process. Call it outside a transaction: the first call
// may write it.
func (s *Store) idKey(ctx context.Context) ([]byte, error) {
	if k := s.tempKey.Load(); k != nil {
		return *k, nil
	}
	k, err := s.secret(ctx, "temporary-grants")
	if err != nil || k == nil {
		return nil, err
	}
	s.tempKey.Store(&k)
	return k, nil
}

// userHash is the keyed hash of a user ID in an organization: it tells
// whether an ID was seen before without keeping the ID.
func (s *Store) userHash(orgID, userID string) string {
	k := s.tempKey.Load()
	if k == nil {
		return ""
	}
	m := hmac.New(sha256.New, *k)
	m.Write([]byte(orgID + "/" + userID))
	return hex.EncodeToString(m.Sum(nil))
}

// recordTemporaryGrant remembers, for ever, that a user ID held a
// temporary license in an organization.
func (s *Store) recordTemporaryGrant(ctx context.Context, tx *sqldb.Tx, orgID, userID string, at time.Time) error {
	h := s.userHash(orgID, userID)
	if h == "" {
		return licet.Errorf(licet.EUNAVAILABLE, "the key of temporary license records is not loaded; try again")
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO temporary_grants (org_id, user_hash, granted_at) VALUES (?, ?, ?)
		ON CONFLICT (org_id, user_hash) DO NOTHING`, orgID, h, sqldb.MS(at))
	return err
}

// temporaryStanding reads how many users of orgID hold a temporary license
// at now and whether userID ever held one there.
func (s *Store) temporaryStanding(ctx context.Context, tx *sqldb.Tx, orgID, userID string, now time.Time) (holders int, had bool, err error) {
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE org_id = ? AND state = 'temporary' AND temporary_until > ?`,
		orgID, sqldb.MS(now)).Scan(&holders); err != nil {
		return 0, false, err
	}
	if h := s.userHash(orgID, userID); h != "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM temporary_grants WHERE org_id = ? AND user_hash = ?`, orgID, h).Scan(&n); err != nil {
			return 0, false, err
		}
		had = n > 0
	}
	return holders, had, nil
}

// TemporaryStanding is temporaryStanding for the read path: it fills the
// view of a check that may be granted a temporary license.
func (s *Store) TemporaryStanding(ctx context.Context, orgID, userID string, now time.Time) (holders int, had bool, err error) {
	defer sqldb.Failed(&err, "read temporary license standing")
	if !s.db.ReadOnly {
		if _, err := s.idKey(ctx); err != nil {
			return 0, false, err
		}
	}
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		holders, had, err = s.temporaryStanding(ctx, tx, orgID, userID, now)
		return err
	})
	return holders, had, err
}

// StrangerCap is how many users recorded without a license an
// organization keeps: max(100, 10 × its active seats).
func StrangerCap(pools []licet.Pool, now time.Time) int {
	return max(100, 10*licet.ActiveSeats(pools, now))
}

// readStrangers counts, for a Batch, the users of orgID recorded without a
// license.
func readStrangers(orgID string, n *int) sqldb.Queued {
	return sqldb.Read(func(r sqldb.Scanner) error { return r.Scan(n) },
		`SELECT COUNT(*) FROM users WHERE org_id = ? AND recorded_at > 0`, orgID)
}

// evictStrangers deletes the oldest users a check recorded without a
// license beyond the organization's cap (never licensed since, never
// handled by an administrator, holding nothing). It returns their IDs.
// The count is read once per transaction and kept in memo.
func evictStrangers(ctx context.Context, tx *sqldb.Tx, orgID string, pools []licet.Pool, now time.Time, memo *admitMemo) ([]string, error) {
	memo.s.refusing.Store(orgID, true)
	limit := StrangerCap(pools, now)
	n, ok := memo.strangers[orgID]
	if !ok {
		// A batch: with the writes queued before it, one round trip.
		if err := tx.Batch(ctx, readStrangers(orgID, &n)); err != nil {
			return nil, err
		}
		if memo.strangers == nil {
			memo.strangers = map[string]int{}
		}
		memo.strangers[orgID] = n
	}
	if n <= limit {
		return nil, nil
	}
	ids, err := sqldb.Column(ctx, tx, `SELECT user_id FROM users WHERE org_id = ? AND recorded_at > 0
		ORDER BY recorded_at, user_id LIMIT ?`, orgID, n-limit)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE org_id = ? AND user_id = ? AND recorded_at > 0`, orgID, id); err != nil {
			return nil, err
		}
	}
	memo.strangers[orgID] = n - len(ids)
	for _, id := range ids {
		memo.wrote(orgID, id)
	}
	if len(ids) > 0 {
		// Strangers hold no seat, but the counts are read again rather
		// than trusted across rows deleted by a condition.
		delete(memo.used, orgID)
	}
	return ids, nil
}

// AlertActivity queues the "unusual license activity" mail to every
// subscribed address of the organization (its administrators, and listed
// addresses that confirmed), whether or not assignment notifications are
// on; at most one an hour per organization,
// across processes (the organization's row lock orders them).
func (s *Store) AlertActivity(ctx context.Context, orgID string, r licet.ActivityReport, now time.Time) (sent bool, err error) {
	defer sqldb.Failed(&err, "queue an activity alert")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		org, err := sqldb.LockOrg(ctx, tx, orgID)
		if err != nil {
			return err
		}
		var last int64
		err = tx.QueryRowContext(ctx, `SELECT last_sent FROM activity_alerts WHERE org_id = ?`, orgID).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && now.Sub(sqldb.FromMS(last)) < time.Hour {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO activity_alerts (org_id, last_sent) VALUES (?, ?)
			ON CONFLICT (org_id) DO UPDATE SET last_sent = excluded.last_sent`, orgID, sqldb.MS(now)); err != nil {
			return err
		}
		rs, err := outbox.Recipients(ctx, tx, org)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(r)
		for _, rc := range rs {
			if rc.State != licet.SubSubscribed {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (org_id, address, kind, events, created_at, due_at)
				VALUES (?, ?, ?, ?, ?, ?)`, orgID, rc.Address, licet.MailActivity, string(b), sqldb.MS(now), sqldb.MS(now)); err != nil {
				return err
			}
		}
		sent = true
		return sqldb.Audit(ctx, tx, now, orgID, licet.ActorAutomatic, "organization.activity_alert", "",
			fmt.Sprintf("refused=%d admitted=%d in the minute from %s", r.Refused, r.Admitted, r.Minute.UTC().Format(time.RFC3339)))
	})
	return sent, err
}
