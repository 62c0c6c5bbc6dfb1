// Package sqlstore implements licet.Store once, in plain SQL over
// database/sql, for every database licet supports. A Dialect carries what
// differs between them; packages sqlite and postgres open the database, own
// the migrations and pick the dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licet/licet"
)

// Dialect is what differs between databases.
type Dialect struct {
	Name string
	// Numbered turns "?" placeholders into "$1", "$2"…
	Numbered bool
	// Greatest is the function that returns the larger of two values.
	Greatest string
	// ForUpdate locks the rows a write transaction read ("" where the
	// transaction itself already excludes every other writer).
	ForUpdate string
	// SkipLocked lets concurrent claimers pass rows another holds.
	SkipLocked string
	// MigrationLock and MigrationUnlock serialize migrations between
	// processes that start at once ("" where not needed).
	MigrationLock, MigrationUnlock string
	// MigrationTxLock, when set, is run first in every migration's
	// transaction instead (a lock that ends with the transaction, for a
	// transaction-pooling proxy where a session lock could be taken on one
	// server connection and released on another).
	MigrationTxLock string
	// NoPrepare runs every statement unprepared: behind a
	// transaction-pooling proxy a statement prepared outside a transaction
	// may not exist on the server connection that runs it.
	NoPrepare bool
	// GroupCommit runs admissions that arrive together in one transaction
	// (for a database with one writer, where they queue anyway).
	GroupCommit bool
	// CacheStatements keeps the admissions' statements prepared on the
	// writer (stmtCache), for a driver that parses SQL on every call.
	CacheStatements bool
	// Lag reads how far a read-only copy is behind its primary.
	Lag func(ctx context.Context, db *sql.DB, now time.Time) (time.Duration, bool, error)
	// Snapshot writes a consistent copy of the database to path, or says
	// why it cannot.
	Snapshot func(ctx context.Context, db *sql.DB, path string, now time.Time) error
	// CheckCommit, when set, runs on the connection of every write
	// transaction right after its commit succeeded, and returns an error
	// when the commit's outcome is in doubt after all.
	CheckCommit func(*sql.Conn) error
	// Compact runs, outside a transaction, after secrets were sealed
	// again, so that no old copy of them stays in free pages or dead rows.
	Compact []string
	// Unavailable tells errors that mean "the database cannot be reached or
	// is overloaded now" (answered 503) from bugs (500).
	Unavailable func(error) bool
}

// Store implements licet.Store.
type Store struct {
	w, r     *sql.DB
	d        *Dialect
	clock    licet.Clock
	readOnly bool
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

	hotStmts hotStmts
	stmts    stmtCache
	group    *groupCommit
	tempKey  atomic.Pointer[[]byte] // see idKey
}

var _ licet.Store = (*Store)(nil)

// New makes a store that writes through w and reads through r (they may be
// the same).
func New(w, r *sql.DB, d *Dialect, clock licet.Clock, readOnly bool) *Store {
	if clock == nil {
		clock = licet.SystemClock{}
	}
	s := &Store{w: w, r: r, d: d, clock: clock, readOnly: readOnly}
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
	s.stmts.close()
	if s.OnClose != nil {
		s.OnClose()
	}
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.Leader != nil && !s.Leader() {
		return licet.Errorf(licet.EUNAVAILABLE, "no database node is the leader now")
	}
	var one int
	return s.wrap(s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
}

// Tx is a transaction that speaks the dialect: queries are written with "?"
// placeholders and rebound as the database wants.
type Tx struct {
	*sql.Tx
	d     *Dialect
	cache *stmtCache // nil: every statement unprepared
}

func (d *Dialect) rebind(q string) string {
	if !d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = tx.d.rebind(q)
	if st := tx.stmt(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, q, args...)
}

func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = tx.d.rebind(q)
	if st := tx.stmt(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, q, args...)
}

// stmt returns q prepared, when the transaction takes statements from the
// cache and q is in it.
func (tx *Tx) stmt(q string) *sql.Stmt {
	if tx.cache == nil {
		return nil
	}
	return tx.cache.get(q)
}

func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	q = tx.d.rebind(q)
	if st := tx.stmt(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, q, args...)
}

func (tx *Tx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return tx.Tx.PrepareContext(ctx, tx.d.rebind(q))
}

// write runs fn in a write transaction.
func (s *Store) write(ctx context.Context, fn func(*Tx) error) error {
	if s.readOnly {
		return licet.Errorf(licet.EREADONLY, "this server is read-only; make changes on the primary")
	}
	return s.inTx(ctx, s.w, nil, fn)
}

