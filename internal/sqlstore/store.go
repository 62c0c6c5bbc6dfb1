// Package sqlstore implements licet.Store once, in plain SQL over
// database/sql, for every database licet supports. A sqldb.Dialect carries
// what differs between them; packages sqlite and postgres open the
// database, own the migrations and pick the dialect.
//
// The store is in parts: this package keeps the check path (admissions,
// the group commit, the hot statements), organizations, pools, users,
// offline licenses, privacy and secrets; admin keeps administrators,
// sessions, links, API tokens and single sign-on; outbox keeps the mail
// queue, consent and subscriptions; sightings writes the check's buffered
// sightings in bulk; sqldb is what they all share. Store embeds the parts
// (or calls them), so it is one licet.Store.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/admin"
	"github.com/licet/licet/internal/sqlstore/outbox"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// Store implements licet.Store.
type Store struct {
	db *sqldb.DB
	*admin.Accounts
	*outbox.Queue

	// listeners hear of every committed change (Listen); listenMu
	// serializes Listen, the hot path only loads.
	listeners atomic.Pointer[[]licet.ChangeListener]
	listenMu  sync.Mutex
	// Sealer seals backend credentials and the mail-link secret before
	// they are written; nil keeps them in plain text (tests of other things).
	Sealer licet.Sealer

	// WriteTimeout bounds a group of admissions' transaction (default 30s).
	WriteTimeout time.Duration
	// OnClose, when set, runs when the store closes (before the database).
	OnClose func()
	// Leader, when set, says whether the database's leader is known now
	// (a cluster under Patroni); Ping fails while it is not.
	Leader func() bool

	checkUser *sqldb.Lazy // CheckUser's statement
	group     *groupCommit
	// refusing holds the organizations whose last transaction of
	// admissions recorded users without a license: the next one reads
	// their count with its first reads, not in a round trip of its own.
	refusing sync.Map
	tempKey  atomic.Pointer[[]byte] // see idKey
}

var _ licet.Store = (*Store)(nil)

// New makes a store that writes through w and reads through r (they may be
// the same).
func New(w, r *sql.DB, d *sqldb.Dialect, clock licet.Clock, readOnly bool) *Store {
	db := sqldb.New(w, r, d, clock, readOnly)
	s := &Store{db: db, Accounts: admin.New(db), Queue: outbox.New(db), checkUser: sqldb.NewLazy(db, checkSQL)}
	if d.GroupCommit && !readOnly {
		s.group = newGroupCommit(s)
	}
	return s
}

// Close closes the database.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	if s.OnClose != nil {
		s.OnClose()
	}
	return s.db.Close()
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer sqldb.Failed(&err, "reach the database")
	if s.Leader != nil && !s.Leader() {
		return licet.Errorf(licet.EUNAVAILABLE, "no database node is the leader now")
	}
	var one int
	return s.db.Wrap(s.db.R.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
}

// writeChange runs fn in a write transaction that changes what caches of
// organizations, pools or license types hold: it counts the change in the
// same transaction, and after the commit tells the listeners.
func (s *Store) writeChange(ctx context.Context, fn func(*sqldb.Tx) error) error {
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE changes SET seq = seq + 1 WHERE id = 1`)
		return err
	})
	if err == nil {
		s.tellChanged()
	}
	return err
}

// Listen tells l, after each commit, of every change to organizations,
// pools or license types (Invalidate) and to users (UsersChanged), so that
// this process's caches drop what they hold at once (other processes watch
// ChangeSeq and UserSeqs).
func (s *Store) Listen(l licet.ChangeListener) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	var ls []licet.ChangeListener
	if p := s.listeners.Load(); p != nil {
		ls = slices.Clone(*p)
	}
	ls = append(ls, l)
	s.listeners.Store(&ls)
}

// tellChanged tells the listeners that organizations, pools or license
// types changed.
func (s *Store) tellChanged() {
	if p := s.listeners.Load(); p != nil {
		for _, l := range *p {
			l.Invalidate()
		}
	}
}

// tellUsersChanged tells the listeners that these users of orgID changed.
func (s *Store) tellUsersChanged(orgID string, userIDs []string) {
	if p := s.listeners.Load(); p != nil {
		for _, l := range *p {
			l.UsersChanged(orgID, userIDs)
		}
	}
}

// OperatorTokenHash returns the stored hash of the operator token, nil if none.
func (s *Store) OperatorTokenHash(ctx context.Context) (h []byte, err error) {
	defer sqldb.Failed(&err, "read the operator token")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'operator_token_sha256'`).Scan(&h)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return h, err
}

// SetOperatorTokenHash stores the hash of the operator token unless one is
// stored already (another process may have started first); it reports
// whether it stored this one.
func (s *Store) SetOperatorTokenHash(ctx context.Context, hash []byte) (stored bool, err error) {
	defer sqldb.Failed(&err, "store the operator token")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('operator_token_sha256', ?) ON CONFLICT (key) DO NOTHING`, hash)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if stored = n == 1; stored {
			return sqldb.Audit(ctx, tx, s.db.Clock.Now(), "", licet.ActorOperator, "operator_token.create", "", "")
		}
		return nil
	})
	return stored, err
}

// Snapshot writes a consistent copy of the database to a new file.
func (s *Store) Snapshot(ctx context.Context, path string) (err error) {
	defer sqldb.Failed(&err, "take a snapshot")
	if s.db.D.Snapshot == nil {
		return licet.Errorf(licet.ECONFLICT, "%s has no snapshots here; use its own replication and backups", s.db.D.Name)
	}
	return s.db.Wrap(s.db.D.Snapshot(ctx, s.db.W, path, s.db.Clock.Now()))
}

// Lag reports how far this read-only copy is behind the primary.
func (s *Store) Lag(ctx context.Context) (lag time.Duration, known bool, err error) {
	defer sqldb.Failed(&err, "read the replication lag")
	if s.db.D.Lag == nil || !s.db.ReadOnly {
		return 0, false, nil
	}
	lag, known, err = s.db.D.Lag(ctx, s.db.R, s.db.Clock.Now())
	return lag, known, s.db.Wrap(err)
}
