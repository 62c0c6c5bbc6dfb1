package cli_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licet/licet/client"
	"github.com/licet/licet/internal/cli"
	"github.com/licet/licet/internal/storetest"
	"github.com/licet/licet/protocol"
)

// deviceWorld is a primary, a backup on a snapshot of it, and the
// organization's backend serving (or not) the offline license.
type deviceWorld struct {
	clock           *storetest.Clock
	primary, backup *server
	backend         *httptest.Server
	offline         atomic.Pointer[[]byte]
	org, user       string
	keys            map[string]ed25519.PublicKey
}

func newDeviceWorld(t *testing.T) *deviceWorld {
	w := &deviceWorld{clock: storetest.NewClock(time.Now().UTC().Truncate(time.Second))}
	w.backend = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		doc := w.offline.Load()
		if r.URL.Path != "/licet-offline.lic" || doc == nil {
			http.NotFound(rw, r)
			return
		}
		rw.Write(*doc)
	}))
	t.Cleanup(w.backend.Close)
	w.primary = start(t, "", w.clock)
	w.org, w.user = guid('o', 1), guid('u', 1)
	w.primary.mustLicet("org", "create", "--id", w.org, "--name", "crm", "--url", w.backend.URL)
	w.primary.mustLicet("pool", "add", "--org", w.org, "--type", "Standard", "--seats", "5")
	w.primary.mustLicet("org", "set", "--org", w.org, "--offline=true")
	w.primary.mustLicet("user", "assign", "--org", w.org, "--user", w.user)
	snap := filepath.Join(t.TempDir(), "snap.db")
	w.primary.mustLicet("backup", "--out", snap)
	w.backup = start(t, provisionKeys(t, w.primary), w.clock, "--read-only", "--database", snap)
	w.keys = keysOf(t, w.primary)
	return w
}

func (w *deviceWorld) publishOffline(t *testing.T) {
	f := filepath.Join(t.TempDir(), "o.lic")
	w.primary.mustLicet("offline", "issue", "--org", w.org, "--out", f)
	doc, _ := os.ReadFile(f)
	w.offline.Store(&doc)
}

func (w *deviceWorld) config(primary, backup string, store *client.Store) client.Config {
	return client.Config{Primary: primary, Backup: backup, Keys: w.keys, Store: store, Now: w.clock.Now,
		StepTimeout: 500 * time.Millisecond, ConnectTimeout: 300 * time.Millisecond, Deadline: 5 * time.Second,
		Request: client.Request{OrganizationID: w.org, UserID: w.user, DeviceID: "device-1", OrganizationURL: w.backend.URL}}
}

func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return "http://" + ln.Addr().String()
}

// silentURL accepts connections and never answers.
func silentURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String()
}