// writeChange runs fn in a write transaction that changes what caches of
// organizations, pools or license types hold: it counts the change in the
// same transaction, and after the commit tells the listeners.
func (s *Store) writeChange(ctx context.Context, fn func(*Tx) error) error {
	err := s.write(ctx, func(tx *Tx) error {
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

// read runs fn in a read-only transaction so that what it reads is consistent.
func (s *Store) read(ctx context.Context, fn func(*Tx) error) error {
	return s.inTx(ctx, s.r, &sql.TxOptions{ReadOnly: true}, fn)
}

func (s *Store) inTx(ctx context.Context, db *sql.DB, o *sql.TxOptions, fn func(*Tx) error) error {
	if o == nil && s.d.CheckCommit != nil {
		return s.inCheckedTx(ctx, db, fn)
	}
	t, err := db.BeginTx(ctx, o)
	if err != nil {
		return s.wrap(err)
	}
	defer t.Rollback()
	if err := fn(&Tx{Tx: t, d: s.d}); err != nil {
		return s.wrap(err)
	}
	return s.wrap(t.Commit())
}

// inCheckedTx runs a write transaction on a connection of its own, so that
// the dialect can tell, after the commit, whether it is durable.
func (s *Store) inCheckedTx(ctx context.Context, db *sql.DB, fn func(*Tx) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return s.wrap(err)
	}
	defer conn.Close()
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err)
	}
	defer t.Rollback()
	if err := fn(&Tx{Tx: t, d: s.d}); err != nil {
		return s.wrap(err)
	}
	if err := t.Commit(); err != nil {
		return s.wrap(err)
	}
	return s.wrap(s.d.CheckCommit(conn))
}

// wrap turns errors a caller can act on into coded errors.
func (s *Store) wrap(err error) error {
	var le *licet.Error
	switch {
	case err == nil, errors.As(err, &le):
		return err
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), s.d.Unavailable != nil && s.d.Unavailable(err):
		return &unavailable{err}
	}
	return err
}

// unavailable is a coded error that keeps its cause for the log.
type unavailable struct{ cause error }

func (e *unavailable) Error() string { return "database unavailable: " + e.cause.Error() }
func (e *unavailable) Unwrap() []error {
	return []error{licet.Errorf(licet.EUNAVAILABLE, "the database is unavailable; try again"), e.cause}
}

// Migrate applies, in name order, every migration in files (*.sql) not yet
// applied, each in its own transaction, holding the dialect's migration lock.
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, files fs.FS, now time.Time) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.MigrationLock != "" {
		if _, err := conn.ExecContext(ctx, d.MigrationLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), d.MigrationUnlock)
	}
	if err := createMigrations(ctx, conn, d); err != nil {
		return err
	}
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := migrateOne(ctx, conn, d, files, name, now); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

const createMigrationsSQL = `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`

func createMigrations(ctx context.Context, conn *sql.Conn, d *Dialect) error {
	if d.MigrationTxLock == "" {
		_, err := conn.ExecContext(ctx, createMigrationsSQL)
		return err
	}
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if _, err := t.ExecContext(ctx, d.MigrationTxLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if _, err := t.ExecContext(ctx, createMigrationsSQL); err != nil {
		return err
	}
	return t.Commit()
}

func migrateOne(ctx context.Context, conn *sql.Conn, d *Dialect, files fs.FS, name string, now time.Time) error {
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if d.MigrationTxLock != "" {
		if _, err := t.ExecContext(ctx, d.MigrationTxLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
	}
	tx := &Tx{Tx: t, d: d}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil || n > 0 {
		return err
	}
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return err
	}
	if _, err := tx.Tx.ExecContext(ctx, string(b)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, ms(now)); err != nil {
		return err
	}
	return t.Commit()
}

// ms stores times as Unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func audit(ctx context.Context, tx *Tx, at time.Time, orgID, actor, action, userID, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, org_id, actor, action, user_id, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		ms(at), orgID, actor, action, userID, detail)
	return err
}

// OperatorTokenHash returns the stored hash of the operator token, nil if none.
func (s *Store) OperatorTokenHash(ctx context.Context) (h []byte, err error) {
	err = s.read(ctx, func(tx *Tx) error {
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
	err = s.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('operator_token_sha256', ?) ON CONFLICT (key) DO NOTHING`, hash)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if stored = n == 1; stored {
			return audit(ctx, tx, s.clock.Now(), "", licet.ActorOperator, "operator_token.create", "", "")
		}
		return nil
	})
	return stored, err
}

// Snapshot writes a consistent copy of the database to a new file.
func (s *Store) Snapshot(ctx context.Context, path string) error {
	if s.d.Snapshot == nil {
		return licet.Errorf(licet.ECONFLICT, "%s has no snapshots here; use its own replication and backups", s.d.Name)
	}
	return s.wrap(s.d.Snapshot(ctx, s.w, path, s.clock.Now()))
}

// Lag reports how far this read-only copy is behind the primary.
func (s *Store) Lag(ctx context.Context) (time.Duration, bool, error) {
	if s.d.Lag == nil || !s.readOnly {
		return 0, false, nil
	}
	lag, known, err := s.d.Lag(ctx, s.r, s.clock.Now())
	return lag, known, s.wrap(err)
}

// likeEscape makes s match literally in a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
