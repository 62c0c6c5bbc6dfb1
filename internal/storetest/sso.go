package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/licet/licet"
)

// testSSO: providers own their domains, a sign-in under way is taken once,
// a verified identity is provisioned and deprovisioned by its provider
// only, and an address made administrator through SSO is offered its
// organizations' notification subscriptions.
func testSSO(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 1, nil)
	ctx := context.Background()
	pw, err := s.AddAdmin(ctx, org, "carol@contoso.example", "carol-link", clk.Now().Add(time.Hour), "op")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, "carol-by-password", pw.ID, "", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p := &licet.SSOProvider{ID: "contoso", Issuer: "https://idp.example", ClientID: "c", SealedSecret: "v1:x", Domains: []string{"contoso.example"}, Orgs: []string{org}, Required: true}
	if err := s.PutSSOProvider(ctx, p, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAdmin(ctx, "carol-by-password"); err == nil {
		t.Error("a password session outlived SSO becoming required")
	}
	other := &licet.SSOProvider{ID: "other", Issuer: "https://idp2.example", ClientID: "c", SealedSecret: "v1:y", Domains: []string{"contoso.example"}, Orgs: []string{org}}
	if err := s.PutSSOProvider(ctx, other, "op"); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("a second provider for the same domain: %v", err)
	}
	if got, err := s.SSOProviderByDomain(ctx, "CONTOSO.example"); err != nil || got.ID != "contoso" || got.SealedSecret != "v1:x" {
		t.Errorf("by domain: %+v %v", got, err)
	}
	if req, err := s.SSORequired(ctx, []string{org}); err != nil || !req {
		t.Errorf("required: %v %v", req, err)
	}
	// An update without a secret keeps the sealed one.
	p.SealedSecret, p.Required = "", false
	if err := s.PutSSOProvider(ctx, p, "op"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SSOProvider(ctx, "contoso"); got == nil || got.SealedSecret != "v1:x" || got.Required {
		t.Errorf("after update: %+v", got)
	}

	l := &licet.SSOLogin{StateHash: "h1", ProviderID: "contoso", Nonce: "n", Verifier: "v", RedirectURL: "https://licet.example/cb", Next: "/admin/", Expires: clk.Now().Add(time.Minute)}
	if err := s.PutSSOLogin(ctx, l); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TakeSSOLogin(ctx, "h1"); err != nil || got.Nonce != "n" || got.Verifier != "v" {
		t.Errorf("take: %+v %v", got, err)
	}
	if _, err := s.TakeSSOLogin(ctx, "h1"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("a sign-in taken twice: %v", err)
	}
	l.StateHash = "h2"
	s.PutSSOLogin(ctx, l)
	clk.Add(2 * time.Minute)
	if _, err := s.TakeSSOLogin(ctx, "h2"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("an expired sign-in: %v", err)
	}

	id := licet.SSOIdentity{Issuer: "https://idp.example", Subject: "alice-sub", Email: "Alice@contoso.example"}
	a, err := s.SSOSignIn(ctx, "contoso", id, licet.SSOAllow, "")
	if err != nil || !a.Administers(org) || a.Email != "alice@contoso.example" {
		t.Fatalf("provisioned: %+v %v", a, err)
	}
	if subs, err := s.Subscriptions(ctx, "alice@contoso.example"); err != nil || !slices.ContainsFunc(subs, func(x licet.Subscription) bool { return x.OrgID == org }) {
		t.Errorf("the subscriptions of an administrator through SSO: %+v %v", subs, err)
	}
	if err := s.CreateSession(ctx, "sess", a.ID, "contoso", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAdminToken(ctx, a.ID, "contoso", "script", "tok"); err != nil {
		t.Fatal(err)
	}
	// A refusal that says nothing about her changes nothing.
	if _, err := s.SSOSignIn(ctx, "contoso", id, licet.SSOIgnore, "unverified"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SessionAdmin(ctx, "sess"); err != nil || !got.Administers(org) {
		t.Errorf("an ignored refusal ended her administration: %+v %v", got, err)
	}
	// Outside the rule now: her administration through SSO and her sessions end.
	if _, err := s.SSOSignIn(ctx, "contoso", id, licet.SSODeny, "not in the group"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAdmin(ctx, "sess"); err == nil {
		t.Error("her session outlived the refusal")
	}
	if _, err := s.AdminByToken(ctx, "tok"); err == nil {
		t.Error("her API token outlived the refusal")
	}
	if got, _ := s.AdminByEmail(ctx, "alice@contoso.example"); got == nil || got.Administers(org) {
		t.Errorf("still administers: %+v", got)
	}
	// An invited administrator keeps the operator's invitation.
	if _, err := s.AddAdmin(ctx, org, "bob@contoso.example", "link", clk.Now().Add(time.Hour), "op"); err != nil {
		t.Fatal(err)
	}
	bob := licet.SSOIdentity{Issuer: "https://idp.example", Subject: "bob-sub", Email: "bob@contoso.example"}
	s.SSOSignIn(ctx, "contoso", bob, licet.SSOAllow, "")
	s.SSOSignIn(ctx, "contoso", bob, licet.SSODeny, "not in the group")
	if got, _ := s.AdminByEmail(ctx, "bob@contoso.example"); got == nil || !got.Administers(org) {
		t.Errorf("a refusal took the operator's invitation away: %+v", got)
	}
	// Removing the provider ends what it gave.
	s.SSOSignIn(ctx, "contoso", id, licet.SSOAllow, "")
	if err := s.DeleteSSOProvider(ctx, "contoso", "op"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AdminByEmail(ctx, "alice@contoso.example"); got == nil || got.Administers(org) {
		t.Errorf("administers after the provider was removed: %+v", got)
	}
	if _, err := s.SSOProviderByDomain(ctx, "contoso.example"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("the domain outlived its provider: %v", err)
	}
}
