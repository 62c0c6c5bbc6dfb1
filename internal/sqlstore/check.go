package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/outbox"
	"github.com/licet/licet/internal/sqlstore/sightings"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// OrgData reads an organization and its pools; nil when unknown.
func (s *Store) OrgData(ctx context.Context, orgID string) (o *licet.Organization, ps []licet.Pool, err error) {
	defer sqldb.Failed(&err, "read an organization for checks")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		o, err = sqldb.FindOrg(ctx, tx, orgID)
		if licet.ErrorCode(err) == licet.ENOTFOUND {
			o, err = nil, nil
			return nil
		} else if err != nil {
			return err
		}
		ps, err = pools(ctx, tx, orgID)
		return err
	})
	return o, ps, err
}

// CheckUser reads a user for the hot path without a transaction, and
// the seat counts with it unless the user is licensed or disabled: one
// statement, one round trip.
func (s *Store) CheckUser(ctx context.Context, orgID, userID string) (u *licet.User, counts map[string]int, err error) {
	defer sqldb.Failed(&err, "read a user for a check")
	rows, err := s.checkUser.Get(ctx).QueryContext(ctx, orgID, userID, orgID)
	if err != nil {
		return nil, nil, s.db.Wrap(err)
	}
	defer rows.Close()
	var c checkRow
	dest := c.dest()
	for first := true; rows.Next(); first = false {
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, s.db.Wrap(err)
		}
		if first {
			u = c.user()
			if u != nil && (u.State == licet.UserLicensed || u.Disabled) {
				break // the statement read no counts
			}
			counts = map[string]int{}
			dest = c.countsOnly(dest)
		}
		if c.seatType.Valid {
			counts[c.seatType.String] = int(c.seatsUsed.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.db.Wrap(err)
	}
	return u, counts, nil
}

// checkRow holds a row of checkSQL: the user's columns (NULL when there is
// no such user), then a license type and its seats used (NULL when none
// are, or none were read).
type checkRow struct {
	orgID, id, state, licenseType, assignedBy, deviceID, deviceInfo, version, edition, orgURL, orgName sql.NullString

	disabled sql.NullBool

	assigned, temp, first, last, recorded sql.NullInt64

	seatType  sql.NullString
	seatsUsed sql.NullInt64
	skip      any // the user's columns again, after the first row
}

func (c *checkRow) dest() []any {
	return []any{&c.orgID, &c.id, &c.state, &c.disabled, &c.licenseType, &c.assigned, &c.assignedBy, &c.temp,
		&c.first, &c.last, &c.deviceID, &c.deviceInfo, &c.version, &c.edition, &c.orgURL, &c.orgName, &c.recorded,
		&c.seatType, &c.seatsUsed}
}

// countsOnly turns dest into one that reads the counts of the rows after
// the first, whose user columns repeat it.
func (c *checkRow) countsOnly(dest []any) []any {
	for i := range dest[:len(dest)-2] {
		dest[i] = &c.skip
	}
	return dest
}

// user is the row's user, nil when there is none.
func (c *checkRow) user() *licet.User {
	if !c.id.Valid {
		return nil
	}
	u := &licet.User{OrgID: c.orgID.String, ID: c.id.String, State: licet.UserState(c.state.String), Disabled: c.disabled.Bool,
		LicenseType: c.licenseType.String, AssignedAt: sqldb.FromMS(c.assigned.Int64), AssignedBy: c.assignedBy.String,
		TemporaryUntil: sqldb.FromMS(c.temp.Int64), FirstSeen: sqldb.FromMS(c.first.Int64), LastSeen: sqldb.FromMS(c.last.Int64),
		RecordedAt: sqldb.FromMS(c.recorded.Int64)}
	u.Last = licet.Sighting{DeviceID: c.deviceID.String, DeviceInfo: c.deviceInfo.String, Version: c.version.String,
		Edition: c.edition.String, OrganizationURL: c.orgURL.String, OrganizationName: c.orgName.String, At: u.LastSeen}
	return u
}

// ChangeSeq returns the number of committed changes to organizations,
// pools and license types: what a cache of them must watch.
func (s *Store) ChangeSeq(ctx context.Context) (n int64, err error) {
	defer sqldb.Failed(&err, "read the change counter")
	err = s.db.R.QueryRowContext(ctx, `SELECT seq FROM changes WHERE id = 1`).Scan(&n)
	return n, s.db.Wrap(err)
}

// admitMemo keeps, for one write transaction, what admissions read that
// they do not change: the locked organization, its pools, the types.
type admitMemo struct {
	s     *Store
	orgs  map[string]*licet.CheckView
	types []licet.LicenseType
	// strangers counts, per organization, the users recorded without a
	// license, once counted in this transaction and kept up to date by its
	// own admissions and evictions: counting them for every refusal grew
	// with their number (a burst's refusals cost the square of it).
	strangers map[string]int
	// used counts, per organization, its licensed users per license type:
	// read once in this transaction (under the organization's lock) and
	// kept up to date by its own admissions as the seat_usage trigger keeps
	// the table. Reading it for every new user cost a round trip each.
	used map[string]map[string]int
	// want lists, per organization, the users a group of admissions is
	// about to decide on; users holds them, read in one statement when the
	// transaction first locks the organization. An entry serves one view
	// and is dropped when read or when the transaction writes that user, so
	// a user met twice is read again inside the transaction.
	want  map[string][]string
	users map[string]map[string]*licet.User
}

// maxPrefetch bounds the users read in one statement.
const maxPrefetch = 256

// prefetchSQL reads the users of an organization (the second parameter)
// whose IDs are in an array (the first), one primary-key probe each,
// whatever PostgreSQL's statistics say. With "user_id IN (…)", and with a
// plain join, a table not yet analyzed (a new database, a burst of new
// users before autovacuum runs) was read as "every user of the
// organization, filtered": 6 ms a group at 11,000 users, growing with the
// organization, the group's largest cost. LIMIT 1 keeps the planner from
// flattening the lookup into such a join (TestPrefetchProbesEachUser).
const prefetchSQL = `SELECT ` + userCols + ` FROM unnest(?::text[]) AS want(id),
	LATERAL (SELECT ` + userCols + ` FROM users WHERE org_id = ? AND user_id = want.id LIMIT 1) AS u`

// readUsers returns the reads of the users ids of orgID for a Batch, which
// fills got: each ID maps to its user, nil when there is none.
func readUsers(orgID string, ids []string, got map[string]*licet.User) []sqldb.Queued {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var reads []sqldb.Queued
	for len(ids) > 0 {
		n := min(len(ids), maxPrefetch)
		for _, id := range ids[:n] {
			got[id] = nil // known absent unless read
		}
		reads = append(reads, sqldb.Read(func(r sqldb.Scanner) error {
			u, err := scanUser(r)
			if err != nil {
				return err
			}
			if _, ok := got[u.ID]; ok {
				got[u.ID] = u
			}
			return nil
		}, prefetchSQL, ids[:n], orgID))
		ids = ids[n:]
	}
	return reads
}

// user returns a user of orgID (nil when there is none): the one read
// ahead, once, else read now.
func (m *admitMemo) user(ctx context.Context, tx *sqldb.Tx, orgID, userID string) (*licet.User, error) {
	if u, ok := m.users[orgID][userID]; ok {
		delete(m.users[orgID], userID)
		return u, nil
	}
	return findUser(ctx, tx, orgID, userID)
}

// wrote drops what was read ahead of a user the transaction wrote.
func (m *admitMemo) wrote(orgID, userID string) {
	delete(m.users[orgID], userID)
}

// seatsMoved keeps the seat counts, if read, up to date with one user's
// change from (wasLicensed, wasType) to u, as the seat_usage trigger does.
func (m *admitMemo) seatsMoved(orgID string, wasLicensed bool, wasType string, u *licet.User) {
	c, ok := m.used[orgID]
	if !ok {
		return
	}
	if wasLicensed {
		c[wasType]--
	}
	if u.State == licet.UserLicensed {
		c[u.LicenseType]++
	}
}

// seats returns a copy of orgID's seat counts, read once per transaction.
func (m *admitMemo) seats(ctx context.Context, tx *sqldb.Tx, orgID string) (map[string]int, error) {
	c, ok := m.used[orgID]
	if !ok {
		var err error
		if c, err = used(ctx, tx, orgID); err != nil {
			return nil, err
		}
		if m.used == nil {
			m.used = map[string]map[string]int{}
		}
		m.used[orgID] = c
	}
	out := make(map[string]int, len(c))
	for t, n := range c {
		if n > 0 { // as the statement reads them: used > 0
			out[t] = n
		}
	}
	return out, nil
}

// recorded keeps the stranger count, if known, up to date with one
// user's change from (was) to (is) recorded.
func (m *admitMemo) recorded(orgID string, was, is bool) {
	if n, ok := m.strangers[orgID]; ok && was != is {
		if is {
			m.strangers[orgID] = n + 1
		} else {
			m.strangers[orgID] = n - 1
		}
	}
}

// view reads what an admission decides on, locking the organization the
// first time the transaction meets it.
func (m *admitMemo) view(ctx context.Context, tx *sqldb.Tx, orgID, userID string) (*licet.CheckView, error) {
	if m.orgs == nil {
		m.orgs = map[string]*licet.CheckView{}
	}
	base, ok := m.orgs[orgID]
	if !ok {
		var err error
		if base, err = m.lock(ctx, tx, orgID); err != nil {
			return nil, err
		}
		m.orgs[orgID] = base
	}
	if base.Org == nil {
		return &licet.CheckView{}, nil
	}
	v := &licet.CheckView{Org: base.Org, Pools: base.Pools, Types: m.types}
	var err error
	if v.User, err = m.user(ctx, tx, orgID, userID); err != nil {
		return nil, err
	}
	if v.User == nil || (v.User.State != licet.UserLicensed && !v.User.Disabled) {
		if v.Used, err = m.seats(ctx, tx, orgID); err != nil {
			return nil, err
		}
	}
	if licet.WantsTemporary(v) {
		v.Temporary, v.HadTemporary, err = m.s.temporaryStanding(ctx, tx, orgID, userID, m.s.db.Clock.Now())
	}
	return v, err
}

// lock locks orgID and reads, in one Batch, what its admissions decide on:
// the organization (nil when there is none), its pools and, once per
// transaction, the license types. Where each statement costs a round trip
// (the transaction pipelines: PostgreSQL), the same batch reads the seat
// counts, the users the group is about to decide on and, when the last
// transaction refused some of the organization's new users, the count of
// those recorded; elsewhere (SQLite's cached statements, where a small
// statement per user costs less than one of varying shape) they are read
// when wanted.
func (m *admitMemo) lock(ctx context.Context, tx *sqldb.Tx, orgID string) (*licet.CheckView, error) {
	base := &licet.CheckView{}
	reads := []sqldb.Queued{sqldb.LockOrgRead(tx, orgID, &base.Org), readPools(orgID, &base.Pools)}
	if m.types == nil {
		reads = append(reads, readLicenseTypes(&m.types))
	}
	ids := m.want[orgID]
	delete(m.want, orgID)
	var used map[string]int
	var got map[string]*licet.User
	strangers := -1
	if tx.Pipelined() {
		used, got = map[string]int{}, map[string]*licet.User{}
		reads = append(reads, readUsed(orgID, used))
		reads = append(reads, readUsers(orgID, ids, got)...)
		if _, was := m.s.refusing.LoadAndDelete(orgID); was {
			reads = append(reads, readStrangers(orgID, &strangers))
		}
	}
	if err := tx.Batch(ctx, reads...); err != nil {
		return nil, err
	}
	if base.Org == nil || used == nil {
		return base, nil
	}
	if strangers >= 0 {
		if m.strangers == nil {
			m.strangers = map[string]int{}
		}
		m.strangers[orgID] = strangers
	}
	if m.used == nil {
		m.used = map[string]map[string]int{}
	}
	if m.users == nil {
		m.users = map[string]map[string]*licet.User{}
	}
	m.used[orgID], m.users[orgID] = used, got
	return base, nil
}

// Admit decides a check under the write lock and applies the decision. The
// organization's row lock (and on SQLite the single writer) serializes it
// against every other change, so two checks cannot both take the last seat.
// Where the dialect says so, admissions that arrive together share one
// transaction and one durable commit.
func (s *Store) Admit(ctx context.Context, req licet.AdmitRequest) (d *licet.Decision, err error) {
	defer sqldb.Failed(&err, "admit a check")
	if _, err := s.idKey(ctx); err != nil { // outside any transaction: it may write the secret once
		return nil, err
	}
	if s.group != nil {
		return s.group.admit(ctx, req)
	}
	return s.admitAlone(ctx, req)
}

// admitAlone runs one admission in its own transaction.
func (s *Store) admitAlone(ctx context.Context, req licet.AdmitRequest) (d *licet.Decision, err error) {
	var changed []string
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		memo := admitMemo{s: s}
		if d, changed, err = s.admit(ctx, tx, req, &memo); err != nil {
			return err
		}
		return usersChanged(ctx, tx, req.OrgID, s.db.Clock.Now(), changed...)
	})
	if err == nil && len(changed) > 0 {
		s.tellUsersChanged(req.OrgID, changed)
	}
	return d, err
}

