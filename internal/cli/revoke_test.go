package cli_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet/client"
	"github.com/licet/licet/protocol"
)

// keysDoc is GET /v1/keys.
type keysDoc struct {
	Keys []struct {
		ID     string `json:"id"`
		Active bool   `json:"active"`
	} `json:"keys"`
	Revoked []protocol.RevokedKey    `json:"revoked"`
	KeySet  *protocol.KeySetEnvelope `json:"keySet"`
}

func getKeys(t *testing.T, base string) keysDoc {
	t.Helper()
	resp, err := http.Get(base + "/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	var d keysDoc
	jsonDecode(resp, &d)
	return d
}

func privateKey(t *testing.T, path string) ed25519.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(ed25519.PrivateKey)
}

// thief is a server run by someone who holds a compromised key: it serves
// the real server's key set (a device may well fetch it there) and signs
// fresh leases with the stolen key, and an offline license signed with it.
func thief(t *testing.T, real string, stolen ed25519.PrivateKey, org, user, device string, offlineDoc []byte) *httptest.Server {
	kid := protocol.KeyID(stolen.Public().(ed25519.PublicKey))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/keys":
			resp, err := http.Get(real + "/v1/keys")
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			io.Copy(w, resp.Body)
		case "/v1/license/check":
			now := time.Now().UTC()
			payload := fmt.Appendf(nil, `{"v":1,"org":%q,"user":%q,"device":%q,"type":"Standard","status":"Licensed","iat":%q,"exp":%q,"kid":%q,"role":"primary","server":"x"}`,
				org, user, device, now.Add(time.Hour).Format(time.RFC3339), now.Add(48*time.Hour).Format(time.RFC3339), kid)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"status": "Licensed", "licensed": true, "licenseType": "Standard", "message": "licensed",
				"lease": base64.StdEncoding.EncodeToString(payload), "signature": base64.StdEncoding.EncodeToString(ed25519.Sign(stolen, payload)), "keyId": kid})
		case "/licet-offline.lic":
			w.Write(offlineDoc)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestKeyRevocationReachesDevices: a key revoked on the server is listed as
