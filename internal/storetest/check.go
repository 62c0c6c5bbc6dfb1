package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/licet/licet"
)

// testCheckUser: the hot path's read answers the user as User does (nil
// when unknown), and the seats used per type exactly when the check may
// assign one: the user is unknown, or neither licensed nor disabled.
func testCheckUser(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 2, nil)
	ctx := context.Background()
	if err := s.AddPool(ctx, &licet.Pool{OrgID: org, LicenseType: "Premium", Seats: 1, From: Start}, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	// Another organization's user of the same ID, licensed: seen by
	// neither the user's read nor the seat counts of the first.
	other := &licet.Organization{ID: GUID('o', 2), Name: "other", URL: "https://other.example.net", Settings: licet.DefaultSettings()}
	if err := s.CreateOrganization(ctx, other, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPool(ctx, &licet.Pool{OrgID: other.ID, LicenseType: "Standard", Seats: 5, From: Start}, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	stranger := GUID('u', 9)
	change := func(org, user string, a licet.UserAction, typ string) {
		t.Helper()
		if _, err := s.ChangeUser(ctx, org, user, a, typ, licet.ActorOperator); err != nil {
			t.Fatalf("%s %s: %v", a, user, err)
		}
	}
	change(other.ID, stranger, licet.ActionAssign, "Standard")

	// check reads userID and wants the user as User reads it (or none)
	// and the counts (nil: none read).
	check := func(what, userID string, wantUser bool, want map[string]int) {
		t.Helper()
		u, counts, err := s.CheckUser(ctx, org, userID)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if wantUser {
			stored, err := s.User(ctx, org, userID)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if !reflect.DeepEqual(u, stored) {
				t.Errorf("%s: user\n  %+v\nwant as User reads it\n  %+v", what, u, stored)
			}
		} else if u != nil {
			t.Errorf("%s: user %+v; want none", what, u)
		}
		if !reflect.DeepEqual(counts, want) { // nil (none read) is not empty
			t.Errorf("%s: seats used %s; want %s", what, show(counts), show(want))
		}
	}

	check("unknown user, no seat used", GUID('u', 1), false, map[string]int{})
	change(org, GUID('u', 1), licet.ActionAssign, "Standard")
	change(org, GUID('u', 2), licet.ActionAssign, "Standard")
	change(org, GUID('u', 3), licet.ActionAssign, "Premium")
	both := map[string]int{"Standard": 2, "Premium": 1}
	check("unknown user, seats of two types used", GUID('u', 4), false, both)
	check("unknown here, licensed in another organization", stranger, false, both)
	check("licensed user", GUID('u', 1), true, nil)
	check("licensed user of another type", GUID('u', 3), true, nil)

	change(org, GUID('u', 5), licet.ActionAdd, "")
	check("unlicensed user added by an administrator", GUID('u', 5), true, both)
	if d := admit(t, s, clk, org, GUID('u', 6)); d.Action != licet.ActRecord {
		t.Fatalf("no seat left: %s (action %d); want the user recorded", d.Status, d.Action)
	}
	check("unlicensed user recorded by a check", GUID('u', 6), true, both)
	change(org, GUID('u', 5), licet.ActionDisable, "")
	check("disabled user", GUID('u', 5), true, nil)

	change(org, GUID('u', 3), licet.ActionUnassign, "")
	standard := map[string]int{"Standard": 2}
	check("unknown user, a type's seats all free again", GUID('u', 4), false, standard)
	check("unlicensed user, once licensed", GUID('u', 3), true, standard)

	u, counts, err := s.CheckUser(ctx, GUID('o', 99), GUID('u', 1))
	if err != nil || u != nil || len(counts) != 0 {
		t.Errorf("unknown organization: %+v %s %v; want no user, no seat used", u, show(counts), err)
	}
}

// show tells a nil map from an empty one.
func show(m map[string]int) string {
	if m == nil {
		return "nil"
	}
	return fmt.Sprint(m)
}
