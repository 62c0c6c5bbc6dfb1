package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/licet/licet"
	_ "modernc.org/sqlite"
)

// openSQLite opens a fresh SQLite file the way package sqlite does (one
// writer connection), migrated with files.
func openSQLite(t *testing.T, d *Dialect, files fstest.MapFS) *DB {
	t.Helper()
	w, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "t.db")+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	if err := Migrate(context.Background(), w, d, files, licet.SystemClock{}.Now()); err != nil {
		t.Fatal(err)
	}
	db := New(w, w, d, nil, false)
	t.Cleanup(func() { db.Close() })
	return db
}

var kv = fstest.MapFS{
	"0001_kv.sql":   {Data: []byte(`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL);`)},
	"0002_seed.sql": {Data: []byte(`INSERT INTO kv (k, v) VALUES ('seeded', 1);`)},
}

func TestRebindOncePerQuery(t *testing.T) {
	r := rebound{d: &Dialect{Numbered: true}}
	q := `SELECT v FROM kv WHERE k = ? AND v > ?`
	want := `SELECT v FROM kv WHERE k = $1 AND v > $2`
	for range 3 {
		if got := r.query(q); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
	}
	if n := r.n.Load(); n != 1 {
		t.Errorf("%d queries kept, want 1", n)
	}
	if v, ok := r.m.Load(q); !ok || v != want {
		t.Errorf("kept %v %v", v, ok)
	}
	// Full: a new query is rebound but not kept.
	r.n.Store(maxRebound)
	if got := r.query(`DELETE FROM kv WHERE k = ?`); got != `DELETE FROM kv WHERE k = $1` {
		t.Errorf("over the bound: %q", got)
	}
	if _, ok := r.m.Load(`DELETE FROM kv WHERE k = ?`); ok {
		t.Error("a query kept over the bound")
	}

	// A dialect with "?" keeps the query as written and nothing else.
	plain := rebound{d: &Dialect{}}
	if got := plain.query(q); got != q || plain.n.Load() != 0 {
		t.Errorf("plain: %q, %d kept", got, plain.n.Load())
	}
}

func TestFailedNamesTheMethodAndKeepsCodeAndMessage(t *testing.T) {
	err := error(licet.Errorf(licet.ENOTFOUND, "organization x not found"))
	Failed(&err, "fetch an organization")
	if got := err.Error(); got != "store: unable to fetch an organization: organization x not found" {
		t.Errorf("logged as %q", got)
	}
	if licet.ErrorCode(err) != licet.ENOTFOUND || licet.ErrorMessage(err) != "organization x not found" {
		t.Errorf("answered %s %q", licet.ErrorCode(err), licet.ErrorMessage(err))
	}

	bug := errors.New("no such column: nmae")
	err = bug
	Failed(&err, "list organizations")
	if got := err.Error(); got != "store: unable to list organizations: no such column: nmae" {
		t.Errorf("logged as %q", got)
	}
	if licet.ErrorCode(err) != licet.EINTERNAL || licet.ErrorMessage(err) != "internal error" || !errors.Is(err, bug) {
		t.Errorf("answered %s %q", licet.ErrorCode(err), licet.ErrorMessage(err))
	}

	err = context.Canceled
	Failed(&err, "admit a check")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancellation is no longer one: %v", err)
	}
	err = nil
	Failed(&err, "admit a check")
	if err != nil {
		t.Errorf("no error became %v", err)
	}
}

func TestWrapCodesUnavailability(t *testing.T) {
	busy := errors.New("database is locked")
	db := &DB{D: &Dialect{Unavailable: func(err error) bool { return errors.Is(err, busy) }}}
	for _, tc := range []struct {
		err  error
		code string
	}{
		{fmt.Errorf("begin: %w", busy), licet.EUNAVAILABLE},
		{context.DeadlineExceeded, licet.EUNAVAILABLE},
		{context.Canceled, licet.EINTERNAL},
		{errors.New("syntax error"), licet.EINTERNAL},
		{licet.Errorf(licet.ECONFLICT, "exists already"), licet.ECONFLICT},
	} {
		got := db.Wrap(tc.err)
		if licet.ErrorCode(got) != tc.code || !errors.Is(got, tc.err) {
			t.Errorf("%v: %v (%s), want %s", tc.err, got, licet.ErrorCode(got), tc.code)
		}
	}
	if db.Wrap(nil) != nil {
		t.Error("nil wrapped")
	}
}

