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
	"log/slog"
	"net"
	neturl "net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore"
	"github.com/licet/licet/internal/sqlstore/sqldb"
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
	// ConnectTimeout bounds opening a connection to one host (default 5s).
	ConnectTimeout time.Duration
	// Patroni, when set, names the Patroni REST APIs of the cluster's
	// members: licet then connects only to the member Patroni names leader
	// and closes its connections to a node as soon as it stops being the
	// leader (see patroniLeader).
	Patroni []string
	// PatroniEvery is how often the members are asked (default 500ms).
	PatroniEvery time.Duration
	// Logger receives the leader changes (default: discarded).
	Logger *slog.Logger
	// PgBouncer says the URL names a PgBouncer in transaction pooling:
	// statements run unprepared (pgx's cache_describe mode unless the URL's
	// default_query_exec_mode says otherwise), migrations lock per
	// transaction, and no session settings are sent at connect (set
	// statement_timeout on the database role instead).
	PgBouncer bool
}

// migrationLockKey is the advisory lock processes starting at once take in
// turn to migrate: an arbitrary constant, "licet" in ASCII.
const migrationLockKey = 0x6c69636574

// Dialect is PostgreSQL's.
var Dialect = &sqldb.Dialect{
	Name:             "postgres",
	Compact:          []string{`VACUUM FULL organizations`, `VACUUM FULL meta`},
	GroupCommit:      true,
	Numbered:         true,
	Greatest:         "GREATEST",
	ForUpdate:        " FOR UPDATE",
	SkipLocked:       " FOR UPDATE SKIP LOCKED",
	MigrationLock:    "SELECT pg_advisory_lock(" + strconv.Itoa(migrationLockKey) + ")",
	MigrationUnlock:  "SELECT pg_advisory_unlock(" + strconv.Itoa(migrationLockKey) + ")",
	Unavailable:      Unavailable,
	Lag:              lag,
	CheckCommit:      checkCommit,
	Pipeline:         pipeline,
	RowsPerStatement: 200,
}

// pipeline sends statements on a transaction's connection as one batch:
// one round trip, run in order, stopped at the first that fails (and the
// transaction with it). A read's rows go to its Row as they arrive.
func pipeline(ctx context.Context, conn *sql.Conn, qs []sqldb.Queued) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("pipeline: unexpected driver connection %T", dc)
		}
		var b pgx.Batch
		for _, q := range qs {
			b.Queue(q.Query, q.Args...)
		}
		br := c.Conn().SendBatch(ctx, &b)
		for _, q := range qs {
			if err := result(br, q); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
}

