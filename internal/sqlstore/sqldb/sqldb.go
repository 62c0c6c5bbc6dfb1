// Package sqldb is the part of licet's SQL store every other part shares:
// the Dialect (what differs between SQLite and PostgreSQL, kept as
// explicit data), the database handles, transactions whose queries are
// written with "?" and rebound once for the dialect, the coding of
// database errors, the migrations, and the rows several parts read
// (organizations, the audit log, time columns).
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
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
	// RowsPerStatement is how many rows one statement of a bulk write
	// (the sightings) changes: many where each statement is a round trip;
	// 0 or 1 for SQLite, in-process, where a statement that changes many
	// rows also makes it keep a statement journal, and costs more.
	RowsPerStatement int
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
	// Pipeline, when set, sends statements (those queued by Tx.ExecLater,
	// then the reads of a Tx.Batch) in one round trip on the transaction's
	// connection, in their order, hands each read's rows to its Row, and
	// reports the first that failed. Without it they run one by one.
	Pipeline func(ctx context.Context, conn *sql.Conn, qs []Queued) error
	// Unavailable tells errors that mean "the database cannot be reached or
	// is overloaded now" (answered 503) from bugs (500).
	Unavailable func(error) bool
}

// Rebind returns q with its "?" placeholders as the dialect writes them.
func (d *Dialect) Rebind(q string) string {
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

// DB is a store's database: a writer and readers (the same pool where the
// database has no single writer), the dialect, and the one clock every
// part of the store reads.
type DB struct {
	W, R     *sql.DB
	D        *Dialect
	Clock    licet.Clock
	ReadOnly bool

	bound rebound
	stmts stmtCache
}

// New makes the database of a store that writes through w and reads
// through r; a nil clock is the system's.
func New(w, r *sql.DB, d *Dialect, clock licet.Clock, readOnly bool) *DB {
	if clock == nil {
		clock = licet.SystemClock{}
	}
	db := &DB{W: w, R: r, D: d, Clock: clock, ReadOnly: readOnly}
	db.bound.d = d
	return db
}

// Close closes the cached statements and the database.
func (db *DB) Close() error {
	db.stmts.close()
	if db.R == db.W {
		return db.W.Close()
	}
	return errors.Join(db.R.Close(), db.W.Close())
}

// Tx is a transaction that speaks the dialect: queries are written with "?"
// placeholders and rebound as the database wants.
type Tx struct {
	// Tx is nil in a pipelined transaction (WritePipelined): its
	// statements run on conn, after a BEGIN sent with the first of them.
	*sql.Tx
	d     *Dialect
	bound *rebound   // nil: rebind every query (migrations)
	cache *stmtCache // nil: every statement unprepared
	// conn is the transaction's connection where the dialect can tell
	// after the commit whether it is durable (CheckCommit).
	conn *sql.Conn
	// pipe queues ExecLater's statements until the next statement or the
	// commit (WriteCached, where the dialect has a Pipeline).
	pipe    bool
	queued  []Queued
	pipeErr error
	begun   bool // a pipelined transaction's BEGIN was sent
}

// querier runs statements: the transaction, or the connection a pipelined
// transaction runs on.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, q string) (*sql.Stmt, error)
}

func (tx *Tx) on() querier {
	if tx.Tx == nil {
		return tx.conn
	}
	return tx.Tx
}

// Queued is a statement for a pipeline, rebound for the dialect: a write
// ExecLater queued, or a read of a Batch, whose Row is called with each
// row it returns, in order.
type Queued struct {
	Query string
	Args  []any
	Row   func(Scanner) error
}

// Read is a query for Batch whose every row goes to row.
func Read(row func(Scanner) error, q string, args ...any) Queued {
	return Queued{Query: q, Args: args, Row: row}
}

