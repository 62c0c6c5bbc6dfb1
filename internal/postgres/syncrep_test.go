package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/licet/licet"
	"github.com/licet/licet/internal/postgres"
	"github.com/licet/licet/internal/storetest"
)

// PostgreSQL answers a commit whose wait for the synchronous standby is
// cancelled with success and a WARNING ("canceling wait for synchronous
// replication … The transaction has already committed locally, but might
// not have been replicated to the standby"). That commit may vanish with
// the node: the admission must fail (503), never be told as done.
func TestCancelledSyncCommitIsNotDone(t *testing.T) {
	cluster := storetest.NewPrimary(t)
	url := cluster.URL()
	ctx := context.Background()
	s, err := postgres.Open(ctx, url, postgres.Options{StatementTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	org := &licet.Organization{ID: storetest.GUID('o', 1), Name: "o", URL: "https://crm.example.net", Settings: licet.DefaultSettings()}
	if err := s.CreateOrganization(ctx, org, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPool(ctx, &licet.Pool{OrgID: org.ID, LicenseType: "Standard", Seats: 5, From: storetest.Start}, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}

	// One admission first, so that whatever is written once (secrets) is.
	warm := storetest.GUID('u', 99)
	if _, err := s.Admit(ctx, licet.AdmitRequest{OrgID: org.ID, UserID: warm, Sighting: licet.Sighting{OrgID: org.ID, UserID: warm, At: time.Now()}}); err != nil {
		t.Fatal(err)
	}

	// From now on every commit waits for a synchronous standby that never comes.
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{`ALTER SYSTEM SET synchronous_standby_names = 'nobody'`, `SELECT pg_reload_conf()`} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), `ALTER SYSTEM RESET synchronous_standby_names`)
		admin.Exec(context.Background(), `SELECT pg_reload_conf()`)
	})
	time.Sleep(200 * time.Millisecond) // the reload reaches every backend

	user := storetest.GUID('u', 1)
	type result struct {
		d   *licet.Decision
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := s.Admit(ctx, licet.AdmitRequest{OrgID: org.ID, UserID: user, Sighting: licet.Sighting{OrgID: org.ID, UserID: user, At: time.Now()}})
		done <- result{d, err}
	}()
	// Cancel the licet session's wait, as an operator's pg_cancel_backend,
	// a cancel request or a fast shutdown would.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		err := admin.QueryRow(ctx, `SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
			WHERE application_name = 'licet' AND wait_event = 'SyncRep'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the admission never waited for the synchronous standby")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := <-done
	if r.err == nil {
		t.Fatalf("a commit PostgreSQL could not replicate was reported done: %+v", r.d)
	}
	if licet.ErrorCode(r.err) != licet.EUNAVAILABLE {
		t.Errorf("error %v; want %s (503 and a retry)", r.err, licet.EUNAVAILABLE)
	}
	// The commit did happen locally: that is what made it dangerous.
	var state string
	if err := admin.QueryRow(ctx, `SELECT state FROM users WHERE user_id = $1`, user).Scan(&state); err != nil {
		t.Fatalf("the transaction was not committed locally (the test proves nothing): %v", err)
	}
}
