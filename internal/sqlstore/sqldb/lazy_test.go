package sqldb

import (
	"context"
	"database/sql"
	"testing"
)

// A lazy statement is rebound once, when it is made; it is prepared on its
// first use and kept, and one that cannot be prepared yet runs unprepared
// until a later use prepares it.
func TestLazy(t *testing.T) {
	ctx := context.Background()
	if l := NewLazy(New(nil, nil, &Dialect{Numbered: true}, nil, true), "SELECT ? AND ?"); l.q != "SELECT $1 AND $2" {
		t.Errorf("rebound %q", l.q)
	}
	db := openSQLite(t, &Dialect{Name: "sqlite"}, nil)
	l := NewLazy(db, `SELECT v FROM later WHERE id = ?`)
	if _, ok := l.Get(ctx).(unprepared); !ok {
		t.Fatal("a statement on a table not there yet was prepared")
	}
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE later (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO later VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	st, ok := l.Get(ctx).(*sql.Stmt)
	if !ok {
		t.Fatal("not prepared once it could be")
	}
	if l.Get(ctx) != st {
		t.Error("prepared again")
	}
	var v string
	if err := st.QueryRowContext(ctx, 1).Scan(&v); err != nil || v != "x" {
		t.Errorf("read %q, %v", v, err)
	}
	if _, ok := NewLazy(openSQLite(t, &Dialect{Name: "sqlite", NoPrepare: true}, nil), `SELECT 1`).Get(ctx).(unprepared); !ok {
		t.Error("prepared where the dialect prepares nothing")
	}
}