// result reads one statement's result from a batch.
func result(br pgx.BatchResults, q sqldb.Queued) error {
	if q.Row == nil {
		tag, err := br.Exec()
		if err == nil && q.Query == "COMMIT" && tag.String() != "COMMIT" {
			// An aborted transaction answers COMMIT with ROLLBACK.
			err = fmt.Errorf("the transaction was rolled back (%s)", tag)
		}
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	return q.Each(rows)
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
	if cfg.ConnectTimeout == 0 { // the URL's connect_timeout, else the option
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Every connection is dialed through a tracker, so that connections to
	// a node that stopped leading can be closed at once.
	tracker := &conns{dialer: net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 15 * time.Second}}
	cfg.DialFunc = tracker.dial
	var leader *patroniLeader
	if len(o.Patroni) > 0 && !o.ReadOnly {
		leader = newPatroniLeader(o.Patroni, tracker, o.PatroniEvery, o.Logger)
		tracker.allow = leader.allow
	}
	// A cancelled context closes the socket: never send a cancel request,
	// which turns a commit waiting for its synchronous standby into a
	// success reported with a WARNING (see OnNotice).
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	cfg.OnNotice = func(pc *pgconn.PgConn, n *pgconn.Notice) {
		if strings.HasPrefix(n.Message, "canceling wait for synchronous replication") {
			pc.CustomData()[syncWaitCancelled] = true
		}
	}
	if !o.ReadOnly && cfg.ValidateConnect == nil {
		// A node that is no longer the primary (an old primary that came
		// back as a standby) is refused on connect; pgx tries the next host.
		cfg.ValidateConnect = pgconn.ValidateConnectTargetSessionAttrsReadWrite
	}
	d := Dialect
	cfg.RuntimeParams["application_name"] = "licet"
	if o.PgBouncer {
		pooled := *Dialect
		pooled.MigrationLock, pooled.MigrationUnlock = "", ""
		pooled.MigrationTxLock = "SELECT pg_advisory_xact_lock(" + strconv.Itoa(migrationLockKey) + ")"
		pooled.NoPrepare = true
		d = &pooled
		if _, set := urlParam(url, "default_query_exec_mode"); !set {
			// One round trip, unnamed statements: what transaction pooling
			// allows (docs/OPERATIONS.md says what each mode costs).
			cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
		}
	} else {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
		if o.ReadOnly {
			cfg.RuntimeParams["default_transaction_read_only"] = "on"
		}
	}
	var opts []stdlib.OptionOpenDB
	if leader != nil {
		// A pooled connection to a node that is no longer the leader is
		// dropped before it is used again.
		opts = append(opts, stdlib.OptionResetSession(func(ctx context.Context, c *pgx.Conn) error {
			if !leader.isLeader(c.PgConn().Conn().RemoteAddr().String()) {
				return driver.ErrBadConn
			}
			return nil
		}))
	}
	db := stdlib.OpenDB(*cfg, opts...)
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := sqlstore.New(db, db, d, o.Clock, o.ReadOnly)
	// A group of admissions must not wait longer than a statement may run
	// twice: past that its commit is treated as of unknown outcome.
	s.WriteTimeout = 2 * o.StatementTimeout
	if leader != nil {
		lctx, stop := context.WithCancel(context.Background())
		leader.poll(lctx) // know the leader before the first connection
		done := make(chan struct{})
		go func() { defer close(done); leader.run(lctx) }()
		s.OnClose = func() { stop(); <-done }
		s.Leader = leader.known
	}
	pctx, cancel := context.WithTimeout(ctx, time.Duration(1+len(cfg.Fallbacks))*cfg.ConnectTimeout+time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", redact(cfg), err)
	}
	if !o.ReadOnly {
		sub, _ := fs.Sub(migrations, "migrations")
		if err := sqldb.Migrate(ctx, db, d, sub, o.Clock.Now()); err != nil {
			s.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	return s, nil
}

// syncWaitCancelled marks, in a connection's custom data, that PostgreSQL
// reported "canceling wait for synchronous replication": the last commit is
// local only and may be lost with this node.
const syncWaitCancelled = "licet.syncWaitCancelled"

// checkCommit tells whether the commit just made on conn is durable as
// configured. PostgreSQL answers a commit whose wait for the synchronous
// standby was cancelled (by a cancel request, pg_cancel_backend, or a
// shutdown) with success and a WARNING; the transaction then exists on this
// node only, and is lost if the node is. Such a commit is of unknown
// outcome: an error, and the connection is discarded.
func checkCommit(conn *sql.Conn) error {
	var cancelled bool
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return nil
		}
		data := c.Conn().PgConn().CustomData()
		cancelled, _ = data[syncWaitCancelled].(bool)
		delete(data, syncWaitCancelled)
		if cancelled {
			return driver.ErrBadConn // discard the connection
		}
		return nil
	})
	if cancelled {
		return licet.Errorf(licet.EUNAVAILABLE, "the database could not confirm the change was replicated; try again")
	}
	return err
}

// urlParam reads a query parameter of a postgres:// URL.
func urlParam(raw, name string) (string, bool) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", false
	}
	v, ok := u.Query()[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// redact names the server and database without the password.
func redact(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}