func TestMigrationsRunOnceInOrder(t *testing.T) {
	db := openSQLite(t, &Dialect{Name: "sqlite"}, kv)
	ctx := context.Background()
	if err := Migrate(ctx, db.W, db.D, kv, licet.SystemClock{}.Now()); err != nil {
		t.Fatal(err)
	}
	var rows, applied int
	if err := db.W.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("seeded rows %d %v; the seed ran again or not at all", rows, err)
	}
	if err := db.W.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil || applied != 2 {
		t.Errorf("applied %d %v", applied, err)
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	db := openSQLite(t, &Dialect{Name: "sqlite"}, kv)
	ro := New(db.W, db.R, db.D, nil, true)
	err := ro.Write(context.Background(), func(*Tx) error { t.Error("ran"); return nil })
	if licet.ErrorCode(err) != licet.EREADONLY {
		t.Errorf("a write on a read-only database: %v", err)
	}
}

// The statement cache prepares what cached transactions ran, after them
// and outside them, and the next cached transaction runs it prepared;
// uncached transactions neither use nor fill it.
func TestStatementCache(t *testing.T) {
	db := openSQLite(t, &Dialect{Name: "sqlite", CacheStatements: true}, kv)
	ctx := context.Background()
	const ins = `INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`
	const sel = `SELECT v FROM kv WHERE k = ?`
	if err := db.Write(ctx, func(tx *Tx) error {
		if tx.Cached() {
			t.Error("an uncached write is cached")
		}
		_, err := tx.ExecContext(ctx, ins, "a", 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(db.stmts.m)+len(db.stmts.wanted) != 0 {
		t.Errorf("an uncached write filled the cache: %v %v", db.stmts.m, db.stmts.wanted)
	}
	for i := range 3 {
		if err := db.WriteCached(ctx, func(tx *Tx) error {
			if !tx.Cached() {
				t.Error("a cached write is not")
			}
			prepared := tx.stmt(ins) != nil
			if prepared != (i > 0) {
				t.Errorf("run %d: prepared %v", i, prepared)
			}
			if _, err := tx.ExecContext(ctx, ins, "b", i); err != nil {
				return err
			}
			var v int
			return tx.QueryRowContext(ctx, sel, "b").Scan(&v)
		}); err != nil {
			t.Fatal(err)
		}
	}
	var v int
	if err := db.Read(ctx, func(tx *Tx) error { return tx.QueryRowContext(ctx, sel, "b").Scan(&v) }); err != nil || v != 2 {
		t.Errorf("read back %d %v", v, err)
	}
	db.stmts.mu.Lock()
	n := len(db.stmts.m)
	db.stmts.mu.Unlock()
	if n != 2 {
		t.Errorf("%d statements prepared, want 2", n)
	}

	// The cache is bounded: past it, statements run unprepared.
	var c stmtCache
	for i := range 2 * maxCachedStmts {
		c.get(fmt.Sprintf("SELECT %d", i))
	}
	if len(c.wanted) != maxCachedStmts {
		t.Errorf("%d statements wanted, want at most %d", len(c.wanted), maxCachedStmts)
	}
}

// A query kept costs no rebinding: no allocation once it is kept.
func TestReboundQueriesAllocateNothing(t *testing.T) {
	r := rebound{d: &Dialect{Numbered: true}}
	q := `UPDATE users SET last_seen = ? WHERE org_id = ? AND user_id = ?`
	r.query(q)
	if n := testing.AllocsPerRun(100, func() { r.query(q) }); n != 0 {
		t.Errorf("%v allocations a call", n)
	}
}
