package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number.
func writeCert(t *testing.T, dir string, serial int64) (string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "licet test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Write the key first: the reloader must never pair a new cert with an
	// old key for good (it retries on the next change).
	os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(cert+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.Rename(keyFile+".tmp", keyFile)
	os.Rename(cert+".tmp", cert)
	return cert, keyFile
}

func servedSerial(t *testing.T, url string) (int64, http.Header) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	resp, err := c.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), resp.Header
}

func TestTLSServesAndReloads(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, 1)
	s := start(t, "", nil, "--tls-cert", cert, "--tls-key", key)
	url := strings.Replace(s.url, "http://", "https://", 1)
	serial, h := servedSerial(t, url)
	if serial != 1 || !strings.Contains(h.Get("Strict-Transport-Security"), "max-age") {
		t.Fatalf("serial %d, HSTS %q", serial, h.Get("Strict-Transport-Security"))
	}
	time.Sleep(10 * time.Millisecond)
	writeCert(t, dir, 2)
	deadline := time.Now().Add(10 * time.Second)
	for serial != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not picked up")
		}
		time.Sleep(200 * time.Millisecond)
		serial, _ = servedSerial(t, url)
	}
	// A broken pair keeps the good certificate in service.
	os.WriteFile(cert, []byte("not a certificate"), 0o600)
	time.Sleep(2500 * time.Millisecond)
	if serial, _ = servedSerial(t, url); serial != 2 {
		t.Errorf("after a broken file: serial %d", serial)
	}
}

// A flood of new devices from one organization is cut by its own limit
// (--rate-org 20: bursts of 40) while another organization's new devices
// are served. The server's clock stands still, so the limit refills
// nothing while the flood lasts: how fast the machine answers does not
// decide how many get through. (On real time, a machine slower than 20
// checks a second never reaches the limit, and rightly so.)
func TestRateLimitPerOrganization(t *testing.T) {
	const burst = 40
	s := start(t, "", storetest.NewClock(time.Now().UTC().Truncate(time.Second)), "--rate-org", "20", "--rate-device", "0")
	flood, calm := s.newOrg(1, 1000), s.newOrg(2, 1000)
	// One check each fills the organizations' caches, as on any server
	// that has been running (a flood on a cold cache waits for the
	// database, and a machine slow enough answers 503 within the store's
	// timeout instead).
	if a := s.check(flood, guid('u', 999)); a.HTTP != 200 {
		t.Fatalf("the flooding organization's first check: %+v", a)
	}
	if a := s.check(calm, guid('u', 1000)); a.HTTP != 200 || a.Status != licet.StatusLicensed {
		t.Fatalf("the calm organization's first check: %+v", a)
	}
	var mu sync.Mutex
	codes := map[int]int{}
	noRetry := 0
	var wg sync.WaitGroup
	for i := range 2 * burst {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", s.url+"/v1/license/check", strings.NewReader(`{"organizationId":"`+flood+`","userId":"`+guid('u', i)+`","deviceId":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
				noRetry++ // every 429 says when to come back
			}
		})
	}
	calmOK := 0
	for i := range 10 {
		if a := s.check(calm, guid('u', 1001+i)); a.HTTP == 200 && a.Status == licet.StatusLicensed {
			calmOK++
		} else {
			t.Logf("the calm organization's check %d: %+v", i, a)
		}
	}
	wg.Wait()
	// The first check took one of the burst; the rest of it is answered,
	// and the others are refused. A 503 is a check the database did not
	// answer within the store's timeout (a machine that slow), before or
	// after the limit.
	switch {
	case codes[200] == 0 || codes[429] == 0:
		t.Errorf("flooding organization: %v; want some 200 then 429", codes)
	case codes[200] > burst-1:
		t.Errorf("flooding organization: %v; more than the burst's %d answered", codes, burst-1)
	case codes[200]+codes[429]+codes[503] != 2*burst:
		t.Errorf("flooding organization: %v; want only 200, 429 (and 503)", codes)
	case codes[503] == 0 && codes[200] != burst-1:
		t.Errorf("flooding organization: %v; want the burst's %d answered, then 429", codes, burst-1)
	}
	if noRetry > 0 {
		t.Errorf("%d answers 429 without Retry-After", noRetry)
	}
	if calmOK != 10 {
		t.Errorf("the calm organization got %d of 10 answers during the flood", calmOK)
	}
}