// admit decides and applies one admission inside tx and returns the users
// it changed; the caller records them.
func (s *Store) admit(ctx context.Context, tx *sqldb.Tx, req licet.AdmitRequest, memo *admitMemo) (d *licet.Decision, changed []string, err error) {
	err = func() error {
		now := s.db.Clock.Now()
		v, err := memo.view(ctx, tx, req.OrgID, req.UserID)
		if err != nil {
			return err
		}
		v.OrgURL = req.Sighting.OrganizationURL
		d = licet.Decide(now, v, req.Sighting.Edition)
		if v.Org == nil {
			return nil
		}
		u := v.User
		if u == nil {
			u = &licet.User{OrgID: req.OrgID, ID: req.UserID, State: licet.UserUnlicensed}
		}
		wasLicensed, wasType := u.State == licet.UserLicensed, u.LicenseType
		switch d.Action {
		case licet.ActAssign:
			u.State, u.LicenseType, u.AssignedAt, u.AssignedBy = licet.UserLicensed, d.LicenseType, now, licet.ActorAutomatic
			if err := sqldb.Audit(ctx, tx, now, req.OrgID, licet.ActorAutomatic, "user.assign", req.UserID, fmt.Sprintf("type=%q", d.LicenseType)); err != nil {
				return err
			}
			if err := outbox.EnqueueAssignment(ctx, tx, v.Org, licet.MailEvent{UserID: req.UserID, LicenseType: d.LicenseType, At: now}, now); err != nil {
				return err
			}
		case licet.ActTemporary:
			u.State, u.LicenseType, u.TemporaryUntil = licet.UserTemporary, d.LicenseType, d.Until
			if err := s.recordTemporaryGrant(ctx, tx, req.OrgID, req.UserID, now); err != nil {
				return err
			}
			if err := sqldb.Audit(ctx, tx, now, req.OrgID, licet.ActorAutomatic, "user.temporary", req.UserID,
				fmt.Sprintf("type=%q until=%s", d.LicenseType, d.Until.UTC().Format("2006-01-02T15:04:05Z"))); err != nil {
				return err
			}
		case licet.ActReclaim:
			victim, err := reclaimable(ctx, tx, req.OrgID, d)
			if err != nil {
				return err
			}
			if victim == nil {
				d = licet.NoSeatToReclaim(v.User)
				break
			}
			t := victim.LicenseType
			victimLicensed := victim.State == licet.UserLicensed
			release(victim)
			if err := saveUser(ctx, tx, victim); err != nil {
				return err
			}
			memo.wrote(req.OrgID, victim.ID)
			memo.seatsMoved(req.OrgID, victimLicensed, t, victim)
			if err := sqldb.Audit(ctx, tx, now, req.OrgID, licet.ActorAutomatic, "user.reclaim", victim.ID,
				fmt.Sprintf("type=%q unused since %s; moved to %s", t, victim.LastSeen.UTC().Format("2006-01-02"), req.UserID)); err != nil {
				return err
			}
			u.State, u.LicenseType, u.AssignedAt, u.AssignedBy = licet.UserLicensed, t, now, licet.ActorAutomatic
			if err := sqldb.Audit(ctx, tx, now, req.OrgID, licet.ActorAutomatic, "user.assign", req.UserID, fmt.Sprintf("type=%q reclaimed from %s", t, victim.ID)); err != nil {
				return err
			}
			if err := outbox.EnqueueAssignment(ctx, tx, v.Org, licet.MailEvent{UserID: req.UserID, LicenseType: t, At: now, ReclaimedFrom: victim.ID}, now); err != nil {
				return err
			}
			d.LicenseType, d.Reclaimed = t, victim.ID
			d.Until, _ = licet.ActiveUntil(now, v.Pools, t)
		}
		wasRecorded := !u.RecordedAt.IsZero()
		switch {
		case d.Action == licet.ActRecord:
			u.RecordedAt = now
		case d.Action != licet.ActNone:
			u.RecordedAt = time.Time{}
		}
		see(u, req.Sighting, now)
		if err := saveUser(ctx, tx, u); err != nil {
			return err
		}
		memo.wrote(req.OrgID, u.ID)
		memo.seatsMoved(req.OrgID, wasLicensed, wasType, u)
		memo.recorded(req.OrgID, wasRecorded, !u.RecordedAt.IsZero())
		d.User = u
		changed = []string{u.ID}
		if d.Reclaimed != "" {
			changed = append(changed, d.Reclaimed)
		}
		if d.Action == licet.ActRecord {
			evicted, err := evictStrangers(ctx, tx, req.OrgID, v.Pools, now, memo)
			if err != nil {
				return err
			}
			d.Evicted = len(evicted)
		}
		return nil
	}()
	return d, changed, err
}

