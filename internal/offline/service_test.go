package offline_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/protocol"
)

var _ offline.Store = (*fake.OfflineStore)(nil)

const (
	orgID = "4F767AFF-B33F-437C-A7CB-00249948C82B"
	alice = "661BAC34-1128-40B1-9653-00B9F54158CD"
	bob   = "7A1C2E4B-0D3F-4E5A-8B6C-9D0E1F2A3B4C"
	carol = "8B2D3F5C-1E4A-4F6B-9C7D-0E1F2A3B4C5D"
	dave  = "9C3E4A6D-2F5B-4A7C-8D8E-1F2A3B4C5D6E"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

type env struct {
	store *fake.OfflineStore
	clock *fake.Clock
	ring  *keys.Ring
	svc   *offline.Service
}

// newEnv makes the service over a fake store holding Acme (offline
// licenses on, a Standard pool until t0+20 days, a Premium pool that
// ended) with alice and bob licensed, carol licensed but disabled, dave
// licensed on the ended pool.
func newEnv(t *testing.T) *env {
	ring, err := keys.Open(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: fake.NewClock(t0), ring: ring}
	e.store = fake.NewOfflineStore(e.clock)
	s := licet.DefaultSettings()
	s.Offline, s.AutoAssign = true, false
	e.store.PutOrg(licet.Organization{ID: orgID, Name: "Acme", URL: "https://acme.example/app", Settings: s})
	e.store.AddPool(licet.Pool{OrgID: orgID, LicenseType: "Standard", Seats: 10, From: t0.Add(-time.Hour), Until: t0.Add(20 * 24 * time.Hour)})
	e.store.AddPool(licet.Pool{OrgID: orgID, LicenseType: "Premium", Seats: 10, From: t0.Add(-48 * time.Hour), Until: t0.Add(-24 * time.Hour)})
	for _, u := range []licet.User{
		{OrgID: orgID, ID: alice, State: licet.UserLicensed, LicenseType: "Standard"},
		{OrgID: orgID, ID: bob, State: licet.UserLicensed, LicenseType: "Standard"},
		{OrgID: orgID, ID: carol, State: licet.UserLicensed, LicenseType: "Standard", Disabled: true},
		{OrgID: orgID, ID: dave, State: licet.UserLicensed, LicenseType: "Premium"},
	} {
		e.store.PutUser(u)
	}
	e.store.SetConfig(orgID, licet.OfflineConfig{ValidDays: 30})
	e.svc = offline.New(e.store, ring, e.clock, slog.New(slog.DiscardHandler), true)
	return e
}

// verify reads a document as a device of user would.
func (e *env) verify(doc []byte, user string) (*protocol.OfflineLicense, error) {
	k := e.ring.Active()
	l, _, err := protocol.VerifyOffline(doc, map[string]ed25519.PublicKey{k.ID: k.Private.Public().(ed25519.PublicKey)},
		protocol.OfflineCheck{Org: orgID, URL: "https://acme.example/app", User: user, Now: e.clock.Now(), Drift: time.Minute})
	return l, err
}

// An offline license holds the licensed users within their pool's term,
// ends with the pool, and is kept even without a backend.
func TestIssueHoldsLicensedUsersWithinTheirTerm(t *testing.T) {
	e := newEnv(t)
	r, err := e.svc.Issue(context.Background(), orgID, "admin@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if r.Serial != 1 || r.Users != 2 || r.UploadStatus != "no backend" || r.Location != protocol.OfflineLocation("https://acme.example/app") {
		t.Errorf("result %+v", r)
	}
	if !r.ValidUntil.Equal(t0.Add(20 * 24 * time.Hour)) {
		t.Errorf("valid until %s; want the pool's end", r.ValidUntil)
	}
	for user, want := range map[string]error{alice: nil, bob: nil, carol: protocol.ErrUserNotLicensed, dave: protocol.ErrUserNotLicensed} {
		if _, err := e.verify(r.Document, user); !errors.Is(err, want) {
			t.Errorf("%s: %v; want %v", user, err, want)
		}
	}
	doc, err := e.store.OfflineDocument(context.Background(), orgID)
	if err != nil || string(doc.Document) != string(r.Document) || doc.UploadStatus != "no backend" {
		t.Errorf("stored %+v (%v)", doc, err)
	}
	if r, err := e.svc.Issue(context.Background(), orgID, "admin@acme.example"); err != nil || r.Serial != 2 {
		t.Errorf("second issue: %+v %v", r, err)
	}
}

// Without the vendor's switch, or without the organization's URL, nothing
// is issued.
func TestIssueRefusals(t *testing.T) {
	e := newEnv(t)
	o, _ := e.store.Organization(context.Background(), orgID)
	o.URL = ""
	e.store.PutOrg(*o)
	if _, err := e.svc.Issue(context.Background(), orgID, "op"); licet.ErrorCode(err) != licet.ECONFLICT || !strings.Contains(err.Error(), "organization's URL") {
		t.Errorf("without a URL: %v", err)
	}
	o.URL, o.Settings.Offline = "https://acme.example/app", false
	e.store.PutOrg(*o)
	if _, err := e.svc.Issue(context.Background(), orgID, "op"); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("offline off: %v", err)
	}
	if _, err := e.store.OfflineDocument(context.Background(), orgID); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("a refused issue was kept: %v", err)
	}
}

