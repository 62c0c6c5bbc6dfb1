package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
)

func states(t *testing.T, s licet.Store, org string) map[string]string {
	t.Helper()
	rs, err := s.NotificationRecipients(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rs {
		out[r.Address] = r.State
	}
	return out
}

func claimAll(t *testing.T, s licet.Store, perOrgHour int) []*licet.Mail {
	t.Helper()
	ms, err := s.ClaimMail(context.Background(), 100, time.Minute, perOrgHour)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if err := s.MailSent(context.Background(), m.ID); err != nil {
			t.Fatal(err)
		}
	}
	return ms
}

func to(ms []*licet.Mail) (out []string) {
	for _, m := range ms {
		out = append(out, m.Kind+":"+m.Address)
	}
	slices.Sort(out)
	return out
}

// testConsent: typed-in addresses wait for consent; the operator's and
// administrators' own do not; whether a mail is wanted is decided when it
// is claimed; the hourly cap puts mails off.
func testConsent(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 10, func(st *licet.Settings) { st.Notifications, st.NotifyWindow = true, 0 })
	ctx := context.Background()
	if _, err := s.AddAdmin(ctx, org, "alice@customer.example", "h1", Start.Add(day), licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	list := []string{"alice@customer.example", "bob@elsewhere.example", "carol@elsewhere.example"}
	if _, err := s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &list}, "alice@customer.example"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"alice@customer.example": licet.SubSubscribed, "bob@elsewhere.example": licet.SubPending, "carol@elsewhere.example": licet.SubPending}
	if got := states(t, s, org); !maps(got, want) {
		t.Errorf("after an administrator typed addresses in: %v", got)
	}
	if got := to(claimAll(t, s, 0)); !slices.Equal(got, []string{"confirm:bob@elsewhere.example", "confirm:carol@elsewhere.example"}) {
		t.Errorf("mails after typing in: %v", got)
	}
	admit(t, s, clk, org, GUID('u', 1))
	if got := to(claimAll(t, s, 0)); !slices.Equal(got, []string{"assignment:alice@customer.example"}) {
		t.Errorf("an assignment before anyone confirmed went to %v", got)
	}
	if err := s.SetSubscription(ctx, org, "bob@elsewhere.example", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscription(ctx, org, "carol@elsewhere.example", false); err != nil {
		t.Fatal(err)
	}
	if got := states(t, s, org); got["bob@elsewhere.example"] != licet.SubSubscribed || got["carol@elsewhere.example"] != licet.SubDeclined {
		t.Errorf("after confirming and declining: %v", got)
	}
	// Typing a declined address in again changes nothing and mails nothing.
	short := []string{"bob@elsewhere.example"}
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &short}, "alice@customer.example")
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &list}, "alice@customer.example")
	if got := states(t, s, org)["carol@elsewhere.example"]; got != licet.SubDeclined {
		t.Errorf("re-typed declined address: %s", got)
	}
	// Queued, then unsubscribed before it is claimed: dropped at send time.
	admit(t, s, clk, org, GUID('u', 2))
	if err := s.SetSubscription(ctx, org, "bob@elsewhere.example", false); err != nil {
		t.Fatal(err)
	}
	if got := to(claimAll(t, s, 0)); !slices.Equal(got, []string{"assignment:alice@customer.example"}) {
		t.Errorf("after bob unsubscribed with a mail queued: %v", got)
	}
	if all, _ := s.Mails(ctx, "", 100); slices.ContainsFunc(all, func(m *licet.Mail) bool {
		return m.Kind == "assignment" && m.Address == "bob@elsewhere.example" && m.Status == "pending"
	}) {
		t.Error("the unwanted mail is still pending")
	}
	// The operator's addresses are confirmed at once.
	ops := append(slices.Clone(list), "dave@vendor.example")
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &ops}, licet.ActorOperator)
	if got := states(t, s, org)["dave@vendor.example"]; got != licet.SubSubscribed {
		t.Errorf("an operator's address: %s", got)
	}
	// The cap: 1 per hour lets alice's mail go and puts dave's off.
	clk.Add(2 * time.Hour)
	admit(t, s, clk, org, GUID('u', 3))
	if got := claimAll(t, s, 1); len(got) != 1 {
		t.Errorf("with a cap of 1 an hour: %d mails", len(got))
	}
	if got := claimAll(t, s, 1); len(got) != 0 {
		t.Errorf("over the cap: %d more mails", len(got))
	}
	clk.Add(61 * time.Minute)
	if got := claimAll(t, s, 1); len(got) != 1 {
		t.Errorf("an hour later: %d mails; want the one put off", len(got))
	}
	// An address removed before its confirmation went is asked again when
	// typed in again; one that was asked is not.
	withEve := append(slices.Clone(ops), "eve@elsewhere.example")
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &withEve}, "alice@customer.example")
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &ops}, "alice@customer.example")
	clk.Add(2 * time.Hour)
	if got := claimAll(t, s, 0); len(got) != 0 {
		t.Errorf("a confirmation to a removed address went: %v", to(got))
	}
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &withEve}, "alice@customer.example")
	if got := to(claimAll(t, s, 0)); !slices.Equal(got, []string{"confirm:eve@elsewhere.example"}) {
		t.Errorf("typed in again after its confirmation was dropped: %v", got)
	}
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &ops}, "alice@customer.example")
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &withEve}, "alice@customer.example")
	if got := claimAll(t, s, 0); len(got) != 0 {
		t.Errorf("asked twice: %v", to(got))
	}
	// Turning notifications off drops what is queued.
	admit(t, s, clk, org, GUID('u', 4))
	off := false
	s.UpdateOrganization(ctx, org, licet.SettingsPatch{Notifications: &off}, licet.ActorOperator)
	if got := claimAll(t, s, 0); len(got) != 0 {
		t.Errorf("with notifications off: %v", to(got))
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// testPrivacy: erasing an address leaves nothing that names it; the export
// holds everything about a user; retention prunes.
func testPrivacy(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 10, func(st *licet.Settings) { st.Notifications, st.NotifyWindow = true, 0 })
	ctx := context.Background()
	list := []string{"bob@elsewhere.example", "abob@elsewhere.example"}
	if _, err := s.UpdateOrganization(ctx, org, licet.SettingsPatch{NotificationEmails: &list}, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	admit(t, s, clk, org, GUID('u', 1))
	claimAll(t, s, 0)
	s.SetSubscription(ctx, org, "bob@elsewhere.example", false)
	e, err := s.EraseAddress(ctx, "Bob@Elsewhere.example")
	if err != nil {
		t.Fatal(err)
	}
	if e.Organizations != 1 || e.Mails != 1 || e.OptOuts != 1 || e.Consents != 1 || e.AuditEntries < 2 {
		t.Errorf("erasure: %+v", e)
	}
	o, _ := s.Organization(ctx, org)
	if !slices.Equal(o.Settings.NotificationEmails, []string{"abob@elsewhere.example"}) {
		t.Errorf("after erasure the list is %v", o.Settings.NotificationEmails)
	}
	ev, _ := s.Audit(ctx, org, licet.AuditFilter{Limit: 1000})
	all, _ := s.Audit(ctx, "", licet.AuditFilter{Limit: 1000})
	for _, a := range append(ev, all...) {
		if strings.Contains(strings.ReplaceAll(a.Actor+" "+a.Detail, "abob@", ""), "bob@elsewhere.example") {
			t.Errorf("the audit log still names the address: %+v", a)
		}
	}
	if !slices.ContainsFunc(ev, func(a licet.AuditEvent) bool { return strings.Contains(a.Detail, "abob@elsewhere.example") }) {
		t.Error("erasure touched another address that contains it")
	}
	if subs, _ := s.Subscriptions(ctx, "bob@elsewhere.example"); len(subs) != 0 {
		t.Errorf("subscriptions after erasure: %+v", subs)
	}
	if ms, _ := s.Mails(ctx, "", 100); slices.ContainsFunc(ms, func(m *licet.Mail) bool { return m.Address == "bob@elsewhere.example" }) {
		t.Error("mails to the erased address remain")
	}

	rec, err := s.UserRecord(ctx, org, GUID('u', 1))
	if err != nil || rec.User == nil || rec.User.Last.DeviceID != "dev-"+GUID('u', 1) || len(rec.Audit) == 0 || len(rec.Mails) != 1 {
		t.Errorf("export: %+v %v", rec, err)
	}

	// A user that held a temporary license: the export says when.
	o2 := &licet.Organization{ID: GUID('o', 2), Name: "second", URL: "https://second.example.net", Settings: licet.DefaultSettings()}
	o2.Settings.AutoAssign = false
	if err := s.CreateOrganization(ctx, o2, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPool(ctx, &licet.Pool{OrgID: o2.ID, LicenseType: "Standard", Seats: 1, From: Start}, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if d := admit(t, s, clk, o2.ID, GUID('u', 5)); d.Status != licet.StatusTemporary {
		t.Fatalf("no temporary license to export: %s", d.Status)
	}
	if rec, err := s.UserRecord(ctx, o2.ID, GUID('u', 5)); err != nil || rec.TemporaryGrantedAt.IsZero() || len(rec.Changes) == 0 {
		t.Errorf("export of a temporary user: %+v %v", rec, err)
	}

	clk.Add(91 * 24 * time.Hour)
	if n, err := s.PruneMail(ctx, clk.Now().Add(-90*24*time.Hour)); err != nil || n != 1 {
		t.Errorf("pruned %d mails (%v); want 1", n, err)
	}
	if n, err := s.PruneAudit(ctx, clk.Now().Add(-24*time.Hour)); err != nil || n == 0 {
		t.Errorf("pruned %d audit entries (%v)", n, err)
	}
	if ev, _ := s.Audit(ctx, org, licet.AuditFilter{}); len(ev) != 0 {
		t.Errorf("audit after pruning: %d", len(ev))
	}
}

// testDigests: the first assignment of a quiet period is due at once, the
// rest join one digest due when the window ends, at most MaxDigest
// assignments per mail.
func testDigests(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 1000, func(st *licet.Settings) {
		st.Notifications, st.NotifyWindow, st.NotificationEmails = true, 10, []string{"ops@customer.example"}
	})
	admit(t, s, clk, org, GUID('u', 0))
	if got := claimAll(t, s, 0); len(got) != 1 || len(got[0].Events) != 1 {
		t.Fatalf("the first assignment of a quiet period: %d mails due at once", len(got))
	}
	for i := 1; i <= 501; i++ {
		admit(t, s, clk, org, GUID('u', i))
	}
	if got := claimAll(t, s, 0); len(got) != 0 {
		t.Errorf("%d mails due inside the window", len(got))
	}
	clk.Add(10 * time.Minute)
	got := claimAll(t, s, 0)
	if len(got) != 2 || len(got[0].Events)+len(got[1].Events) != 501 || max(len(got[0].Events), len(got[1].Events)) != 500 {
		t.Errorf("after the window: %d mails", len(got))
	}
	for _, m := range got {
		for i, ev := range m.Events {
			if ev.UserID == "" || ev.LicenseType != "Standard" || (i > 0 && ev.At.Before(m.Events[i-1].At)) {
				t.Fatalf("a digest's events: %+v", m.Events[:min(3, len(m.Events))])
			}
		}
	}
}
