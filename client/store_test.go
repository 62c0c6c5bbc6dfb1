package client

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet/protocol"
)

// memStore is an app's own StateStore: a copy of the state in memory.
type memStore struct {
	mu    sync.Mutex
	st    State
	saves int
	err   error // returned by Load
}

func (m *memStore) Load() (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return State{}, m.err
	}
	return m.st, nil
}

func (m *memStore) Save(st State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st, m.saves = st, m.saves+1
	return nil
}

var (
	testOrg  = "4F767AFF-B33F-437C-A7CB-00249948C82B"
	testUser = "661BAC34-1128-40B1-9653-00B9F54158CD"
	testNow  = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
)

// signedLease is a lease for testOrg/testUser on device "d", signed by key.
func signedLease(t *testing.T, key ed25519.PrivateKey) (payload, sig []byte) {
	t.Helper()
	l := protocol.Lease{Version: 1, Org: testOrg, User: testUser, Device: "d", LicenseType: "Standard", Status: protocol.StatusLicensed,
		IssuedAt: "2026-03-01T08:00:00Z", ExpiresAt: "2026-03-08T08:00:00Z", KeyID: protocol.KeyID(key.Public().(ed25519.PublicKey)),
		Role: protocol.RolePrimary, Server: "https://licet.example.com"}
	payload, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return payload, ed25519.Sign(key, payload)
}

// checkServer answers every check with the lease.
func checkServer(t *testing.T, payload, sig []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"licensed": true, "status": "Licensed", "licenseType": "Standard",
			"lease": base64.StdEncoding.EncodeToString(payload), "signature": base64.StdEncoding.EncodeToString(sig)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func testConfig(primary string, store StateStore) Config {
	return Config{Primary: primary, Keys: testKeys(), Store: store, Now: func() time.Time { return testNow }, KeyRefresh: -1,
		Request: Request{OrganizationID: testOrg, UserID: testUser, DeviceID: "d", OrganizationURL: "https://testcrm.example.net"}}
}

// An app's own StateStore carries the device state between checks as the
// file store does: the verified lease's exact bytes, then the cache.
func TestOwnStateStore(t *testing.T) {
	payload, sig := signedLease(t, testKey)
	srv := checkServer(t, payload, sig)
	mem := &memStore{}
	o, err := New(testConfig(srv.URL, mem)).Check(context.Background())
	if err != nil || !o.Licensed || o.Source != SourcePrimary {
		t.Fatalf("check: %+v, %v", o, err)
	}
	if mem.saves != 1 || string(mem.st.Lease) != string(payload) || string(mem.st.Signature) != string(sig) || mem.st.Request.DeviceID != "d" {
		t.Fatalf("saved %d times: %+v", mem.saves, mem.st)
	}
	srv.Close()
	o, err = New(testConfig(srv.URL, mem)).Check(context.Background())
	if err != nil || !o.Licensed || o.Source != SourceCache || o.Lease.ExpiresAt != "2026-03-08T08:00:00Z" {
		t.Fatalf("from the app's store: %+v, %v", o, err)
	}

	// A state that does not load is a step, and the walk goes on without it.
	broken := &memStore{err: errors.New("the app's database is locked")}
	o, _ = New(testConfig(srv.URL, broken)).Check(context.Background())
	if o.Licensed || len(o.Steps) == 0 || o.Steps[0].Source != SourceCache || !errors.Is(o.Steps[0].Err, broken.err) {
		t.Fatalf("unloadable state: %+v", o)
	}
}

// A nil *Store keeps nothing, as it did before Config.Store became an
// interface (a non-nil interface holding a nil pointer).
func TestNilFileStore(t *testing.T) {
	payload, sig := signedLease(t, testKey)
	var fs *Store
	o, err := New(testConfig(checkServer(t, payload, sig).URL, fs)).Check(context.Background())
	if err != nil || !o.Licensed {
		t.Fatalf("check with a nil *Store: %+v, %v", o, err)
	}
}

func TestClientVerifyLease(t *testing.T) {
	payload, sig := signedLease(t, testKey)
	id := protocol.KeyID(testKey.Public().(ed25519.PublicKey))

	// Configured keys.
	cl := New(testConfig("", nil))
	if l, err := cl.VerifyLease(payload, sig); err != nil || l.Status != protocol.StatusLicensed || l.Device != "d" {
		t.Fatalf("configured keys: %+v, %v", l, err)
	}
	bad := append([]byte(nil), payload...)
	bad[len(bad)-3] ^= 1
	if _, err := cl.VerifyLease(bad, sig); !errors.Is(err, protocol.ErrBadSignature) {
		t.Errorf("a changed byte: %v", err)
	}

	// Pinned keys from the app's store, and its revocations.
	pub := testKey.Public().(ed25519.PublicKey)
	mem := &memStore{st: State{PinnedKeys: map[string][]byte{id: pub}}}
	c := testConfig("", mem)
	c.Keys = nil
	if _, err := New(c).VerifyLease(payload, sig); err != nil {
		t.Errorf("pinned key: %v", err)
	}
	mem.st.RevokedKeys = []string{id}
	if _, err := New(c).VerifyLease(payload, sig); !errors.Is(err, protocol.ErrRevokedKey) {
		t.Errorf("pinned key since revoked: %v", err)
	}
	c.Keys = testKeys() // revocations apply to configured keys too
	if _, err := New(c).VerifyLease(payload, sig); !errors.Is(err, protocol.ErrRevokedKey) {
		t.Errorf("configured key since revoked: %v", err)
	}

	// A clock set back before what the store has seen: local data is not
	// trusted, as for the stored lease.
	c = testConfig("", &memStore{st: State{LatestSeen: testNow.Add(time.Hour)}})
	if _, err := New(c).VerifyLease(payload, sig); !errors.Is(err, ErrClockRollback) {
		t.Errorf("clock set back: %v", err)
	}
	c.Store = &memStore{st: State{LatestSeen: testNow.Add(time.Minute)}} // within the drift
	if _, err := New(c).VerifyLease(payload, sig); err != nil {
		t.Errorf("within the drift: %v", err)
	}

	// Another device's lease; a store that does not load.
	c = testConfig("", nil)
	c.Request.DeviceID = "e"
	if _, err := New(c).VerifyLease(payload, sig); !errors.Is(err, protocol.ErrLeaseWrongDevice) {
		t.Errorf("another device: %v", err)
	}
	if _, err := New(testConfig("", &memStore{err: ErrStoreCorrupt})).VerifyLease(payload, sig); !errors.Is(err, ErrStoreCorrupt) {
		t.Errorf("unloadable store: %v", err)
	}
}

// The file store round-trips a state and refuses another key's file.
func TestFileStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	s, err := OpenStore(path, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(); err != nil || st.Lease != nil {
		t.Fatalf("a missing file: %+v, %v", st, err)
	}
	want := State{Lease: []byte("{}"), RevokedKeys: []string{"x"}, LatestSeen: testNow}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(); err != nil || string(st.Lease) != "{}" || st.RevokedKeys[0] != "x" || !st.LatestSeen.Equal(testNow) {
		t.Fatalf("loaded %+v, %v", st, err)
	}
	other, _ := OpenStore(path, []byte("another key of thirty-two bytes!"))
	if _, err := other.Load(); !errors.Is(err, ErrStoreCorrupt) {
		t.Errorf("another key: %v", err)
	}
	if _, err := OpenStore(path, make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was taken")
	}
}