// ExecLater runs a statement whose result the caller does not need. In a
// transaction that pipelines, it is queued and sent with the next
// statement or before the commit, in order, so that every later statement
// sees its effect; its error, if any, then fails that statement or the
// commit, and the transaction. Elsewhere it runs at once.
func (tx *Tx) ExecLater(ctx context.Context, q string, args ...any) error {
	if !tx.pipe {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	if tx.pipeErr != nil {
		return tx.pipeErr
	}
	tx.queued = append(tx.queued, Queued{Query: tx.query(q), Args: args})
	return nil
}

// Pipelined reports whether ExecLater queues and Batch is one round trip
// (see WritePipelined).
func (tx *Tx) Pipelined() bool { return tx.pipe }

// Batch runs reads (made with Read) in their order, after what ExecLater
// queued, each row of each going to its Row; it stops at the first error.
// Where the transaction pipelines, all of it is one round trip, and a
// failure fails the transaction; elsewhere each read runs as it would
// alone.
func (tx *Tx) Batch(ctx context.Context, reads ...Queued) error {
	if !tx.pipe {
		for _, r := range reads {
			if err := tx.read(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}
	if tx.pipeErr != nil {
		return tx.pipeErr
	}
	qs := tx.queued
	tx.queued = nil
	for _, r := range reads {
		r.Query = tx.query(r.Query)
		qs = append(qs, r)
	}
	tx.begun = true
	tx.pipeErr = tx.d.Pipeline(ctx, tx.conn, qs)
	return tx.pipeErr
}

// read runs one read of a Batch on its own.
func (tx *Tx) read(ctx context.Context, r Queued) error {
	rows, err := tx.QueryContext(ctx, r.Query, r.Args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return r.Each(rows)
}

// Rows are the rows of a read: *sql.Rows, or a pipeline's.
type Rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}

// Each hands every row of rows to the read's Row, then reports rows'
// error; the caller closes rows.
func (r Queued) Each(rows Rows) error {
	for rows.Next() {
		if err := r.Row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// flush sends the queued statements. Once one failed, the transaction is
// lost: every later flush returns that error.
func (tx *Tx) flush(ctx context.Context) error {
	if tx.pipeErr != nil || len(tx.queued) == 0 {
		return tx.pipeErr
	}
	qs := tx.queued
	tx.queued = nil
	tx.begun = true
	tx.pipeErr = tx.d.Pipeline(ctx, tx.conn, qs)
	return tx.pipeErr
}

// Dialect is the transaction's dialect.
func (tx *Tx) Dialect() *Dialect { return tx.d }

// Cached reports whether the transaction runs statements prepared once
// (see DB.WriteCached): small statements then cost no parsing.
func (tx *Tx) Cached() bool { return tx.cache != nil }

// rebound keeps each query rebound for a dialect with numbered
// placeholders, so that a query is rewritten once, not on every call.
// authelia rebinds its queries once when it opens the database; licet's
// are written where they run, so the first run of each rebinds it.
type rebound struct {
	d *Dialect
	m sync.Map // "?" query -> the dialect's
	n atomic.Int64
}

// maxRebound bounds the queries kept: a few are built with a variable
// number of placeholders (a batch of user changes, a list of types).
const maxRebound = 2048

// query returns q as the dialect wants it.
func (r *rebound) query(q string) string {
	if !r.d.Numbered {
		return q
	}
	if v, ok := r.m.Load(q); ok {
		return v.(string)
	}
	b := r.d.Rebind(q)
	if r.n.Load() < maxRebound {
		if _, loaded := r.m.LoadOrStore(q, b); !loaded {
			r.n.Add(1)
		}
	}
	return b
}

// query rebinds q, once per store where the transaction has a store's
// rebound queries.
func (tx *Tx) query(q string) string {
	if tx.bound == nil {
		return tx.d.Rebind(q)
	}
	return tx.bound.query(q)
}

func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	q = tx.query(q)
	if st := tx.stmt(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.on().ExecContext(ctx, q, args...)
}

func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	q = tx.query(q)
	if st := tx.stmt(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.on().QueryContext(ctx, q, args...)
}

// stmt returns q prepared, when the transaction takes statements from the
// cache and q is in it.
func (tx *Tx) stmt(q string) *sql.Stmt {
	if tx.cache == nil {
		return nil
	}
	return tx.cache.get(q)
}

// QueryRowContext sends what is queued first; if that failed, the
// transaction is aborted, so the query fails too, and the transaction
// reports the first error.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	_ = tx.flush(ctx)
	q = tx.query(q)
	if st := tx.stmt(q); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.on().QueryRowContext(ctx, q, args...)
}

func (tx *Tx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	return tx.on().PrepareContext(ctx, tx.query(q))
}

// Write runs fn in a write transaction.
func (db *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	if db.ReadOnly {
		return licet.Errorf(licet.EREADONLY, "this server is read-only; make changes on the primary")
	}
	return db.inTx(ctx, db.W, nil, fn)
}

// WritePipelined is Write where the dialect can pipeline (and check its
// commits): statements queued by ExecLater go with the next statement or
// the commit, the transaction's BEGIN goes with its first statement and
// its COMMIT with the last writes, so that a transaction whose reads are
// one Batch waits for the database only twice.
func (db *DB) WritePipelined(ctx context.Context, fn func(*Tx) error) error {
	if db.ReadOnly || db.D.Pipeline == nil || db.D.CheckCommit == nil {
		return db.Write(ctx, fn)
	}
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return db.Wrap(err)
	}
	defer conn.Close()
	tx := &Tx{d: db.D, bound: &db.bound, conn: conn, pipe: true, queued: []Queued{{Query: "BEGIN"}}}
	err = fn(tx)
	if err == nil && !tx.begun && len(tx.queued) == 1 {
		return nil // nothing ran: no transaction to commit
	}
	if err == nil {
		tx.queued = append(tx.queued, Queued{Query: "COMMIT"})
		if err = tx.flush(ctx); err == nil {
			return db.Wrap(db.D.CheckCommit(conn))
		}
	}
	if tx.pipeErr != nil {
		err = tx.pipeErr // the first failure, not the aborted transaction's
	}
	if tx.begun {
		tx.rollback(ctx)
	}
	return db.Wrap(err)
}

// rollback ends a pipelined transaction that failed. A connection that
// cannot say it rolled back is not used again: it may still be inside the
// transaction.
func (tx *Tx) rollback(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := tx.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		_ = tx.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// Read runs fn in a read-only transaction so that what it reads is consistent.
func (db *DB) Read(ctx context.Context, fn func(*Tx) error) error {
	return db.inTx(ctx, db.R, &sql.TxOptions{ReadOnly: true}, fn)
}

func (db *DB) inTx(ctx context.Context, sdb *sql.DB, o *sql.TxOptions, fn func(*Tx) error) error {
	if o == nil && db.D.CheckCommit != nil {
		return db.inCheckedTx(ctx, sdb, fn)
	}
	t, err := sdb.BeginTx(ctx, o)
	if err != nil {
		return db.Wrap(err)
	}
	defer t.Rollback()
	if err := fn(&Tx{Tx: t, d: db.D, bound: &db.bound}); err != nil {
		return db.Wrap(err)
	}
	return db.Wrap(t.Commit())
}

// inCheckedTx runs a write transaction on a connection of its own, so that
// the dialect can tell, after the commit, whether it is durable.
func (db *DB) inCheckedTx(ctx context.Context, sdb *sql.DB, fn func(*Tx) error) error {
	conn, err := sdb.Conn(ctx)
	if err != nil {
		return db.Wrap(err)
	}
	defer conn.Close()
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return db.Wrap(err)
	}
	defer t.Rollback()
	if err := fn(&Tx{Tx: t, d: db.D, bound: &db.bound, conn: conn}); err != nil {
		return db.Wrap(err)
	}
	if err := t.Commit(); err != nil {
		return db.Wrap(err)
	}
	return db.Wrap(db.D.CheckCommit(conn))
}

// Wrap turns errors a caller can act on into coded errors.
func (db *DB) Wrap(err error) error {
	var le *licet.Error
	switch {
	case err == nil, errors.As(err, &le):
		return err
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), db.D.Unavailable != nil && db.D.Unavailable(err):
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

// Failed names, in *err, the public method it left ("store: unable to
// admit a check: …"), so that a logged internal error says where it came
// from. The error keeps its code and the message users see: licet.ErrorCode
// and licet.ErrorMessage read through the wrapping. Public methods of the
// store defer it.
func Failed(err *error, what string) {
	if *err != nil {
		*err = fmt.Errorf("store: unable to %s: %w", what, *err)
	}
}