func check(t *testing.T, cfg client.Config) *client.Outcome {
	t.Helper()
	o, err := client.New(cfg).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func storeFor(t *testing.T) (*client.Store, string) {
	path := filepath.Join(t.TempDir(), "device.store")
	s, err := client.OpenStore(path, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestDeviceCheckOrder(t *testing.T) {
	w := newDeviceWorld(t)
	store, _ := storeFor(t)

	o := check(t, w.config(w.primary.url, w.backup.url, store))
	if !o.Licensed || o.Source != client.SourcePrimary || o.Lease == nil || o.Lease.Role != "primary" {
		t.Fatalf("primary up: %+v", o)
	}

	w.publishOffline(t)
	o = check(t, w.config(closedURL(t), w.backup.url, store))
	if !o.Licensed || o.Source != client.SourceOffline || o.Offline == nil || o.LicenseType != "Standard" {
		t.Fatalf("primary down, offline license there: %+v", o)
	}
	if len(o.Steps) != 1 || !errors.Is(o.Steps[0].Err, client.ErrUnreachable) {
		t.Errorf("steps: %+v", o.Steps)
	}

	start := time.Now()
	o = check(t, w.config(silentURL(t), w.backup.url, store))
	if o.Source != client.SourceOffline || time.Since(start) > 4*time.Second {
		t.Errorf("a primary that never answers: %s after %v", o.Source, time.Since(start))
	}

	w.offline.Store(nil)
	o = check(t, w.config(closedURL(t), w.backup.url, store))
	if !o.Licensed || o.Source != client.SourceBackup || o.Lease.Role != "backup" {
		t.Fatalf("no offline license: %+v", o)
	}
	if !errors.Is(o.Steps[1].Err, client.ErrNoOffline) {
		t.Errorf("offline step: %+v", o.Steps[1])
	}

	// A new user on the backup: a live answer, not licensed, ends the walk.
	cfg := w.config(closedURL(t), w.backup.url, nil)
	cfg.Request.UserID = guid('u', 9)
	if o = check(t, cfg); o.Licensed || o.Status != "ReadOnlyServer" || o.Source != client.SourceBackup {
		t.Errorf("new user on the backup: %+v", o)
	}

	// Everything down: the stored lease, until it expires.
	o = check(t, w.config(closedURL(t), closedURL(t), store))
	if !o.Licensed || o.Source != client.SourceCache {
		t.Fatalf("everything down: %+v", o)
	}
	w.clock.Add(8 * day)
	if o = check(t, w.config(closedURL(t), closedURL(t), store)); o.Licensed {
		t.Errorf("expired stored lease: %+v", o)
	}
}

func TestDeviceRefusesForgeriesTamperingAndRollback(t *testing.T) {
	w := newDeviceWorld(t)
	store, path := storeFor(t)
	if o := check(t, w.config(w.primary.url, "", store)); !o.Licensed {
		t.Fatal(o)
	}

	// A man in the middle rewrites the answer: right shape, wrong signature.
	_, forger, _ := ed25519.GenerateKey(nil)
	fake := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		payload := fmt.Appendf(nil, `{"v":1,"org":%q,"user":%q,"device":"device-1","type":"Premium","status":"Licensed","iat":%q,"exp":%q,"kid":%q,"role":"primary","server":"x"}`,
			w.org, w.user, w.clock.Now().Format(time.RFC3339), w.clock.Now().Add(day).Format(time.RFC3339), firstKey(w.keys))
		json.NewEncoder(rw).Encode(map[string]any{"status": "Licensed", "licensed": true, "licenseType": "Premium",
			"lease": base64.StdEncoding.EncodeToString(payload), "signature": base64.StdEncoding.EncodeToString(ed25519.Sign(forger, payload))})
	}))
	defer fake.Close()
	o := check(t, w.config(fake.URL, "", nil))
	if o.Licensed || !errors.Is(o.Steps[0].Err, protocol.ErrForged) {
		t.Errorf("forged answer believed: %+v", o)
	}

	// The clock moved back before a signed time: local data is not trusted.
	cfg := w.config(closedURL(t), "", store)
	cfg.Now = func() time.Time { return w.clock.Now().Add(-2 * day) }
	if o = check(t, cfg); o.Licensed || !hasStep(o, client.ErrClockRollback) {
		t.Errorf("clock rolled back: %+v", o)
	}

	// A tampered store is treated as empty, with a clear error.
	b, _ := os.ReadFile(path)
	b[len(b)-5] ^= 1
	os.WriteFile(path, b, 0o600)
	if o = check(t, w.config(closedURL(t), "", store)); o.Licensed || !hasStep(o, client.ErrStoreCorrupt) {
		t.Errorf("tampered store: %+v", o)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, err := store.Load(); !errors.Is(err, client.ErrStoreCorrupt) {
		t.Errorf("garbage store: %v", err)
	}
	other, _ := client.OpenStore(path, []byte(strings.Repeat("k", 32)))
	store.Save(client.State{LatestTrusted: time.Now()})
	if _, err := other.Load(); !errors.Is(err, client.ErrStoreCorrupt) {
		t.Errorf("another key: %v", err)
	}
}

func firstKey(keys map[string]ed25519.PublicKey) string {
	for id := range keys {
		return id
	}
	return ""
}

func hasStep(o *client.Outcome, err error) bool {
	for _, s := range o.Steps {
		if errors.Is(s.Err, err) {
			return true
		}
	}
	return false
}

func TestDeviceFetchesAndPinsKeys(t *testing.T) {
	w := newDeviceWorld(t)
	store, _ := storeFor(t)
	cfg := w.config(w.primary.url, "", store)
	cfg.Keys = nil
	if o := check(t, cfg); o.Licensed || !hasStep(o, client.ErrNoTrustedKeys) {
		t.Errorf("keys over plain http without leave: %+v", o)
	}
	cfg.AllowInsecureKeyFetch = true
	if o := check(t, cfg); !o.Licensed {
		t.Fatalf("fetched keys: %+v", o)
	}
	st, _ := store.Load()
	if len(st.PinnedKeys) == 0 {
		t.Fatal("keys not pinned")
	}
	// Pinned: the device no longer needs to fetch them.
	cfg.AllowInsecureKeyFetch = false
	cfg.Primary = closedURL(t)
	if o := check(t, cfg); !o.Licensed || o.Source != client.SourceCache {
		t.Errorf("with pinned keys, primary down: %+v", o)
	}
}

// licetCheck returns a runner of "licet check" as this world's device, with
// the primary's published key and a store of its own; args add to that.
func (w *deviceWorld) licetCheck(t *testing.T) func(args ...string) (int, string) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "public.pem")
	os.WriteFile(pem, []byte(w.primary.mustLicet("keys", "public")), 0o600)
	return func(args ...string) (int, string) {
		var out, errb strings.Builder
		env := map[string]string{"LICET_STORE_KEY": strings.Repeat("ab", 32)}
		p := &cli.Program{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Clock: w.clock}
		code := p.Run(context.Background(), append([]string{"check", "--org", w.org, "--device", "device-1", "--url", w.backend.URL,
			"--key", pem, "--store", filepath.Join(dir, "store"), "--step-timeout", "500ms"}, args...))
		return code, out.String() + errb.String()
	}
}

