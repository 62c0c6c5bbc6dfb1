package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/licet/licet/internal/postgres"
	"github.com/licet/licet/internal/sqlstore/sqldb"
	"github.com/licet/licet/internal/storetest"
)

// Writes queued with ExecLater in an admissions' transaction run in their
// order before any later statement reads, and one that fails fails the
// transaction: nothing of it commits, and the error is that statement's.
// A batch of reads goes with the writes queued before it, and fails the
// transaction the same way. The transaction's BEGIN and COMMIT travel with
// its statements; one that failed is rolled back, so that its connection
// (here the pool's only one, which every check below reads through) is
// never left inside it.
func TestPipelinedWrites(t *testing.T) {
	ctx := context.Background()
	c, err := sql.Open("pgx", storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	if _, err := c.ExecContext(ctx, `CREATE TABLE piped (id INT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	db := sqldb.New(c, c, postgres.Dialect, nil, false)
	backend := func() (pid int) {
		t.Helper()
		if err := c.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	pid := backend()
	count := func() (n int) {
		t.Helper()
		if err := c.QueryRowContext(ctx, `SELECT COUNT(*) FROM piped`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	err = db.WriteCached(ctx, func(tx *sqldb.Tx) error {
		if err := tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 1, "a"); err != nil {
			return err
		}
		if err := tx.ExecLater(ctx, `UPDATE piped SET v = ? WHERE id = ?`, "b", 1); err != nil {
			return err
		}
		var v string
		if err := tx.QueryRowContext(ctx, `SELECT v FROM piped WHERE id = ?`, 1).Scan(&v); err != nil {
			return err
		}
		if v != "b" {
			t.Errorf("read %q after the queued writes, want %q", v, "b")
		}
		return tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 2, "c") // sent before the commit
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d rows committed, want 2", n)
	}

	unique := func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505"
	}
	// Failing at the commit: queued, nothing fails before it.
	err = db.WriteCached(ctx, func(tx *sqldb.Tx) error {
		for _, id := range []int{3, 1, 4} {
			if err := tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, id, "x"); err != nil {
				t.Errorf("ExecLater ran at once: %v", err)
				return err
			}
		}
		return nil
	})
	if !unique(err) {
		t.Fatalf("queued duplicate: got %v, want a unique violation", err)
	}
	// Failing at the next read.
	err = db.WriteCached(ctx, func(tx *sqldb.Tx) error {
		if err := tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 5, "x"); err != nil {
			return err
		}
		if err := tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 2, "x"); err != nil {
			return err
		}
		var n int
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM piped`).Scan(&n)
	})
	if !unique(err) {
		t.Fatalf("queued duplicate before a read: got %v, want a unique violation", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d rows after the failed transactions, want 2", n)
	}

	// Reads in a batch: sent with the queued writes, which they see, each
	// row to its reader, in order.
	err = db.WriteCached(ctx, func(tx *sqldb.Tx) error {
		if err := tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 6, "y"); err != nil {
			return err
		}
		var ids []int
		var v string
		err := tx.Batch(ctx,
			sqldb.Read(func(r sqldb.Scanner) error {
				var id int
				err := r.Scan(&id)
				ids = append(ids, id)
				return err
			}, `SELECT id FROM piped WHERE id = ANY(?) ORDER BY id`, []int{1, 2, 6, 7}),
			sqldb.Read(func(r sqldb.Scanner) error { return r.Scan(&v) }, `SELECT v FROM piped WHERE id = ?`, 6))
		if err != nil {
			return err
		}
		if fmt.Sprint(ids) != "[1 2 6]" || v != "y" {
			t.Errorf("a batch after a queued write read ids %v and v %q, want [1 2 6] and y", ids, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A read that fails, or whose reader fails, fails the transaction:
	// the write queued before it does not commit.
	broken := errors.New("the reader failed")
	for _, read := range []sqldb.Queued{
		sqldb.Read(func(sqldb.Scanner) error { return nil }, `SELECT no_such_column FROM piped`),
		sqldb.Read(func(sqldb.Scanner) error { return broken }, `SELECT id FROM piped`),
	} {
		err = db.WriteCached(ctx, func(tx *sqldb.Tx) error {
			if err := tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 8, "z"); err != nil {
				return err
			}
			if err := tx.Batch(ctx, read); err != nil {
				return err
			}
			return tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 9, "z")
		})
		if err == nil {
			t.Fatalf("%s: the transaction committed", read.Query)
		}
		if n := count(); n != 3 {
			t.Fatalf("%s: %d rows after the failed batch, want 3", read.Query, n)
		}
	}

	// A transaction that fails in Go after its writes were sent, or when
	// its context ends, is rolled back.
	gave := errors.New("gave up")
	err = db.WriteCached(ctx, func(tx *sqldb.Tx) error {
		if err := tx.ExecLater(ctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 10, "w"); err != nil {
			return err
		}
		if err := tx.Batch(ctx, sqldb.Read(func(sqldb.Scanner) error { return nil }, `SELECT id FROM piped`)); err != nil {
			return err
		}
		return gave
	})
	if !errors.Is(err, gave) {
		t.Fatalf("a transaction that gave up: got %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	err = db.WriteCached(cctx, func(tx *sqldb.Tx) error {
		if err := tx.ExecLater(cctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 11, "w"); err != nil {
			return err
		}
		if err := tx.Batch(cctx, sqldb.Read(func(sqldb.Scanner) error { return nil }, `SELECT id FROM piped`)); err != nil {
			return err
		}
		cancel()
		return tx.ExecLater(cctx, `INSERT INTO piped (id, v) VALUES (?, ?)`, 12, "w")
	})
	if err == nil {
		t.Fatal("a transaction whose context ended before its commit committed")
	}
	if n := count(); n != 3 {
		t.Fatalf("%d rows after the transactions that gave up, want 3", n)
	}
	// And one that runs nothing costs nothing.
	if err := db.WriteCached(ctx, func(*sqldb.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// Every failed transaction was rolled back on its connection, which
	// stayed in the pool (pgx would close one left inside a transaction).
	if got := backend(); got != pid {
		t.Errorf("the connection was replaced (backend %d, then %d): a failed transaction was not rolled back", pid, got)
	}
}
