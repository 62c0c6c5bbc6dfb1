package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// stmtCache keeps the admissions' statements prepared on the writer, for
// a driver that parses the SQL of every unprepared call (modernc's SQLite
// does, and parsing cost a burst of admissions about a third of its CPU;
// pgx caches prepared statements itself). A statement is prepared outside
// any transaction, after the first transaction that ran it unprepared: the
// writer may have a single connection, which that transaction holds.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	wanted map[string]bool
}

// maxCachedStmts bounds the cache; the admissions use about a dozen.
const maxCachedStmts = 64

// get returns q's prepared statement, or nil (run q unprepared) and notes
// q to be prepared.
func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[q]; st != nil {
		return st
	}
	if c.wanted == nil {
		c.wanted = map[string]bool{}
	}
	if len(c.m)+len(c.wanted) < maxCachedStmts {
		c.wanted[q] = true
	}
	return nil
}

// prepareWanted prepares, on db, the statements noted since the last call.
// One that fails to prepare stays unprepared until it is noted again.
func (c *stmtCache) prepareWanted(db *sql.DB) {
	c.mu.Lock()
	var qs []string
	for q := range c.wanted {
		qs = append(qs, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	if len(qs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, q := range qs {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		if c.m[q] == nil {
			c.m[q], st = st, nil
		}
		c.mu.Unlock()
		if st != nil {
			st.Close()
		}
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	clear(c.m)
}

// WriteCached is Write with the transaction's statements taken from the
// cache where the dialect asks for it (CacheStatements): the admissions.
func (db *DB) WriteCached(ctx context.Context, fn func(*Tx) error) error {
	if !db.D.CacheStatements || db.ReadOnly {
		return db.WritePipelined(ctx, fn)
	}
	err := db.Write(ctx, func(tx *Tx) error {
		tx.cache = &db.stmts
		return fn(tx)
	})
	db.stmts.prepareWanted(db.W)
	return err
}
