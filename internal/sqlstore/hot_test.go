package sqlstore

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// The hot path's statements are rebound once, when the store is made.
func TestHotStatementsReboundOnce(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, db, &sqldb.Dialect{Name: "numbered", Numbered: true}, nil, true)
	defer s.Close()
	if got := s.hotStmts.sql[hotCheck]; !strings.Contains(got, "u.org_id = $1 AND u.user_id = $2") || !strings.Contains(got, "s.org_id = $3 AND s.used > 0") {
		t.Errorf("hot check query %q", got)
	}
	plain := New(db, db, &sqldb.Dialect{Name: "plain"}, nil, true)
	if plain.hotStmts.sql[hotCheck] != hotSQL[hotCheck] {
		t.Errorf("rebound for a dialect with ?: %q", plain.hotStmts.sql[hotCheck])
	}
}
