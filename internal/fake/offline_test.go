package fake_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/internal/sqlite"
)

var _ offline.Store = (*fake.OfflineStore)(nil)

// The fake answers what the SQL store answers for everything the offline
// service uses.
func TestOfflineStoreAnswersAsTheSQLStore(t *testing.T) {
	ctx := context.Background()
	clock := fake.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	real, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "licet.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	fk := fake.NewOfflineStore(clock)

	s := licet.DefaultSettings()
	s.Offline = true
	now := clock.Now()
	orgs := []licet.Organization{{ID: orgA, Name: "A", URL: "https://a.example", Settings: s}, {ID: orgB, Name: "B", URL: "https://b.example", Settings: licet.DefaultSettings()}}
	if err := real.PutLicenseType(ctx, licet.LicenseType{Name: "Standard"}, "op"); err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		if err := real.CreateOrganization(ctx, &o, "op"); err != nil {
			t.Fatal(err)
		}
		fk.PutOrg(o)
		p := licet.Pool{OrgID: o.ID, LicenseType: "Standard", Seats: 5, From: now.Add(-time.Hour)}
		if err := real.AddPool(ctx, &p, "op"); err != nil {
			t.Fatal(err)
		}
		fk.AddPool(p)
	}
	// Users 1 and 2 licensed, 3 licensed then disabled, 4 added only.
	for n := 1; n <= 4; n++ {
		if _, err := real.ChangeUser(ctx, orgA, user(n), licet.ActionAdd, "", "op"); err != nil {
			t.Fatal(err)
		}
		u := licet.User{OrgID: orgA, ID: user(n), State: licet.UserUnlicensed}
		if n <= 3 {
			if _, err := real.ChangeUser(ctx, orgA, user(n), licet.ActionAssign, "Standard", "op"); err != nil {
				t.Fatal(err)
			}
			u.State, u.LicenseType = licet.UserLicensed, "Standard"
		}
		if n == 3 {
			if _, err := real.ChangeUser(ctx, orgA, user(n), licet.ActionDisable, "", "op"); err != nil {
				t.Fatal(err)
			}
			u.Disabled = true
		}
		fk.PutUser(u)
	}
	cfg := licet.OfflineConfig{Backend: "https://dav.example/licet.lic", ValidDays: 30, AutoAllowed: true, AutoUpdate: true}
	if err := real.SetOfflineConfig(ctx, orgA, cfg, false, "op"); err != nil {
		t.Fatal(err)
	}
	fk.SetConfig(orgA, cfg)

	same := func(what string, get func(s offline.Store) string) {
		t.Helper()
		a, b := get(real), get(fk)
		t.Logf("%s: %s", what, a)
		if a != b {
			t.Errorf("%s:\n  sql:  %s\n  fake: %s", what, a, b)
		}
	}
	code := func(err error) string {
		if err == nil {
			return "ok"
		}
		return licet.ErrorCode(err)
	}
	issue := func(is licet.OfflineIssue) string {
		return fmt.Sprint(is.OrgID, is.Serial, is.IssuedAt.UnixMilli(), is.IssuedBy, is.Users, is.ValidUntil.UnixMilli(),
			is.UploadStatus, is.UploadDetail, is.UploadedAt.IsZero() || is.UploadedAt.UnixMilli() == now.UnixMilli(), string(is.Document))
	}
	same("holders", func(s offline.Store) string {
		l, d, err := s.OfflineHolders(ctx, orgA)
		_, _, e2 := s.OfflineHolders(ctx, "00000000-0000-4000-8000-00000000dead")
		return fmt.Sprint(l, d, err, code(e2))
	})
	same("config", func(s offline.Store) string {
		c, err := s.OfflineConfig(ctx, orgA)
		_, e2 := s.OfflineConfig(ctx, "00000000-0000-4000-8000-00000000dead")
		return fmt.Sprintf("%+v %v %s", *c, err, code(e2))
	})
	same("no document yet", func(s offline.Store) string {
		_, err := s.OfflineDocument(ctx, orgA)
		h, err2 := s.OfflineHistory(ctx, orgA, 5)
		return fmt.Sprint(code(err), len(h), err2)
	})
	build := func(org *licet.Organization, serial int64, users []*licet.User, pools []licet.Pool) ([]byte, time.Time, int, error) {
		var ids []string
		for _, u := range users {
			ids = append(ids, u.ID+"/"+u.LicenseType)
		}
		return fmt.Appendf(nil, "%s #%d %v %d", org.ID, serial, ids, len(pools)), now.Add(24 * time.Hour), len(users), nil
	}
	same("issue", func(s offline.Store) string {
		var out []string
		for range 2 {
			is, err := s.IssueOffline(ctx, orgA, "op", build)
			out = append(out, issue(*is), fmt.Sprint(err))
		}
		_, err := s.IssueOffline(ctx, orgB, "op", build)
		_, err2 := s.IssueOffline(ctx, orgA, "op", func(*licet.Organization, int64, []*licet.User, []licet.Pool) ([]byte, time.Time, int, error) {
			return nil, time.Time{}, 0, licet.Errorf(licet.ECONFLICT, "no")
		})
		return fmt.Sprint(out, code(err), code(err2))
	})
	same("uploads and history", func(s offline.Store) string {
		if err := s.RecordOfflineUpload(ctx, orgA, 1, "uploaded", "", "op"); err != nil {
			return err.Error()
		}
		if err := s.RecordOfflineUpload(ctx, orgA, 2, "failed", "the backend had a server error", "op"); err != nil {
			return err.Error()
		}
		h, err := s.OfflineHistory(ctx, orgA, 5)
		var out []string
		for _, is := range h {
			out = append(out, issue(is))
		}
		h1, _ := s.OfflineHistory(ctx, orgA, 1)
		doc, err2 := s.OfflineDocument(ctx, orgA)
		return fmt.Sprint(out, err, len(h1), h1[0].Serial, issue(*doc), err2)
	})
	same("backend test", func(s offline.Store) string {
		rep := licet.OfflineTest{At: now, By: "op", OK: false, Steps: []licet.OfflineTestStep{{Name: "upload", OK: false, Detail: "no"}, {Name: "read", Skipped: true}}}
		if err := s.RecordOfflineTest(ctx, orgA, rep); err != nil {
			return err.Error()
		}
		c, err := s.OfflineConfig(ctx, orgA)
		return fmt.Sprintf("%+v %v", *c.LastTest, err)
	})
	same("auto orgs", func(s offline.Store) string {
		ids, err := s.OfflineAutoOrgs(ctx)
		return fmt.Sprint(ids, err)
	})
	same("organization and pools", func(s offline.Store) string {
		o, err := s.Organization(ctx, orgA)
		ps, err2 := s.Pools(ctx, orgA)
		_, err3 := s.Pools(ctx, "00000000-0000-4000-8000-00000000dead")
		return fmt.Sprint(o.ID, o.Name, o.URL, o.Settings, err, len(ps), ps[0].Seats, err2, code(err3))
	})
}
