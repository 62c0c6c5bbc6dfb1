package admin_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlite"
	"github.com/licet/licet/internal/storetest"
)

func setup(t *testing.T) (licet.Store, *storetest.Clock, []string) {
	t.Helper()
	clk := storetest.NewClock(storetest.Start)
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "licet.db"), sqlite.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var orgs []string
	for i := 1; i <= 2; i++ {
		o := &licet.Organization{ID: storetest.GUID('o', i), Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}
		if err := s.CreateOrganization(context.Background(), o, licet.ActorOperator); err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, o.ID)
	}
	return s, clk, orgs
}

// An organization a single sign-on provider gave is reached only through
// that provider: not by a password session, nor by a token made in one.
func TestProviderGivenOrganizationsOnlyThroughTheProvider(t *testing.T) {
	s, clk, orgs := setup(t)
	ctx := context.Background()
	a, err := s.AddAdmin(ctx, orgs[0], "hana@contoso.example", "link", clk.Now().Add(time.Hour), "op")
	if err != nil {
		t.Fatal(err)
	}
	p := &licet.SSOProvider{ID: "contoso", Issuer: "https://idp.example", ClientID: "c", SealedSecret: "v1:x", Domains: []string{"contoso.example"}, Orgs: []string{orgs[1]}}
	if err := s.PutSSOProvider(ctx, p, "op"); err != nil {
		t.Fatal(err)
	}
	id := licet.SSOIdentity{Issuer: p.Issuer, Subject: "hana", Email: "Hana@Contoso.example"}
	if got, err := s.SSOSignIn(ctx, "contoso", id, licet.SSOAllow, ""); err != nil || got.ID != a.ID || !slices.Equal(got.Orgs, orgs) {
		t.Fatalf("sign-in %+v %v", got, err)
	}
	for _, tc := range []struct {
		provider string
		want     []string
	}{{"", orgs[:1]}, {"contoso", orgs}} {
		if err := s.CreateSession(ctx, "session-"+tc.provider, a.ID, tc.provider, clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := s.SessionAdmin(ctx, "session-"+tc.provider)
		if err != nil || !slices.Equal(got.Orgs, tc.want) || got.SSOProvider != tc.provider {
			t.Errorf("session through %q: %+v %v", tc.provider, got, err)
		}
		if _, err := s.CreateAdminToken(ctx, a.ID, tc.provider, "t", "token-"+tc.provider); err != nil {
			t.Fatal(err)
		}
		got, err = s.AdminByToken(ctx, "token-"+tc.provider)
		if err != nil || !slices.Equal(got.Orgs, tc.want) {
			t.Errorf("token made through %q: %+v %v", tc.provider, got, err)
		}
	}
	// The provider refusing the identity ends what it gave, and the token
	// made through it; the password's organization stays.
	if _, err := s.SSOSignIn(ctx, "contoso", id, licet.SSODeny, "left the company"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminByToken(ctx, "token-contoso"); licet.ErrorCode(err) != licet.EUNAUTHORIZED {
		t.Errorf("a token made through the provider outlived its refusal: %v", err)
	}
	if got, err := s.AdminByEmail(ctx, "hana@contoso.example"); err != nil || !slices.Equal(got.Orgs, orgs[:1]) {
		t.Errorf("after the refusal: %+v %v", got, err)
	}
}

// The operator's console account is nobody's address: it cannot be
// removed from an organization nor signed in through a provider.
func TestTheOperatorAccountIsNoAdministrator(t *testing.T) {
	s, _, orgs := setup(t)
	ctx := context.Background()
	op, err := s.OperatorAdmin(ctx)
	if err != nil || !slices.Equal(op.Orgs, orgs) {
		t.Fatalf("operator %+v %v", op, err)
	}
	if err := s.RemoveAdmin(ctx, orgs[0], licet.ActorOperator, "op"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("the operator removed: %v", err)
	}
	p := &licet.SSOProvider{ID: "p", Issuer: "https://idp.example", ClientID: "c", SealedSecret: "v1:x", Domains: []string{"p.example"}, Orgs: orgs[:1]}
	if err := s.PutSSOProvider(ctx, p, "op"); err != nil {
		t.Fatal(err)
	}
	_, err = s.SSOSignIn(ctx, "p", licet.SSOIdentity{Issuer: p.Issuer, Subject: "x", Email: licet.ActorOperator}, licet.SSOAllow, "")
	if licet.ErrorCode(err) != licet.EFORBIDDEN {
		t.Errorf("signed in as the operator: %v", err)
	}
}