// reclaimable finds the licensed user of one of the decision's candidate
// types who has been idle longest, if idle since before d.ReclaimBefore. A
// user assigned but never seen counts as idle since the assignment.
func reclaimable(ctx context.Context, tx *sqldb.Tx, orgID string, d *licet.Decision) (*licet.User, error) {
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(d.Candidates)), ", ")
	args := []any{orgID}
	for _, t := range d.Candidates {
		args = append(args, t)
	}
	args = append(args, sqldb.MS(d.ReclaimBefore))
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users
		WHERE org_id = ? AND state = 'licensed' AND license_type IN (`+ph+`) AND `+tx.Dialect().Greatest+`(last_seen, assigned_at) < ?
		ORDER BY `+tx.Dialect().Greatest+`(last_seen, assigned_at), user_id LIMIT 1`, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return u, err
}

// see records a sighting on the user.
func see(u *licet.User, s licet.Sighting, now time.Time) {
	if s.At.IsZero() {
		s.At = now
	}
	if u.FirstSeen.IsZero() {
		u.FirstSeen = s.At
	}
	if s.At.After(u.LastSeen) {
		u.LastSeen = s.At
		u.Last = s
	}
}

// RecordSightings writes a batch of sightings in one transaction. A
// sighting of a user deleted meanwhile is dropped.
func (s *Store) RecordSightings(ctx context.Context, batch []licet.Sighting) (err error) {
	defer sqldb.Failed(&err, "record sightings")
	return sightings.Record(ctx, s.db, batch)
}

// checkSQL is CheckUser's one statement (prepared once, Store.checkUser):
// one row of the user's columns (NULL when there is none), repeated beside
// each license type with seats used unless the user is licensed or
// disabled.
var checkSQL = `SELECT ` + userColsOf("u") + `, s.license_type, s.used
	FROM (SELECT 1) AS one
	LEFT JOIN users u ON u.org_id = ? AND u.user_id = ?
	LEFT JOIN seat_usage s ON s.org_id = ? AND s.used > 0
		AND (u.user_id IS NULL OR (u.state <> 'licensed' AND NOT u.disabled))`

// userColsOf is userCols, each qualified by a table's alias.
func userColsOf(alias string) string {
	cols := strings.Split(userCols, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// usersChanged records, in the transaction that changed them, that these
// users of orgID changed. The organization's row is locked by then, so its
// user_seq values commit in order.
func usersChanged(ctx context.Context, tx *sqldb.Tx, orgID string, now time.Time, userIDs ...string) error {
	if len(userIDs) == 0 {
		return nil
	}
	if tx.Pipelined() {
		// One statement, queued with the admissions' writes and sent with
		// them before the commit (PostgreSQL): the organization's row is
		// locked, so its counter moves in commit order all the same.
		return tx.ExecLater(ctx, `WITH s AS (UPDATE organizations SET user_seq = user_seq + 1 WHERE id = ? RETURNING user_seq)
			INSERT INTO user_changes (org_id, seq, user_id, at) SELECT ?::text, s.user_seq, u.id, ?::bigint FROM s, unnest(?::text[]) AS u(id)
			ON CONFLICT (org_id, seq, user_id) DO NOTHING`, orgID, orgID, sqldb.MS(now), userIDs)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE organizations SET user_seq = user_seq + 1 WHERE id = ? RETURNING user_seq`, orgID).Scan(&seq); err != nil {
		return err
	}
	if tx.Cached() {
		// Statements are prepared here (SQLite): one small one per user.
		for _, id := range userIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_changes (org_id, seq, user_id, at) VALUES (?, ?, ?, ?)
				ON CONFLICT (org_id, seq, user_id) DO NOTHING`, orgID, seq, id, sqldb.MS(now)); err != nil {
				return err
			}
		}
		return nil
	}
	// Each statement costs a round trip (PostgreSQL): up to 100 users in
	// one, which a group of admissions fills.
	for len(userIDs) > 0 {
		n := min(len(userIDs), 100)
		var q strings.Builder
		q.WriteString(`INSERT INTO user_changes (org_id, seq, user_id, at) VALUES `)
		args := make([]any, 0, 4*n)
		for i, id := range userIDs[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?)")
			args = append(args, orgID, seq, id, sqldb.MS(now))
		}
		q.WriteString(` ON CONFLICT (org_id, seq, user_id) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
		userIDs = userIDs[n:]
	}
	return nil
}

