package cli_test

import (
	"crypto/tls"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGHUP ("systemctl reload", which the shipped unit sends) never kills
// licet: without TLS it logs that there is nothing to reload; with TLS it
// reloads the pair. The real binary; then a clean stop, which writes the
// buffered sightings.
func TestSIGHUPNeverKills(t *testing.T) {
	s := startProcess(t, t.TempDir(), "")
	org := s.newOrg(1, 5)
	if a := s.check(org, guid('u', 1)); !a.Licensed {
		t.Fatalf("%+v", a)
	}
	for range 3 {
		if err := syscall.Kill(s.pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitLog(t, s, "SIGHUP received: nothing to reload")
	if code := get(t, s.url+"/healthz"); code != 200 {
		t.Fatalf("/healthz after SIGHUP: %d\n%s", code, s.logs)
	}
	if a := s.check(org, guid('u', 1)); !a.Licensed {
		t.Errorf("a check after SIGHUP: %+v", a)
	}
	s.stop() // fails the test unless the exit is clean
	if !strings.Contains(s.logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop after SIGHUP:\n%s", s.logs)
	}

	dir := t.TempDir()
	cert, key := writeCert(t, dir, 1)
	tls := startProcess(t, t.TempDir(), "", "--tls-cert", cert, "--tls-key", key)
	url := strings.Replace(tls.url, "http://", "https://", 1)
	if serial, _ := servedSerial(t, url); serial != 1 {
		t.Fatalf("serial %d", serial)
	}
	writeCert(t, dir, 2)
	syscall.Kill(tls.pid, syscall.SIGHUP)
	waitLog(t, tls, `"why":"SIGHUP"`)
	if serial, _ := servedSerial(t, url); serial != 2 {
		t.Errorf("after SIGHUP: serial %d", serial)
	}
}

func waitLog(t *testing.T, s *server, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", want, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TLS 1.2 offers AEAD suites only: a client that knows nothing but CBC
// cannot connect; one with GCM can.
func TestTLS12SuitesAreAEADOnly(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, 1)
	s := startProcess(t, t.TempDir(), "", "--tls-cert", cert, "--tls-key", key)
	addr := strings.TrimPrefix(s.url, "http://")
	dial := func(suites ...uint16) error {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: suites})
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, cs := range tls.InsecureCipherSuites() {
		if err := dial(cs.ID); err == nil {
			t.Errorf("TLS 1.2 with %s accepted", cs.Name)
		}
	}
	for _, cs := range tls.CipherSuites() {
		if strings.Contains(cs.Name, "CBC") && slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			if err := dial(cs.ID); err == nil {
				t.Errorf("TLS 1.2 with %s accepted", cs.Name)
			}
		}
	}
	if err := dial(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err != nil {
		t.Errorf("TLS 1.2 with ECDHE-ECDSA-AES128-GCM: %v", err)
	}
}
