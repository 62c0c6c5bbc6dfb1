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
	if got := s.hotStmts.sql[hotUser]; !strings.HasSuffix(got, "WHERE org_id = $1 AND user_id = $2") {
		t.Errorf("hot user query %q", got)
	}
	if got := s.hotStmts.sql[hotUsed]; !strings.Contains(got, "org_id = $1 AND used > 0") {
		t.Errorf("hot seat query %q", got)
	}
	plain := New(db, db, &sqldb.Dialect{Name: "plain"}, nil, true)
	if plain.hotStmts.sql[hotUser] != hotSQL[hotUser] {
		t.Errorf("rebound for a dialect with ?: %q", plain.hotStmts.sql[hotUser])
	}
}