// revoked in the signed key set; a device that fetched it drops the pin and
// refuses, for ever, leases and offline licenses the key signed, even from
// a server that holds the stolen key and even with the key configured.
func TestKeyRevocationReachesDevices(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 5, "--offline=true")
	user, device := guid('u', 1), "dev-"+guid('u', 1)
	s.mustLicet("user", "assign", "--org", org, "--user", user)
	offlineFile := filepath.Join(t.TempDir(), "old.lic")
	s.mustLicet("offline", "issue", "--org", org, "--out", offlineFile)
	oldDoc, _ := os.ReadFile(offlineFile)

	// A device pins the first key on its first check.
	store, _ := storeFor(t)
	cfg := client.Config{Primary: s.url, AllowInsecureKeyFetch: true, Store: store, StepTimeout: 2 * time.Second,
		Request: client.Request{OrganizationID: org, UserID: user, DeviceID: device, OrganizationURL: "https://crm.example.net"}}
	o := check(t, cfg)
	if !o.Licensed || o.Lease == nil {
		t.Fatalf("first check: %+v", o)
	}
	old := o.Lease.KeyID
	oldPub := keysOf(t, s)[old]

	// The key leaks. The operator rotates, then revokes it.
	if _, err := s.licet("keys", "revoke", old); err == nil || !strings.Contains(err.Error(), "rotate first") {
		t.Fatalf("revoking the active key: %v", err)
	}
	s.mustLicet("keys", "rotate")
	if out := s.mustLicet("keys", "revoke", old); !strings.Contains(out, "revoked") {
		t.Errorf("keys revoke said %q", out)
	}
	if _, err := s.licet("keys", "revoke", old); err == nil || !strings.Contains(err.Error(), "revoked already") {
		t.Errorf("revoking twice: %v", err)
	}
	stolen := privateKey(t, filepath.Join(s.dir, "keys", "revoked", old+".pem"))
	if _, err := os.Stat(filepath.Join(s.dir, "keys", old+".pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the revoked key is still among the signing keys: %v", err)
	}

	// /v1/keys: the revoked key is named as such and no longer listed; the
	// key set verifies with the new key alone.
	d := getKeys(t, s.url)
	if len(d.Revoked) != 1 || d.Revoked[0].KeyID != old {
		t.Errorf("revoked: %+v", d.Revoked)
	}
	for _, k := range d.Keys {
		if k.ID == old {
			t.Error("the revoked key is still published")
		}
	}
	fresh := keysOf(t, s)
	ks, err := protocol.VerifyKeySet(d.KeySet, fresh, nil)
	if err != nil {
		t.Fatalf("key set: %v", err)
	}
	if !slices.Contains(ks.RevokedIDs(), old) || ks.PublicKeys()[old] != nil {
		t.Errorf("key set: %+v", ks)
	}
	// A key set the revoked key forged (it lists itself, revokes nothing)
	// is refused by a device that knows of the revocation.
	forged, err := protocol.SignKeySet(&protocol.KeySet{Version: 1, Kind: protocol.KeySetKind, IssuedAt: time.Now().UTC().Format(time.RFC3339),
		Keys:    []protocol.KeySetKey{{KeyID: old, Alg: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(oldPub), State: protocol.KeyActive, Created: "2026-01-01T00:00:00Z"}},
		Revoked: []protocol.RevokedKey{}}, []string{old}, map[string]ed25519.PrivateKey{old: stolen})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := protocol.VerifyKeySet(forged, map[string]ed25519.PublicKey{old: oldPub}, []string{old}); !errors.Is(err, protocol.ErrKeySetUntrusted) {
		t.Errorf("forged key set: %v", err)
	}

	// The device's next check gets a lease of the new key, fetches the key
	// set, learns of the revocation and drops the pin.
	o = check(t, cfg)
	if !o.Licensed || o.Lease.KeyID == old {
		t.Fatalf("check after rotation: %+v", o)
	}
	st, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(st.RevokedKeys, old) || st.PinnedKeys[old] != nil {
		t.Fatalf("device state: revoked %v, pinned %d keys (old pinned: %v)", st.RevokedKeys, len(st.PinnedKeys), st.PinnedKeys[old] != nil)
	}

	// From now on a lease or offline license of the stolen key is refused,
	// from a live server and from the backend, and the walk goes on.
	bad := thief(t, s.url, stolen, org, user, device, oldDoc)
	cfg.Primary, cfg.OfflineURL, cfg.Backup = bad.URL, bad.URL+"/licet-offline.lic", s.url
	o = check(t, cfg)
	if o.Source != client.SourceBackup || !o.Licensed {
		t.Errorf("with a thief as primary: %+v", o)
	}
	var refused int
	for _, st := range o.Steps {
		if errors.Is(st.Err, protocol.ErrRevokedKey) {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("steps %+v; want the lease and the offline license refused as revoked", o.Steps)
	}
	// Even with the revoked key configured by the app: the store remembers.
	cfg.Keys = map[string]ed25519.PublicKey{old: oldPub}
	for id, k := range fresh {
		cfg.Keys[id] = k
	}
	cfg.Backup = ""
	o = check(t, cfg)
	if o.Source != client.SourceCache {
		t.Errorf("with the revoked key configured, the thief decided: %+v", o)
	}

	// A device that configured both keys and never stored anything learns
	// of the revocation from the key set the first time it checks.
	cfg.Store = nil
	o = check(t, cfg)
	if o.Licensed {
		t.Errorf("a fresh device with configured keys believed the revoked key: %+v", o)
	}

	// licet check (a device on the command line) and licet offline verify.
	keyFile := filepath.Join(t.TempDir(), "both.pem")
	os.WriteFile(keyFile, []byte(s.mustLicet("keys", "public")+pemOf(oldPub)), 0o600)
	out, err := s.licet("check", "--server", bad.URL, "--offline-url", bad.URL+"/licet-offline.lic", "--org", org, "--user", user,
		"--device", device, "--key", keyFile)
	if err == nil || !strings.Contains(out, "revoked") {
		t.Errorf("licet check against the thief: %v\n%s", err, out)
	}
	if _, err := s.licet("offline", "verify", offlineFile, "--org", org, "--url", "https://crm.example.net", "--user", user, "--insecure-key-fetch"); err == nil ||
		!strings.Contains(err.Error(), "revoked") {
		t.Errorf("licet offline verify of a document of the revoked key: %v", err)
	}
	newFile := filepath.Join(t.TempDir(), "new.lic")
	s.mustLicet("offline", "issue", "--org", org, "--out", newFile)
	s.mustLicet("offline", "verify", newFile, "--org", org, "--url", "https://crm.example.net", "--user", user, "--insecure-key-fetch")

	// The server itself no longer verifies with it, across a restart.
	s.stop()
	s2 := start(t, s.dir, nil)
	if d := getKeys(t, s2.url); len(d.Revoked) != 1 || len(d.Keys) != 1 {
		t.Errorf("after a restart: %+v", d)
	}
}

func pemOf(pub ed25519.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