func TestKeyRotationKeepsOldLeasesValid(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 5)
	old := s.check(org, guid('u', 1))
	s.mustLicet("keys", "rotate")
	fresh := s.check(org, guid('u', 2))
	if fresh.KeyID == old.KeyID {
		t.Fatal("still signing with the old key after rotate")
	}
	s.lease(old) // verifies with the old key, still published
	if _, err := s.licet("keys", "retire", fresh.KeyID); err == nil || !strings.Contains(err.Error(), "rotate first") {
		t.Errorf("retiring the active key: %v", err)
	}
	s.mustLicet("keys", "retire", old.KeyID)
	if strings.Count(s.mustLicet("keys", "public"), "BEGIN PUBLIC KEY") != 1 {
		t.Error("the retired key is still published")
	}
	if _, err := os.Stat(filepath.Join(s.dir, "keys", "retired", old.KeyID+".pem")); err != nil {
		t.Errorf("retired key not kept: %v", err)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	s := start(t, "", nil, "--log-level", "debug", "--offline-allow-private")
	org := s.newOrg(1, 5, "--offline=true")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw"), []byte("hunter2-backend-password"), 0o600)
	s.mustLicet("offline", "set", "--org", org, "--backend", "http://127.0.0.1:1/x.lic", "--backend-user", "u", "--backend-password-file", filepath.Join(dir, "pw"))
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
	s.licet("offline", "issue", "--org", org) // the upload fails and is logged
	s.op("GET", "/v1/orgs", "lct_wrong-token-attempt", "", "")
	s.check(org, guid('u', 1))
	keyPEM, _ := os.ReadFile(filepath.Join(s.dir, "keys", strings.TrimSpace(readFile(t, filepath.Join(s.dir, "keys", "active")))+".pem"))
	keyBody := strings.Split(string(keyPEM), "\n")[3] // a line of the key's base64
	s.stop()                                          // the log is flushed
	logs := s.logs.String()
	for name, secret := range map[string]string{"operator token": s.token(), "wrong token": "lct_wrong-token-attempt",
		"backend password": "hunter2-backend-password", "signing key": keyBody} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the log", name)
		}
	}
	if !strings.Contains(logs, "offline license upload failed") {
		t.Error("the log lacks the upload failure (is it captured at all?)")
	}
}

func readFile(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// burst sends new users' checks until stop closes, and returns the users
// a Licensed answer was acknowledged to.
func burst(s *server, org string, stop chan struct{}) []string {
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u := guid('u', w*100_000+i)
				resp, err := http.Post(s.url+"/v1/license/check", "application/json",
					strings.NewReader(`{"organizationId":"`+org+`","userId":"`+u+`","deviceId":"d"}`))
				if err != nil {
					continue
				}
				var a struct{ Status licet.Status }
				jsonDecode(resp, &a)
				if a.Status == licet.StatusLicensed {
					mu.Lock()
					acked = append(acked, u)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return acked
}

func TestKill9MidBurstLosesNoAcknowledgedSeat(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "licet.db")
	p := startProcess(t, dir, db, "--rate-org", "0")
	org := p.newOrg(1, 2000)
	stop := make(chan struct{})
	var acked []string
	done := make(chan struct{})
	go func() { acked = burst(p, org, stop); close(done) }()
	time.Sleep(300 * time.Millisecond)
	p.kill(syscall.SIGKILL)
	close(stop)
	<-done
	if len(acked) == 0 {
		t.Fatal("no assignment was acknowledged before the kill; the test proves nothing")
	}
	checkDB(t, db)
	p2 := startProcess(t, dir, db)
	var users []licet.User
	mustJSON(t, p2.mustLicet("user", "list", "--org", org, "--state", "licensed", "--json"), &users)
	have := map[string]bool{}
	for _, u := range users {
		have[u.ID] = true
	}
	for _, u := range acked {
		if !have[u] {
			t.Errorf("acknowledged assignment of %s lost in the crash", u)
		}
	}
	if len(users) > 2000 {
		t.Errorf("%d licensed users on 2000 seats", len(users))
	}
	t.Logf("%d assignments acknowledged before kill -9, %d found after", len(acked), len(users))
}

func TestSIGTERMMidLoadLosesNothing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "licet.db")
	p := startProcess(t, dir, db, "--rate-org", "0", "--flush-interval", "1m")
	org := p.newOrg(1, 100_000)
	if a := p.check(org, guid('u', 9_999_999)); a.Status != licet.StatusLicensed {
		t.Fatal(a)
	}
	before := time.Now()
	p.check(org, guid('u', 9_999_999)) // a licensed check: its sighting waits in memory
	stop := make(chan struct{})
	var acked []string
	done := make(chan struct{})
	go func() { acked = burst(p, org, stop); close(done) }()
	time.Sleep(300 * time.Millisecond)
	p.kill(syscall.SIGTERM)
	close(stop)
	<-done
	checkDB(t, db)
	p2 := startProcess(t, dir, db)
	var users []licet.User
	mustJSON(t, p2.mustLicet("user", "list", "--org", org, "--state", "licensed", "--json"), &users)
	have := map[string]licet.User{}
	for _, u := range users {
		have[u.ID] = u
	}
	for _, u := range acked {
		if _, ok := have[u]; !ok {
			t.Errorf("acknowledged assignment of %s lost at SIGTERM", u)
		}
	}
	if u := have[guid('u', 9_999_999)]; u.LastSeen.Before(before.Add(-time.Second)) {
		t.Errorf("the buffered sighting was not written at shutdown: last seen %v", u.LastSeen)
	}
	if !strings.Contains(p.logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", p.logs)
	}
}

// checkDB runs SQLite's integrity check on a database no server has open.
func checkDB(t *testing.T, path string) {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check: %q %v", res, err)
	}
}