// Changes counts what an Update would add and drop.
func TestChangesSinceTheLastIssue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Changes(ctx, orgID)
	if err != nil || c.Serial != 0 || c.Licensed != 2 || c.Total() != 2 {
		t.Fatalf("before any issue: %+v %v", c, err)
	}
	if _, err := e.svc.Issue(ctx, orgID, "op"); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.svc.Changes(ctx, orgID); c.Serial != 1 || c.Total() != 0 {
		t.Fatalf("right after: %+v", c)
	}
	e.store.PutUser(licet.User{OrgID: orgID, ID: alice, State: licet.UserLicensed, LicenseType: "Standard", Disabled: true})
	e.store.DeleteUser(orgID, bob)
	e.store.PutUser(licet.User{OrgID: orgID, ID: carol, State: licet.UserLicensed, LicenseType: "Standard"})
	if c, _ := e.svc.Changes(ctx, orgID); c.Licensed != 1 || c.Unassigned != 1 || c.Disabled != 1 {
		t.Errorf("after changes: %+v; want one each", c)
	}
}

// dav is a WebDAV backend in memory: PUT, MOVE, GET and DELETE.
type dav struct {
	mu    sync.Mutex
	files map[string][]byte
	fail  bool // answer 500 to everything
}

func (d *dav) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail {
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	}
	switch r.Method {
	case "PUT":
		b, _ := io.ReadAll(r.Body)
		d.files[r.URL.Path] = b
		w.WriteHeader(http.StatusCreated)
	case "MOVE":
		u, err := url.Parse(r.Header.Get("Destination"))
		b, ok := d.files[r.URL.Path]
		if err != nil || !ok {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		delete(d.files, r.URL.Path)
		d.files[u.Path] = b
		w.WriteHeader(http.StatusCreated)
	case "GET":
		b, ok := d.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	case "DELETE":
		delete(d.files, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "no", http.StatusMethodNotAllowed)
	}
}

