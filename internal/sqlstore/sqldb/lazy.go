package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// Lazy is a read prepared on its first use and kept, for the hot path:
// parsing SQL on every check cost SQLite more than running it. If
// preparing fails (the database is away), that use runs unprepared and a
// later one tries again; where the dialect prepares nothing (NoPrepare),
// every use runs unprepared.
type Lazy struct {
	mu        sync.Mutex // held only while preparing
	stmt      atomic.Pointer[sql.Stmt]
	db        *sql.DB
	q         string // rebound for the dialect, once
	noPrepare bool
}

// NewLazy makes q, written with "?", a lazily prepared read of db.
func NewLazy(db *DB, q string) *Lazy {
	return &Lazy{db: db.R, q: db.D.Rebind(q), noPrepare: db.D.NoPrepare}
}

// Query is a prepared statement, or the same query run unprepared.
type Query interface {
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
}

// Get returns the statement, preparing it on its first use.
func (l *Lazy) Get(ctx context.Context) Query {
	if st := l.stmt.Load(); st != nil {
		return st
	}
	if l.noPrepare {
		return unprepared{l.db, l.q}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.stmt.Load(); st != nil {
		return st
	}
	st, err := l.db.PrepareContext(ctx, l.q)
	if err != nil {
		return unprepared{l.db, l.q}
	}
	l.stmt.Store(st)
	return st
}

type unprepared struct {
	db *sql.DB
	q  string
}

func (u unprepared) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return u.db.QueryRowContext(ctx, u.q, args...)
}

func (u unprepared) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return u.db.QueryContext(ctx, u.q, args...)
}
