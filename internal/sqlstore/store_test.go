package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlite"
	"github.com/licet/licet/internal/storetest"
)

func open(t testing.TB, clock licet.Clock) (licet.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "licet.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// A user's error keeps its code and message through the wrapping (what
// the API and the console answer); an internal error is logged with the
// method that met it, and answered "internal error".
func TestErrorsNameTheMethodAndKeepTheirCodes(t *testing.T) {
	s, path := open(t, storetest.NewClock(storetest.Start))
	ctx := context.Background()
	org := storetest.GUID('o', 1)
	_, err := s.Organization(ctx, org)
	if licet.ErrorCode(err) != licet.ENOTFOUND || licet.ErrorMessage(err) != "organization "+org+" not found" {
		t.Errorf("answered %s %q", licet.ErrorCode(err), licet.ErrorMessage(err))
	}
	if want := "store: unable to fetch an organization: organization " + org + " not found"; err.Error() != want {
		t.Errorf("logged %q, want %q", err, want)
	}
	if err := s.CreateOrganization(ctx, &licet.Organization{ID: org, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
		t.Fatal(err)
	}
	_, err = s.ChangeUser(ctx, org, storetest.GUID('u', 1), licet.ActionAssign, "", "op")
	if licet.ErrorCode(err) != licet.ECONFLICT || strings.HasPrefix(licet.ErrorMessage(err), "store:") {
		t.Errorf("assignment without seats: %s %q", licet.ErrorCode(err), licet.ErrorMessage(err))
	}
	// Named once, by the method called, not again by those it calls.
	if !strings.HasPrefix(err.Error(), "store: unable to change a user: ") || strings.Count(err.Error(), "store:") != 1 {
		t.Errorf("logged %q", err)
	}

	// Another connection takes the audit table away: a bug, not the user's.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `ALTER TABLE audit RENAME TO audit_gone`); err != nil {
		t.Fatal(err)
	}
	_, err = s.Audit(ctx, org, licet.AuditFilter{})
	if licet.ErrorCode(err) != licet.EINTERNAL || licet.ErrorMessage(err) != "internal error" {
		t.Errorf("answered %s %q", licet.ErrorCode(err), licet.ErrorMessage(err))
	}
	if !strings.HasPrefix(err.Error(), "store: unable to read the audit log: ") || !strings.Contains(err.Error(), "audit") {
		t.Errorf("logged %q", err)
	}
	if err := s.PutLicenseType(ctx, licet.LicenseType{Name: "Pro"}, "op"); err == nil ||
		!strings.HasPrefix(err.Error(), "store: unable to store a license type: ") {
		t.Errorf("a write that could not audit: %v", err)
	}
}

// A cancelled request stays a cancellation through the wrapping (the
// server answers it as a client that went away, not as an error).
func TestCancellationStaysOne(t *testing.T) {
	s, _ := open(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Organizations(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v", err)
	}
}

// Every time the store writes comes from its clock, not the machine's.
func TestOneClock(t *testing.T) {
	clk := storetest.NewClock(time.Date(2031, 7, 1, 12, 0, 0, 0, time.UTC))
	s, _ := open(t, clk)
	ctx := context.Background()
	org := storetest.GUID('o', 1)
	if err := s.CreateOrganization(ctx, &licet.Organization{ID: org, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAdmin(ctx, org, "a@customer.example", "link", clk.Now().Add(time.Hour), "op")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateAdminToken(ctx, a.ID, "", "ci", "hash")
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Organization(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.Audit(ctx, "", licet.AuditFilter{})
	if err != nil || len(evs) == 0 {
		t.Fatal(evs, err)
	}
	for _, at := range append([]time.Time{o.CreatedAt, tok.CreatedAt}, evs[0].At, evs[len(evs)-1].At) {
		if !at.Equal(clk.Now()) {
			t.Errorf("written at %v, the clock says %v", at, clk.Now())
		}
	}
}
