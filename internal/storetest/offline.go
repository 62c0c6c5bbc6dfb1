package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
)

// testOfflineIssues: offline licenses are numbered per organization, built
// from the licensed users who are not disabled, kept newest first with
// their upload outcome, and refused where the vendor has not enabled
// them; the configuration keeps its credential and its last backend test
// until the place changes.
func testOfflineIssues(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 3, func(st *licet.Settings) { st.Offline = true })
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if _, err := s.ChangeUser(ctx, org, GUID('u', i), licet.ActionAssign, "", "op"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ChangeUser(ctx, org, GUID('u', 3), licet.ActionDisable, "", "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeUser(ctx, org, GUID('u', 5), licet.ActionAdd, "", "op"); err != nil {
		t.Fatal(err)
	}

	licensed, disabled, err := s.OfflineHolders(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{GUID('u', 1): "Standard", GUID('u', 2): "Standard"}; len(licensed) != len(want) || licensed[GUID('u', 1)] != want[GUID('u', 1)] || licensed[GUID('u', 2)] != want[GUID('u', 2)] {
		t.Errorf("licensed %v, want %v", licensed, want)
	}
	if !disabled[GUID('u', 3)] || len(disabled) != 1 {
		t.Errorf("disabled %v", disabled)
	}

	if _, err := s.OfflineDocument(ctx, org); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("a document before any was issued: %v", err)
	}
	var seen [][]string
	build := func(o *licet.Organization, serial int64, users []*licet.User, pools []licet.Pool) ([]byte, time.Time, int, error) {
		var ids []string
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		seen = append(seen, ids)
		if o.ID != org || len(pools) != 1 {
			return nil, time.Time{}, 0, fmt.Errorf("built for %s with %d pools", o.ID, len(pools))
		}
		return fmt.Appendf(nil, "serial %d: %s", serial, strings.Join(ids, ",")), clk.Now().Add(30 * day), len(ids), nil
	}
	first, err := s.IssueOffline(ctx, org, "op", build)
	if err != nil {
		t.Fatal(err)
	}
	if first.Serial != 1 || first.Users != 2 || first.IssuedBy != "op" || !first.IssuedAt.Equal(clk.Now()) || !first.ValidUntil.Equal(clk.Now().Add(30*day)) {
		t.Errorf("first %+v", first)
	}
	if want := []string{GUID('u', 1), GUID('u', 2)}; !slices.Equal(seen[0], want) {
		t.Errorf("built from %v, want %v", seen[0], want)
	}
	clk.Add(time.Hour)
	if err := s.RecordOfflineUpload(ctx, org, 1, "uploaded", "", "op"); err != nil {
		t.Fatal(err)
	}
	clk.Add(day)
	second, err := s.IssueOffline(ctx, org, "alice@customer.example", build)
	if err != nil || second.Serial != 2 {
		t.Fatalf("second %+v %v", second, err)
	}
	if err := s.RecordOfflineUpload(ctx, org, 2, "failed", "HTTP 401", "alice@customer.example"); err != nil {
		t.Fatal(err)
	}

	hist, err := s.OfflineHistory(ctx, org, 10)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history %+v %v", hist, err)
	}
	if hist[0].Serial != 2 || hist[0].UploadStatus != "failed" || hist[0].UploadDetail != "HTTP 401" || !hist[0].UploadedAt.IsZero() || hist[0].Document != nil {
		t.Errorf("newest %+v", hist[0])
	}
	if hist[1].Serial != 1 || hist[1].UploadStatus != "uploaded" || !hist[1].UploadedAt.Equal(Start.Add(time.Hour)) {
		t.Errorf("oldest %+v", hist[1])
	}
	if hist, err := s.OfflineHistory(ctx, org, 1); err != nil || len(hist) != 1 || hist[0].Serial != 2 {
		t.Errorf("limited history %+v %v", hist, err)
	}
	doc, err := s.OfflineDocument(ctx, org)
	if err != nil || doc.Serial != 2 || string(doc.Document) != "serial 2: "+GUID('u', 1)+","+GUID('u', 2) {
		t.Errorf("document %+v %q %v", doc, doc.Document, err)
	}

	// Configuration: the credential changes only when asked; a test
	// report lasts until the place it tested changes.
	c := licet.OfflineConfig{Backend: "https://dav.example/licet.xml", Auth: "user:secret", ValidDays: 30, AutoAllowed: true, AutoUpdate: true}
	if err := s.SetOfflineConfig(ctx, org, c, true, "op"); err != nil {
		t.Fatal(err)
	}
	report := licet.OfflineTest{At: clk.Now().UTC(), By: "op", OK: true, Steps: []licet.OfflineTestStep{{Name: "upload", OK: true, Detail: "201"}}}
	if err := s.RecordOfflineTest(ctx, org, report); err != nil {
		t.Fatal(err)
	}
	got, err := s.OfflineConfig(ctx, org)
	if err != nil || got.Backend != c.Backend || got.Auth != "user:secret" || !got.HasAuth || got.ValidDays != 30 ||
		!got.AutoAllowed || !got.AutoUpdate || got.LastTest == nil || !got.LastTest.OK || got.LastTest.Step("upload") == nil {
		t.Errorf("config %+v %v", got, err)
	}
	if auto, err := s.OfflineAutoOrgs(ctx); err != nil || !slices.Equal(auto, []string{org}) {
		t.Errorf("automatic %v %v", auto, err)
	}
	c.Auth, c.AutoAllowed = "", false // the credential kept; automatic updates no longer allowed
	if err := s.SetOfflineConfig(ctx, org, c, false, "op"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.OfflineConfig(ctx, org)
	if got == nil || got.Auth != "user:secret" || got.AutoUpdate || got.LastTest == nil {
		t.Errorf("after a change without the credential: %+v", got)
	}
	if auto, err := s.OfflineAutoOrgs(ctx); err != nil || len(auto) != 0 {
		t.Errorf("automatic after the vendor disallowed it: %v %v", auto, err)
	}
	c.Backend = "https://dav.example/other.xml"
	if err := s.SetOfflineConfig(ctx, org, c, true, "op"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.OfflineConfig(ctx, org)
	if got == nil || got.HasAuth || got.Auth != "" || got.LastTest != nil {
		t.Errorf("after moving the file and removing the credential: %+v", got)
	}

	// Where offline licenses are off, none is issued; elsewhere, an
	// unknown organization is not found.
	off := false
	if _, err := s.UpdateOrganization(ctx, org, licet.SettingsPatch{Offline: &off}, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueOffline(ctx, org, "op", build); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("issued with offline licenses off: %v", err)
	}
	unknown := GUID('o', 99)
	if _, err := s.OfflineConfig(ctx, unknown); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("config of an unknown organization: %v", err)
	}
	if _, err := s.OfflineHistory(ctx, unknown, 10); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("history of an unknown organization: %v", err)
	}
	if _, _, err := s.OfflineHolders(ctx, unknown); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("holders of an unknown organization: %v", err)
	}
	// A builder's failure issues nothing.
	on := true
	if _, err := s.UpdateOrganization(ctx, org, licet.SettingsPatch{Offline: &on}, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueOffline(ctx, org, "op", func(*licet.Organization, int64, []*licet.User, []licet.Pool) ([]byte, time.Time, int, error) {
		return nil, time.Time{}, 0, licet.Errorf(licet.ECONFLICT, "no signing key")
	}); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("a failed build: %v", err)
	}
	if third, err := s.IssueOffline(ctx, org, "op", build); err != nil || third.Serial != 3 {
		t.Errorf("after a failed build: %+v %v", third, err)
	}
}

