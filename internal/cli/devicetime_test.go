package cli_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licet/licet/client"
	"github.com/licet/licet/protocol"
)

// Setting the device clock back after the stored lease expired must not
// bring the lease (or an offline license) back.
func TestDeviceClockRollbackAfterExpiry(t *testing.T) {
	w := newDeviceWorld(t)
	store, _ := storeFor(t)
	t0 := w.clock.Now()
	if o := check(t, w.config(w.primary.url, "", store)); !o.Licensed {
		t.Fatal(o)
	}
	w.publishOffline(t) // valid from t0 for 30 days
	down := w.config(closedURL(t), "", store)
	down.OfflineURL = closedURL(t)
	down.Now = func() time.Time { return t0.Add(31 * day) }
	if o := check(t, down); o.Licensed {
		t.Fatalf("expired lease, day 31: %+v", o)
	}
	down.Now = func() time.Time { return t0.Add(day) }
	o := check(t, down)
	if o.Licensed || !hasStep(o, client.ErrClockRollback) {
		t.Errorf("clock set back to day 1 after day 31: %+v", o)
	}
	down.OfflineURL = ""
	if o = check(t, down); o.Licensed || !hasStep(o, client.ErrClockRollback) {
		t.Errorf("clock set back, offline license reachable: %+v", o)
	}
	st, _ := store.Load()
	if !st.LatestSeen.Equal(t0.Add(31 * day)) {
		t.Errorf("latest time seen = %v, want day 31", st.LatestSeen)
	}
	// Back within the drift of the latest time seen, it is the clock that
	// decides again: the lease has expired.
	down.Now = func() time.Time { return t0.Add(31*day - time.Minute) }
	if o = check(t, down); o.Licensed || hasStep(o, client.ErrClockRollback) {
		t.Errorf("within the drift: %+v", o)
	}
}

// A live server's "no" forgets the stored lease at once: a disabled user
// who then blocks the licensing host gets nothing from the cache.
func TestDeviceLiveNoForgetsTheLease(t *testing.T) {
	w := newDeviceWorld(t)
	store, _ := storeFor(t)
	if o := check(t, w.config(w.primary.url, "", store)); !o.Licensed {
		t.Fatal(o)
	}
	w.primary.mustLicet("user", "disable", "--org", w.org, "--user", w.user)
	if o := check(t, w.config(w.primary.url, "", store)); o.Licensed || o.Status != "UserDisabled" {
		t.Fatalf("disabled: %+v", o)
	}
	if st, _ := store.Load(); len(st.Lease) != 0 {
		t.Error("the lease is still stored after a live UserDisabled")
	}
	o := check(t, w.config(closedURL(t), closedURL(t), store))
	if o.Licensed || !hasStep(o, client.ErrNoCache) {
		t.Errorf("disabled user, licensing host blocked: %+v", o)
	}
}

// rogueServer answers every check with a lease signed by key (which the
// device trusts: a backup whose clock runs fast, say) for the given times.
func rogueServer(t *testing.T, w *deviceWorld, key ed25519.PrivateKey, iat, exp func() time.Time) string {
	kid := protocol.KeyID(key.Public().(ed25519.PublicKey))
	s := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		payload := fmt.Appendf(nil, `{"v":1,"org":%q,"user":%q,"device":"device-1","type":"Standard","status":"Licensed","iat":%q,"exp":%q,"kid":%q,"role":"backup","server":"x"}`,
			w.org, w.user, iat().UTC().Format(time.RFC3339), exp().UTC().Format(time.RFC3339), kid)
		json.NewEncoder(rw).Encode(map[string]any{"status": "Licensed", "licensed": true, "licenseType": "Standard",
			"lease": base64.StdEncoding.EncodeToString(payload), "signature": base64.StdEncoding.EncodeToString(ed25519.Sign(key, payload))})
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// Signed times the device cannot believe: an iat ahead of its clock (which
// would block every honest answer as a "replay" until then) and an exp far
// beyond the longest lease.
func TestDeviceRefusesSignedTimesOutOfBounds(t *testing.T) {
	w := newDeviceWorld(t)
	store, _ := storeFor(t)
	pub, priv, _ := ed25519.GenerateKey(nil)
	keys := maps.Clone(w.keys)
	keys[protocol.KeyID(pub)] = pub

	fast := rogueServer(t, w, priv, func() time.Time { return w.clock.Now().Add(2 * day) }, func() time.Time { return w.clock.Now().Add(3 * day) })
	cfg := w.config(fast, "", store)
	cfg.Keys = keys
	if o := check(t, cfg); o.Licensed || !hasStep(o, protocol.ErrFromFuture) {
		t.Errorf("iat two days ahead believed: %+v", o)
	}
	cfg.Primary = w.primary.url
	if o := check(t, cfg); !o.Licensed || o.Source != client.SourcePrimary {
		t.Errorf("the honest primary after a lease from the future: %+v", o)
	}

	forever := rogueServer(t, w, priv, w.clock.Now, func() time.Time { return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) })
	cfg.Primary = forever
	if o := check(t, cfg); o.Source == client.SourcePrimary || !hasStep(o, protocol.ErrTooLong) {
		t.Errorf("exp 9999-12-31 believed: %+v", o)
	}
	// Nothing of those was stored: after the honest lease expires, the
	// cache says no.
	w.clock.Add(8 * day)
	cfg.Primary = closedURL(t)
	if o := check(t, cfg); o.Licensed {
		t.Errorf("a refused lease was cached: %+v", o)
	}
}

