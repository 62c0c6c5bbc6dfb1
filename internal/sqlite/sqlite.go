// Package sqlite is licet's embedded store: one SQLite file, one writer
// connection that serializes every change (so seats cannot be over-assigned)
// and a pool of readers for the hot path.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/licet/licet"
	_ "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store implements licet.Store on SQLite.
type Store struct {
	w, r     *sql.DB
	clock    licet.Clock
	readOnly bool
}

var _ licet.Store = (*Store)(nil)

// Options open a store.
type Options struct {
	Clock    licet.Clock
	ReadOnly bool // open for reading only; never migrate or write
}

// Open opens (creating when needed) the database at path and runs its
// migrations.
func Open(ctx context.Context, path string, o Options) (*Store, error) {
	if o.Clock == nil {
		o.Clock = licet.SystemClock{}
	}
	// Pragmas go in the DSN so that every pooled connection gets them.
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	rq := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "foreign_keys(1)", "query_only(1)"} {
		rq.Add("_pragma", p)
	}
	if o.ReadOnly {
		q = rq
		q.Set("mode", "ro")
		rq.Set("mode", "ro")
	}
	if !o.ReadOnly {
		// The database holds customers' data: only its owner reads it.
		// SQLite gives the -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		f.Close()
	}
	s := &Store{clock: o.Clock, readOnly: o.ReadOnly}
	var err error
	if s.w, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode()); err != nil {
		return nil, err
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(0)
	if s.r, err = sql.Open("sqlite", "file:"+path+"?"+rq.Encode()); err != nil {
		s.w.Close()
		return nil, err
	}
	s.r.SetMaxOpenConns(8)
	s.r.SetMaxIdleConns(8)
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if !o.ReadOnly {
		if err := s.migrate(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("migrate %s: %w", path, err)
		}
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// migrate applies, in name order, every embedded migration not yet applied.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		err := s.write(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil || n > 0 {
				return err
			}
			b, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(b)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, ms(s.clock.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// write runs fn in a transaction on the single writer connection.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.readOnly {
		return licet.Errorf(licet.EREADONLY, "this server is read-only; make changes on the primary")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return wrap(err)
	}
	return wrap(tx.Commit())
}

// read runs fn in a read transaction so that what it reads is consistent.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	return wrap(fn(tx))
}

// wrap turns errors a caller can act on into coded errors.
func wrap(err error) error {
	var le *licet.Error
	switch {
	case err == nil, errors.As(err, &le):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case strings.Contains(err.Error(), "SQLITE_BUSY"), strings.Contains(err.Error(), "database is locked"):
		return licet.Errorf(licet.EUNAVAILABLE, "the database is busy; try again")
	}
	return err
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

func audit(ctx context.Context, tx *sql.Tx, at time.Time, orgID, actor, action, userID, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, org_id, actor, action, user_id, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		ms(at), orgID, actor, action, userID, detail)
	return err
}

// OperatorTokenHash returns the stored hash of the operator token, nil if none.
func (s *Store) OperatorTokenHash(ctx context.Context) ([]byte, error) {
	var h []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'operator_token_sha256'`).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return h, wrap(err)
}

// SetOperatorTokenHash stores the hash of a new operator token.
func (s *Store) SetOperatorTokenHash(ctx context.Context, hash []byte) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('operator_token_sha256', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, hash)
		if err == nil {
			err = audit(ctx, tx, s.clock.Now(), "", licet.ActorOperator, "operator_token.set", "", "")
		}
		return err
	})
}
