// Package postgres opens licet's store on PostgreSQL, for when several
// stateless licet processes share one database. Seat limits hold across
// processes because every change that takes a seat locks its
// organization's row first (SELECT … FOR UPDATE).
package postgres

import (
	"context"
	"database/sql"

	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options open a store.
type Options struct {
	Clock    licet.Clock
	ReadOnly bool // a hot standby: never migrate or write
	// MaxConns bounds the connection pool (default 20).
	MaxConns int
	// StatementTimeout bounds every statement (default 5s), so a stalled
	// database answers an error instead of holding requests.
	StatementTimeout time.Duration
	// ConnectTimeout bounds opening a connection (default 5s).
	ConnectTimeout time.Duration
}

// migrationLockKey is the advisory lock processes starting at once take in
// turn to migrate: an arbitrary constant, "licet" in ASCII.
const migrationLockKey = 0x6c69636574

// Dialect is PostgreSQL's.
var Dialect = &sqlstore.Dialect{
	Name:            "postgres",
	Compact:         []string{`VACUUM FULL organizations`, `VACUUM FULL meta`},
	GroupCommit:     true,
	Numbered:        true,
	Greatest:        "GREATEST",
	ForUpdate:       " FOR UPDATE",
	SkipLocked:      " FOR UPDATE SKIP LOCKED",
	MigrationLock:   "SELECT pg_advisory_lock(" + strconv.Itoa(migrationLockKey) + ")",
	MigrationUnlock: "SELECT pg_advisory_unlock(" + strconv.Itoa(migrationLockKey) + ")",
	Unavailable:     Unavailable,
	Lag:             lag,
}

// lag is a hot standby's replay lag: zero when it streams from the primary
// and has replayed all it received, else the time since the last
// transaction it replayed. A standby that no longer streams (the primary
// is gone, or the link is cut) cannot know what it has missed, so its lag
// grows with the time since its last replay instead of reading zero; one
// that has replayed nothing since it started is as old as that start. On a
// primary it is unknown (not a standby).
func lag(ctx context.Context, db *sql.DB, now time.Time) (time.Duration, bool, error) {
	var standby bool
	var seconds sql.NullFloat64
	err := db.QueryRowContext(ctx, `SELECT pg_is_in_recovery(),
		CASE WHEN NOT pg_is_in_recovery() THEN NULL
		     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
		          AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
		     ELSE EXTRACT(EPOCH FROM now() - COALESCE(pg_last_xact_replay_timestamp(), pg_postmaster_start_time())) END`).Scan(&standby, &seconds)
	if err != nil || !standby {
		return 0, false, err
	}
	return max(0, time.Duration(seconds.Float64*float64(time.Second))), true, nil
}

// Unavailable reports errors that mean the database cannot be reached, is
// shutting down or restarting, refuses connections, or timed out: a 503 and
// a retry, not a bug.
func Unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exceptions
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, crash, cannot connect now
			pe.Code == "53300", // too many connections
			pe.Code == "57014", // statement timeout
			pe.Code == "25006": // read-only transaction: a standby
			return true
		}
		return false
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ne), errors.As(err, &ce), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		pgconn.Timeout(err):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "unexpected EOF")
}

// Open connects to the database at url (postgres://…) and, unless
// read-only, runs its migrations under an advisory lock so that processes
// starting at once migrate one after another.
func Open(ctx context.Context, url string, o Options) (*sqlstore.Store, error) {
	if o.Clock == nil {
		o.Clock = licet.SystemClock{}
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 20
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 5 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL with its password: say less.
		return nil, errors.New("the PostgreSQL URL cannot be parsed")
	}
	cfg.ConnectTimeout = o.ConnectTimeout
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	cfg.RuntimeParams["application_name"] = "licet"
	if o.ReadOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := sqlstore.New(db, db, Dialect, o.Clock, o.ReadOnly)
	pctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout+time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", redact(cfg), err)
	}
	if !o.ReadOnly {
		sub, _ := fs.Sub(migrations, "migrations")
		if err := sqlstore.Migrate(ctx, db, Dialect, sub, o.Clock.Now()); err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	return s, nil
}

// redact names the server and database without the password.
func redact(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}