func TestLicetCheckExitCodes(t *testing.T) {
	w := newDeviceWorld(t)
	run := w.licetCheck(t)
	if code, out := run("--user", w.user, "--server", w.primary.url); code != 0 || !strings.Contains(out, "Licensed (Standard) from primary") {
		t.Errorf("licensed: %d %s", code, out)
	}
	if code, out := run("--user", guid('u', 8), "--server", w.backup.url); code != 1 || !strings.Contains(out, "ReadOnlyServer") {
		t.Errorf("not licensed: %d %s", code, out)
	}
	if code, out := run("--user", guid('u', 7), "--server", closedURL(t)); code != 3 || !strings.Contains(out, "could not decide") {
		t.Errorf("undecided: %d %s", code, out)
	}
	if code, out := run("--user", "nope"); code != 2 {
		t.Errorf("usage: %d %s", code, out)
	}
}

func TestDeviceRefusesReplaysAndFollowsKeyRotation(t *testing.T) {
	w := newDeviceWorld(t)
	store, _ := storeFor(t)
	// Capture a live answer, as a man in the middle would.
	var captured []byte
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/keys" { // the device refreshes its key set; passed through
			resp, err := http.Get(w.primary.url + r.URL.Path)
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			io.Copy(rw, resp.Body)
			return
		}
		if captured != nil {
			rw.Write(captured)
			return
		}
		resp, err := http.Post(w.primary.url+r.URL.Path, "application/json", r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		captured, _ = io.ReadAll(resp.Body)
		rw.Write(captured)
	}))
	defer proxy.Close()
	if o := check(t, w.config(proxy.URL, "", store)); !o.Licensed {
		t.Fatal(o)
	}
	w.clock.Add(time.Hour)
	if o := check(t, w.config(w.primary.url, "", store)); !o.Licensed {
		t.Fatal(o)
	}
	if o := check(t, w.config(proxy.URL, "", store)); o.Source == client.SourcePrimary || !hasStep(o, client.ErrReplayed) {
		t.Errorf("a replayed older answer was believed: %+v", o)
	}

	// Keys fetched and pinned; the server rotates; the device follows.
	pinnedStore, _ := storeFor(t)
	cfg := w.config(w.primary.url, "", pinnedStore)
	cfg.Keys, cfg.AllowInsecureKeyFetch = nil, true
	if o := check(t, cfg); !o.Licensed {
		t.Fatal(o)
	}
	w.primary.mustLicet("keys", "rotate")
	if o := check(t, cfg); !o.Licensed || o.Source != client.SourcePrimary {
		t.Errorf("after a key rotation: %+v", o)
	}
}