// UserSeqs returns every organization's user change counter.
func (s *Store) UserSeqs(ctx context.Context) (seqs map[string]int64, err error) {
	defer sqldb.Failed(&err, "read the user change counters")
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, user_seq FROM organizations`)
	if err != nil {
		return nil, s.db.Wrap(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, s.db.Wrap(err)
		}
		out[id] = seq
	}
	return out, s.db.Wrap(rows.Err())
}

// UserChangesSince lists the users of orgID changed after seq; complete is
// false when that history has been pruned, and the caller must forget all
// of the organization's users instead.
func (s *Store) UserChangesSince(ctx context.Context, orgID string, seq int64) (ids []string, complete bool, err error) {
	defer sqldb.Failed(&err, "list user changes")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_changes WHERE org_id = ? AND seq = ?`, orgID, seq+1).Scan(&n); err != nil || n == 0 {
			return err
		}
		complete = true
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT user_id FROM user_changes WHERE org_id = ? AND seq > ?`, orgID, seq)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, complete, err
}

// PruneUserChanges forgets user changes recorded before a time.
func (s *Store) PruneUserChanges(ctx context.Context, before time.Time) (n int64, err error) {
	defer sqldb.Failed(&err, "prune user changes")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM user_changes WHERE at < ?`, sqldb.MS(before))
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	return n, err
}