// testOfflinePrune: a replaced offline license loses its document once it
// has expired, and with it the IDs of the users it held; its history
// entry stays, the newest document of each organization is kept, expired
// or not, and no more than asked go in one call.
func testOfflinePrune(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 3, func(st *licet.Settings) { st.Offline = true })
	ctx := context.Background()
	other := &licet.Organization{ID: GUID('o', 2), Name: "other", URL: "https://other.example.net", Settings: licet.DefaultSettings()}
	other.Settings.Offline = true
	if err := s.CreateOrganization(ctx, other, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if _, err := s.ChangeUser(ctx, org, GUID('u', i), licet.ActionAssign, "", "op"); err != nil {
			t.Fatal(err)
		}
	}
	build := func(o *licet.Organization, serial int64, users []*licet.User, pools []licet.Pool) ([]byte, time.Time, int, error) {
		var ids []string
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		return fmt.Appendf(nil, "serial %d: %s", serial, strings.Join(ids, ",")), clk.Now().Add(30 * day), len(ids), nil
	}
	issue := func(org string) {
		t.Helper()
		if _, err := s.IssueOffline(ctx, org, "op", build); err != nil {
			t.Fatal(err)
		}
	}
	held := func(user string) (serials []int64) {
		t.Helper()
		rec, err := s.UserRecord(ctx, org, user)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range rec.OfflineLicenses {
			serials = append(serials, is.Serial)
		}
		return serials
	}
	prune := func(max int, want int64) {
		t.Helper()
		if n, err := s.PruneOfflineDocuments(ctx, clk.Now(), max); err != nil || n != want {
			t.Errorf("at day %d: pruned %d, %v; want %d", clk.Now().Sub(Start)/day, n, err, want)
		}
	}
	issue(org)      // serial 1, day 0, valid to day 30: users 1 and 2
	issue(other.ID) // the other organization's only one, valid to day 30
	if _, err := s.ChangeUser(ctx, org, GUID('u', 2), licet.ActionUnassign, "", "op"); err != nil {
		t.Fatal(err)
	}
	clk.Add(day)
	issue(org) // serial 2, valid to day 31
	clk.Add(day)
	issue(org)   // serial 3, valid to day 32
	prune(10, 0) // the replaced ones still valid: devices may hold them
	if got := held(GUID('u', 2)); !slices.Equal(got, []int64{1}) {
		t.Errorf("user 2 is in offline licenses %v; want [1] while it is valid", got)
	}

	clk.Add(40 * day) // all expired
	prune(1, 1)
	prune(1, 1)
	prune(1, 0)
	if got := held(GUID('u', 2)); len(got) != 0 {
		t.Errorf("user 2 is in offline licenses %v after the only one holding it expired", got)
	}
	if got := held(GUID('u', 1)); !slices.Equal(got, []int64{3}) {
		t.Errorf("user 1 is in offline licenses %v; want [3], the newest", got)
	}
	hist, err := s.OfflineHistory(ctx, org, 10)
	if err != nil || len(hist) != 3 || hist[2].Serial != 1 || hist[2].Users != 2 || !hist[2].IssuedAt.Equal(Start) {
		t.Errorf("history after the prune %+v %v; want the three entries as they were", hist, err)
	}
	doc, err := s.OfflineDocument(ctx, org)
	if err != nil || doc.Serial != 3 || string(doc.Document) != "serial 3: "+GUID('u', 1) {
		t.Errorf("the newest document after its expiry: %+v %v", doc, err)
	}
	if doc, err := s.OfflineDocument(ctx, other.ID); err != nil || doc.Serial != 1 || string(doc.Document) != "serial 1: " {
		t.Errorf("the other organization's only document after its expiry: %+v %v", doc, err)
	}
}
