package sqlstore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/licet/licet"
	"github.com/licet/licet/internal/postgres"
	"github.com/licet/licet/internal/sqlstore"
	"github.com/licet/licet/internal/sqlstore/sqldb"
	"github.com/licet/licet/internal/storetest"
)

// TestPrefetchProbesEachUser: a group of admissions reads its users with
// one primary-key probe each, also on a table PostgreSQL has no
// statistics for (a new database, a burst of new users before autovacuum
// runs). "user_id IN (…)" and a plain join were planned there as a read of
// every user of the organization, filtered: 6 ms a group at 11,000 users,
// the writer's largest cost in the assignment burst.
func TestPrefetchProbesEachUser(t *testing.T) {
	ctx := context.Background()
	url := storetest.PostgresURL(t)
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	org := storetest.GUID('o', 1)
	if err := s.CreateOrganization(ctx, &licet.Organization{ID: org, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 3000)
	for i := range ids {
		ids[i] = storetest.GUID('u', i)
	}
	for i := 0; i < len(ids); i += 1000 {
		if _, err := s.ChangeUsers(ctx, org, ids[i:i+1000], licet.ActionAdd, "", "op"); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := append(ids[:20:20], storetest.GUID('u', 90000), storetest.GUID('u', 90001))
	q := (&sqldb.Dialect{Numbered: true}).Rebind(sqlstore.PrefetchSQL)
	rows, err := db.QueryContext(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "+q, want, org)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	probed := false
	for _, line := range plan {
		probed = probed || (strings.Contains(line, "Index Cond: ((org_id = ") && strings.Contains(line, "AND (user_id = want.id))"))
	}
	if !probed || strings.Contains(text, "Rows Removed by Filter") ||
		strings.Contains(text, "Hash") || strings.Contains(text, "Seq Scan") {
		t.Errorf("the users of a group are not read one primary-key probe each:\n%s", text)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM ("+q+") AS x", want, org).Scan(&n); err != nil || n != 20 {
		t.Errorf("read %d of the 20 users there are (%v)", n, err)
	}
}
