package fake_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/mail"
	"github.com/licet/licet/internal/sqlite"
)

var _ mail.Store = (*fake.MailStore)(nil)

// The fake answers what the SQL store answers for everything the
// dispatcher uses: which mails a claim takes, drops or puts off, what
// sent and failed attempts leave, and what a mail shows. The fake is set
// up from what the SQL store holds after its own flows (consents asked,
// one confirmed, one declined, a check's assignment mail).
func TestMailStoreAnswersAsTheSQLStore(t *testing.T) {
	ctx := context.Background()
	clock := fake.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	real, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "licet.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()

	s := licet.DefaultSettings()
	s.Notifications, s.NotifyWindow = true, 0
	o := licet.Organization{ID: orgA, Name: "A", URL: "https://a.example", Settings: s}
	if err := real.PutLicenseType(ctx, licet.LicenseType{Name: "Standard"}, "op"); err != nil {
		t.Fatal(err)
	}
	if err := real.CreateOrganization(ctx, &o, "op"); err != nil {
		t.Fatal(err)
	}
	p := licet.Pool{OrgID: orgA, LicenseType: "Standard", Seats: 5, From: clock.Now().Add(-time.Hour)}
	if err := real.AddPool(ctx, &p, "op"); err != nil {
		t.Fatal(err)
	}
	emails := []string{"alice@a.example", "bob@a.example", "carol@a.example"}
	if _, err := real.UpdateOrganization(ctx, orgA, licet.SettingsPatch{NotificationEmails: &emails}, "dave@a.example"); err != nil {
		t.Fatal(err)
	}
	if err := real.SetSubscription(ctx, orgA, "alice@a.example", true); err != nil {
		t.Fatal(err)
	}
	if err := real.SetSubscription(ctx, orgA, "carol@a.example", false); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if d, err := real.Admit(ctx, licet.AdmitRequest{OrgID: orgA, UserID: user(1), Sighting: licet.Sighting{DeviceID: "d"}}); err != nil || d.Action != licet.ActAssign {
		t.Fatalf("admit: %+v %v", d, err)
	}

	// The same, in the fake.
	fk := fake.NewMailStore(clock)
	org, err := real.Organization(ctx, orgA)
	if err != nil {
		t.Fatal(err)
	}
	fk.PutOrg(*org)
	fk.AddPool(p, map[string]int{"Standard": 1})
	rs, err := real.NotificationRecipients(ctx, orgA)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		fk.SetRecipient(orgA, r, "dave@a.example")
	}
	queued, err := real.Mails(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(queued)
	for _, m := range queued {
		if id := fk.Queue(*m); id != m.ID {
			t.Fatalf("fake ID %d for mail %d", id, m.ID)
		}
	}

	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	show := func(m *licet.Mail) string {
		if m == nil {
			return "<gone>"
		}
		return fmt.Sprintf("#%d %s %s %s attempts=%d due=%d sent=%d err=%q events=%d", m.ID, m.Kind, m.Address, m.Status,
			m.Attempts, ms(m.DueAt), ms(m.SentAt), m.LastError, len(m.Events))
	}
	outbox := func() (a, b []string) {
		for _, m := range queued {
			r, err := real.MailByID(ctx, m.ID)
			if licet.ErrorCode(err) == licet.ENOTFOUND {
				r = nil
			}
			a, b = append(a, show(r)), append(b, show(fk.Mail(m.ID)))
		}
		return a, b
	}
	compare := func(what string) {
		t.Helper()
		a, b := outbox()
		t.Logf("%s: %v", what, a)
		if !slices.Equal(a, b) {
			t.Errorf("%s:\n  sql:  %v\n  fake: %v", what, a, b)
		}
	}
	claim := func(what string, n, perHour int) []*licet.Mail {
		t.Helper()
		a, err1 := real.ClaimMail(ctx, n, 2*time.Minute, perHour)
		b, err2 := fk.ClaimMail(ctx, n, 2*time.Minute, perHour)
		var x, y []string
		for _, m := range a {
			x = append(x, show(m))
		}
		for _, m := range b {
			y = append(y, show(m))
		}
		if err1 != nil || err2 != nil || !slices.Equal(x, y) {
			t.Errorf("%s claimed:\n  sql:  %v %v\n  fake: %v %v", what, x, err1, y, err2)
		}
		compare(what)
		return a
	}
	both := func(f func(mail.Store) error) {
		t.Helper()
		if err := f(real); err != nil {
			t.Fatal(err)
		}
		if err := f(fk); err != nil {
			t.Fatal(err)
		}
	}

	compare("queued")
	got := claim("first claim, capped at 1", 10, 1)
	if len(got) != 1 {
		t.Fatalf("claimed %d", len(got))
	}
	claim("claimed mails are held", 10, 0)
	both(func(s mail.Store) error {
		return s.MailFailed(ctx, got[0].ID, "451 try again", clock.Now().Add(time.Minute))
	})
	compare("failed, to retry")
	clock.Add(time.Minute)
	got = claim("a minute later", 10, 1)
	both(func(s mail.Store) error { return s.MailSent(ctx, got[0].ID) })
	compare("sent")
	clock.Add(time.Minute)
	claim("capped by the one sent", 10, 1)
	clock.Add(time.Hour)
	got = claim("an hour later", 10, 1)
	for _, m := range got {
		both(func(s mail.Store) error { return s.MailFailed(ctx, m.ID, "550 no such mailbox", time.Time{}) })
	}
	compare("given up")

	for _, what := range []string{"subscriptions", "seats", "organization"} {
		var out [2]string
		for i, s := range []mail.Store{real, fk} {
			var v any
			var err error
			switch what {
			case "subscriptions":
				v, err = s.Subscriptions(ctx, "BOB@a.example")
			case "seats":
				v, err = s.SeatCounts(ctx, orgA)
			case "organization":
				var o *licet.Organization
				o, err = s.Organization(ctx, orgA)
				v = fmt.Sprint(o.ID, o.Name, o.URL, o.Settings)
			}
			_, e2 := s.Organization(ctx, "00000000-0000-4000-8000-00000000dead")
			out[i] = fmt.Sprintf("%+v %v %s", v, err, licet.ErrorCode(e2))
		}
		t.Logf("%s: %s", what, out[0])
		if out[0] != out[1] {
			t.Errorf("%s:\n  sql:  %s\n  fake: %s", what, out[0], out[1])
		}
	}
}
