package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/licet/licet"
)

// testSessions: a session lasts until it expires by the store's clock, is
// deleted, or a new password ends it; it reaches the organizations its
// administrator administers, and none once the last is removed.
func testSessions(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 1, nil)
	ctx := context.Background()
	a, err := s.AddAdmin(ctx, org, "Dana@Customer.example", "dana-link", clk.Now().Add(time.Hour), "op")
	if err != nil {
		t.Fatal(err)
	}
	if a.Email != "dana@customer.example" || !slices.Equal(a.Orgs, []string{org}) {
		t.Errorf("added %+v", a)
	}
	if err := s.CreateSession(ctx, "s1", a.ID, "", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, "s2", a.ID, "", clk.Now().Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionAdmin(ctx, "s1")
	if err != nil || got.ID != a.ID || !slices.Equal(got.Orgs, []string{org}) || got.SSOProvider != "" {
		t.Errorf("session: %+v %v", got, err)
	}
	if _, err := s.SessionAdmin(ctx, "no-such-session"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("an unknown session: %v", err)
	}

	// Time moves past the first session's end, not the second's.
	clk.Add(time.Hour + time.Minute)
	if _, err := s.SessionAdmin(ctx, "s1"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("an expired session: %v", err)
	}
	if _, err := s.SessionAdmin(ctx, "s2"); err != nil {
		t.Errorf("a live session: %v", err)
	}
	// A new session clears the expired ones; the live ones stay.
	if err := s.CreateSession(ctx, "s3", a.ID, "", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAdmin(ctx, "s2"); err != nil {
		t.Errorf("a live session after another was made: %v", err)
	}
	if err := s.DeleteSession(ctx, "s3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAdmin(ctx, "s3"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("a deleted session: %v", err)
	}

	// A new password ends every session.
	if err := s.ChangeAdminPassword(ctx, a.ID, "new-hash"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAdmin(ctx, "s2"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("a session outlived a new password: %v", err)
	}

	// Removed from one of two organizations, the administrator keeps the
	// session and reaches the other; removed from the last, it ends.
	o2 := &licet.Organization{ID: GUID('o', 2), Name: "second", URL: "https://second.example.net", Settings: licet.DefaultSettings()}
	if err := s.CreateOrganization(ctx, o2, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAdmin(ctx, o2.ID, "dana@customer.example", "dana-link-2", clk.Now().Add(time.Hour), "op"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, "s4", a.ID, "", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAdmin(ctx, org, "DANA@customer.example", "op"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SessionAdmin(ctx, "s4"); err != nil || !slices.Equal(got.Orgs, []string{o2.ID}) {
		t.Errorf("after removal from one organization: %+v %v", got, err)
	}
	if err := s.RemoveAdmin(ctx, org, "dana@customer.example", "op"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("removed twice: %v", err)
	}
	if err := s.RemoveAdmin(ctx, o2.ID, "dana@customer.example", "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAdmin(ctx, "s4"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("a session outlived the last organization: %v", err)
	}
}

// testInviteLinks: an invitation link sets the password once, before it
// expires by the store's clock; the administrator it made signs in by
// address with that password.
func testInviteLinks(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 1, nil)
	ctx := context.Background()
	if _, err := s.AddAdmin(ctx, GUID('o', 99), "erin@customer.example", "nowhere", clk.Now().Add(time.Hour), "op"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("an invitation to an unknown organization: %v", err)
	}
	a, err := s.AddAdmin(ctx, org, "erin@customer.example", "invite", clk.Now().Add(48*time.Hour), "op")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.AdminByLink(ctx, "invite"); err != nil || got.ID != a.ID || got.Email != "erin@customer.example" {
		t.Errorf("by link: %+v %v", got, err)
	}
	if _, err := s.AdminByLink(ctx, "no-such-link"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("an unknown link: %v", err)
	}

	// Just before its end the link still works; just after, not.
	clk.Add(48*time.Hour - time.Second)
	if _, err := s.AdminByLink(ctx, "invite"); err != nil {
		t.Errorf("a link a second before its end: %v", err)
	}
	clk.Add(2 * time.Second)
	if _, err := s.AdminByLink(ctx, "invite"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("an expired link: %v", err)
	}
	if _, err := s.SetAdminPassword(ctx, "invite", "late-hash"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("an expired link set the password: %v", err)
	}

	// A new invitation; its link is used once.
	if _, err := s.AddAdmin(ctx, org, "erin@customer.example", "invite-again", clk.Now().Add(time.Hour), "op"); err != nil {
		t.Fatal(err)
	}
	got, err := s.SetAdminPassword(ctx, "invite-again", "erin-hash")
	if err != nil || got.ID != a.ID || got.PasswordHash != "erin-hash" || !slices.Equal(got.Orgs, []string{org}) {
		t.Fatalf("set by link: %+v %v", got, err)
	}
	if _, err := s.SetAdminPassword(ctx, "invite-again", "second-use"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("a link used twice: %v", err)
	}
	if got, err := s.AdminByEmail(ctx, "ERIN@customer.example"); err != nil || got.PasswordHash != "erin-hash" {
		t.Errorf("by address: %+v %v", got, err)
	}
	if _, err := s.AdminByEmail(ctx, "nobody@customer.example"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("an unknown address: %v", err)
	}
	// The operator's console account sees every organization and is no
	// administrator's address.
	op, err := s.OperatorAdmin(ctx)
	if err != nil || !op.IsOperator() || !slices.Contains(op.Orgs, org) {
		t.Errorf("operator: %+v %v", op, err)
	}
	if again, err := s.OperatorAdmin(ctx); err != nil || again.ID != op.ID {
		t.Errorf("operator made twice: %+v %v", again, err)
	}
}

// testAdminTokens: an API token lasts until it is revoked, however far the
// clock moves; it records when it was made and revoked by the store's
// clock, and a new password revokes every token.
func testAdminTokens(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 1, nil)
	ctx := context.Background()
	a, err := s.AddAdmin(ctx, org, "frank@customer.example", "frank-link", clk.Now().Add(time.Hour), "op")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.AddAdmin(ctx, org, "gina@customer.example", "gina-link", clk.Now().Add(time.Hour), "op")
	if err != nil {
		t.Fatal(err)
	}
	made := clk.Now()
	t1, err := s.CreateAdminToken(ctx, a.ID, "", "ci", "token-1")
	if err != nil {
		t.Fatal(err)
	}
	if t1.Name != "ci" || !t1.CreatedAt.Equal(made.Truncate(time.Millisecond)) || !t1.RevokedAt.IsZero() {
		t.Errorf("made %+v at %v", t1, made)
	}
	clk.Add(time.Hour)
	t2, err := s.CreateAdminToken(ctx, a.ID, "", "backup", "token-2")
	if err != nil {
		t.Fatal(err)
	}
	// Tokens do not expire: a year later the first still works.
	clk.Add(365 * day)
	if got, err := s.AdminByToken(ctx, "token-1"); err != nil || got.ID != a.ID || !slices.Equal(got.Orgs, []string{org}) {
		t.Errorf("a year-old token: %+v %v", got, err)
	}
	if _, err := s.AdminByToken(ctx, "no-such-token"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("an unknown token: %v", err)
	}
	// Only its administrator revokes a token, once.
	if err := s.RevokeAdminToken(ctx, b.ID, t1.ID); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("another administrator revoked a token: %v", err)
	}
	revoked := clk.Now()
	if err := s.RevokeAdminToken(ctx, a.ID, t1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAdminToken(ctx, a.ID, t1.ID); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("revoked twice: %v", err)
	}
	if _, err := s.AdminByToken(ctx, "token-1"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("a revoked token: %v", err)
	}
	list, err := s.AdminTokens(ctx, a.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("tokens: %+v %v", list, err)
	}
	if list[0].ID != t1.ID || !list[0].RevokedAt.Equal(revoked.Truncate(time.Millisecond)) ||
		list[1].ID != t2.ID || !list[1].RevokedAt.IsZero() || !list[1].CreatedAt.Equal(made.Add(time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("tokens: %+v", list)
	}
	if list, err := s.AdminTokens(ctx, b.ID); err != nil || len(list) != 0 {
		t.Errorf("another administrator's tokens: %+v %v", list, err)
	}
	// A new password revokes the rest.
	if err := s.ChangeAdminPassword(ctx, a.ID, "frank-new"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminByToken(ctx, "token-2"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("a token outlived a new password: %v", err)
	}
}