// With a backend, the license is saved where devices read it, and the
// backend test passes and is kept; a backend that fails makes the upload
// fail, in licet's words only, while the license stays issued.
func TestUploadAndBackendTest(t *testing.T) {
	e := newEnv(t)
	d := &dav{files: map[string][]byte{}}
	srv := httptest.NewServer(d)
	defer srv.Close()
	e.store.SetConfig(orgID, licet.OfflineConfig{ValidDays: 30, Backend: srv.URL + "/licet.lic", Location: srv.URL + "/licet.lic"})
	ctx := context.Background()
	r, err := e.svc.Issue(ctx, orgID, "op")
	if err != nil || r.UploadStatus != "uploaded" || !r.UploadedAt.Equal(t0) {
		t.Fatalf("issue: %+v %v", r, err)
	}
	if got := d.files["/licet.lic"]; string(got) != string(r.Document) || len(d.files) != 1 {
		t.Errorf("the backend holds %d files; want only the license", len(d.files))
	}
	rep, err := e.svc.Test(ctx, orgID, "op")
	if err != nil || !rep.OK || len(rep.Steps) != 4 {
		t.Fatalf("backend test: %+v %v", rep, err)
	}
	if cfg, _ := e.store.OfflineConfig(ctx, orgID); cfg.LastTest == nil || !cfg.LastTest.OK || cfg.LastTest.By != "op" {
		t.Errorf("the test report was not kept: %+v", cfg.LastTest)
	}
	if len(d.files) != 1 || string(d.files["/licet.lic"]) != string(r.Document) {
		t.Error("the backend test touched the license or left its probe")
	}
	d.mu.Lock()
	d.fail = true
	d.mu.Unlock()
	r, err = e.svc.Issue(ctx, orgID, "op")
	if err != nil || r.UploadStatus != "failed" || !strings.Contains(r.UploadDetail, "the backend had a server error") || strings.Contains(r.UploadDetail, "broken") {
		t.Errorf("issue with the backend down: %+v %v", r.OfflineIssue, err)
	}
	if h, _ := e.store.OfflineHistory(ctx, orgID, 10); len(h) != 2 || h[0].UploadStatus != "failed" || h[1].UploadStatus != "uploaded" {
		t.Errorf("history %+v", h)
	}
}

// Automatic Update issues once the changes stayed the same for
// AutoQuiet, not sooner, and not again within AutoMinGap.
func TestAutoUpdateWaitsForQuietThenForTheGap(t *testing.T) {
	e := newEnv(t)
	e.store.SetConfig(orgID, licet.OfflineConfig{ValidDays: 30, AutoAllowed: true, AutoUpdate: true})
	a := offline.NewAuto(e.svc)
	ctx := context.Background()
	serial := func() int64 {
		h, _ := e.store.OfflineHistory(ctx, orgID, 1)
		if len(h) == 0 {
			return 0
		}
		return h[0].Serial
	}
	a.Tick(ctx)
	if serial() != 0 {
		t.Fatal("issued before the changes were quiet")
	}
	e.clock.Add(offline.AutoQuiet)
	a.Tick(ctx)
	if serial() != 1 {
		t.Fatalf("serial %d after quiet; want 1", serial())
	}
	if h, _ := e.store.OfflineHistory(ctx, orgID, 1); h[0].IssuedBy != licet.ActorAutomatic {
		t.Errorf("issued by %q", h[0].IssuedBy)
	}
	e.store.DeleteUser(orgID, bob)
	a.Tick(ctx)
	e.clock.Add(offline.AutoQuiet)
	a.Tick(ctx)
	if serial() != 1 {
		t.Fatal("issued again within the gap")
	}
	e.clock.Add(offline.AutoMinGap)
	a.Tick(ctx)
	if serial() != 2 {
		t.Errorf("serial %d after the gap; want 2", serial())
	}
	// Switched off (or not allowed), nothing more happens.
	e.store.SetConfig(orgID, licet.OfflineConfig{ValidDays: 30, AutoAllowed: false, AutoUpdate: true})
	e.store.PutUser(licet.User{OrgID: orgID, ID: bob, State: licet.UserLicensed, LicenseType: "Standard"})
	for range 3 {
		e.clock.Add(offline.AutoMinGap)
		a.Tick(ctx)
	}
	if serial() != 2 {
		t.Errorf("serial %d with automatic Update not allowed", serial())
	}
}
