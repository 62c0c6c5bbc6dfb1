// Package sqlite opens licet's embedded store: one SQLite file with one
// writer connection that serializes every change (so seats cannot be
// over-assigned) and a pool of readers for the hot path.
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
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options open a store.
type Options struct {
	Clock    licet.Clock
	ReadOnly bool // open for reading only; never migrate or write
}

// Dialect is SQLite's: the writer connection's BEGIN IMMEDIATE already
// excludes every other writer, so no row locks are needed; admissions are
// group-committed, and every commit is durable (synchronous=FULL: the WAL
// is synced before a commit returns).
var Dialect = &sqldb.Dialect{
	Name:        "sqlite",
	Greatest:    "MAX",
	GroupCommit: true,
	// modernc's SQLite parses the SQL of every unprepared statement.
	CacheStatements: true,
	Unavailable: func(err error) bool {
		return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
	},
	Snapshot: snapshot,
	Lag:      snapshotAge,
	Compact:  []string{`VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`},
}

// snapshotKey names, in a snapshot's meta table, when it was taken.
const snapshotKey = "snapshot_taken_at"

// snapshot copies the live database with VACUUM INTO, a consistent online
// copy taken in one read transaction, then marks the copy with the time it
// was taken and makes it a single file (no WAL) ready to ship and serve.
func snapshot(ctx context.Context, db *sql.DB, path string, now time.Time) error {
	if _, err := os.Stat(path); err == nil {
		return licet.Errorf(licet.ECONFLICT, "%s exists already", path)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	cp, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer cp.Close()
	_, err = cp.ExecContext(ctx, `PRAGMA journal_mode = DELETE;
		INSERT INTO meta (key, value) VALUES ('`+snapshotKey+`', CAST(? AS BLOB))
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatInt(now.UnixMilli(), 10))
	return err
}

// snapshotAge is a snapshot's lag: how long ago it was taken. A database
// that is not a snapshot has none.
func snapshotAge(ctx context.Context, db *sql.DB, now time.Time) (time.Duration, bool, error) {
	var v []byte
	err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = '`+snapshotKey+`'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, err
	}
	msec, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("snapshot time %q: %w", v, err)
	}
	return max(0, now.Sub(time.UnixMilli(msec))), true, nil
}

// Open opens (creating when needed) the database at path and runs its
// migrations.
func Open(ctx context.Context, path string, o Options) (*sqlstore.Store, error) {
	if o.Clock == nil {
		o.Clock = licet.SystemClock{}
	}
	// Pragmas go in the DSN so that every pooled connection gets them.
	wq := url.Values{"_txlock": {"immediate"}}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"} {
		wq.Add("_pragma", p)
	}
	rq := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "foreign_keys(1)", "query_only(1)"} {
		rq.Add("_pragma", p)
	}
	if o.ReadOnly {
		rq.Set("mode", "ro")
		wq = rq
	} else {
		// The database holds customers' data: only its owner reads it.
		// SQLite gives the -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		f.Close()
	}
	w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := sqlstore.New(w, r, Dialect, o.Clock, o.ReadOnly)
	if err := w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if !o.ReadOnly {
		sub, _ := fs.Sub(migrations, "migrations")
		if err := sqldb.Migrate(ctx, w, Dialect, sub, o.Clock.Now()); err != nil {
			s.Close()
			return nil, fmt.Errorf("migrate %s: %w", path, err)
		}
	}
	return s, nil
}