// licet check --at: the device's clock reads TIME.
func TestLicetCheckAt(t *testing.T) {
	w := newDeviceWorld(t)
	check := w.licetCheck(t)
	offline := closedURL(t)
	run := func(args ...string) (int, string) {
		return check(append([]string{"--user", w.user, "--offline-url", offline}, args...)...)
	}
	t0 := w.clock.Now()
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	if code, out := run("--server", w.primary.url); code != 0 {
		t.Fatalf("licensed: %d %s", code, out)
	}
	if code, out := run("--server", closedURL(t), "--at", at(day)); code != 0 || !strings.Contains(out, "from cache") {
		t.Errorf("day 1, cache: %d %s", code, out)
	}
	if code, out := run("--server", closedURL(t), "--at", at(30*day)); code != 1 || !strings.Contains(out, "expired") {
		t.Errorf("day 30, expired: %d %s", code, out)
	}
	if code, out := run("--server", closedURL(t), "--at", at(2*day)); code == 0 || !strings.Contains(out, "clock") {
		t.Errorf("day 2 after day 30: %d %s", code, out)
	}
	if code, out := run("--server", closedURL(t), "--at", "yesterday"); code != 2 || !strings.Contains(out, "--at") {
		t.Errorf("a bad --at: %d %s", code, out)
	}
}

// The offline license download is bounded: a hostile backend cannot make a
// phone read 64 MiB.
func TestDeviceOfflineDownloadIsBounded(t *testing.T) {
	w := newDeviceWorld(t)
	big := make([]byte, protocol.MaxOfflineLicenseBytes+1)
	w.offline.Store(&big)
	cfg := w.config(closedURL(t), "", nil)
	// The size is what refuses it, not the time: reading 8 MiB under -race
	// on a loaded machine can outlast the world's half-second steps, and a
	// timeout would hide whether the device stops at the bound.
	cfg.StepTimeout, cfg.ConnectTimeout, cfg.Deadline = 2*time.Minute, time.Minute, 2*time.Minute
	o := check(t, cfg)
	if o.Licensed || !hasStep(o, client.ErrOfflineTooLarge) {
		t.Errorf("a %d-byte offline license: %+v", len(big), o.Steps)
	}
}

// The client talks only to whom it was told: an https server that
// redirects to plain http (or elsewhere) gets neither the device record nor
// a chance to pin its keys.
func TestDeviceFollowsNoRedirects(t *testing.T) {
	w := newDeviceWorld(t)
	var hits atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(rw, "attacker", 500)
	}))
	defer attacker.Close()
	redirect := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, attacker.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	store, _ := storeFor(t)
	cfg := w.config(redirect.URL, "", store)
	cfg.Transport = redirect.Client().Transport
	cfg.OfflineURL = redirect.URL + "/licet-offline.lic"
	o := check(t, cfg)
	if o.Licensed || hits.Load() != 0 || !hasStep(o, client.ErrRedirect) {
		t.Errorf("check: %d requests reached the redirect's target; %+v", hits.Load(), o.Steps)
	}
	// licet offline verify (keys from the server) and the operator
	// commands do not follow one either.
	plain := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, attacker.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer plain.Close()
	doc := filepath.Join(t.TempDir(), "o.lic")
	w.primary.mustLicet("offline", "issue", "--org", w.org, "--out", doc)
	if _, err := w.primary.licet("offline", "verify", doc, "--org", w.org, "--url", w.backend.URL, "--user", w.user,
		"--server", plain.URL, "--insecure-key-fetch"); err == nil || !strings.Contains(err.Error(), "does not follow redirects") || hits.Load() != 0 {
		t.Errorf("offline verify through a redirect: %v, %d requests reached its target", err, hits.Load())
	}
	if _, err := w.primary.licet("org", "list", "--server", plain.URL); err == nil || hits.Load() != 0 {
		t.Errorf("an operator command through a redirect: %v, %d requests reached its target", err, hits.Load())
	}

	cfg.Keys = nil
	o = check(t, cfg)
	if st, _ := store.Load(); hits.Load() != 0 || len(st.PinnedKeys) != 0 || !hasStep(o, client.ErrRedirect) {
		t.Errorf("key fetch: %d requests reached the redirect's target, %d keys pinned; %+v", hits.Load(), len(st.PinnedKeys), o.Steps)
	}
}
