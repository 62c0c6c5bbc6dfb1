package tlsreload

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for name and its key.
func writePair(t *testing.T, certFile, keyFile, name string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func setup(t *testing.T, name string) (certFile, keyFile string, log *syncBuffer, logger *slog.Logger) {
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair(t, certFile, keyFile, name)
	log = &syncBuffer{}
	return certFile, keyFile, log, slog.New(slog.NewTextHandler(log, nil))
}

// served is the name in the certificate a TLS client is shown.
func served(t *testing.T, r *Reloader) string {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	go func() {
		defer s.Close()
		tls.Server(s, r.Config()).Handshake()
	}()
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return tc.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestNewServesThePair(t *testing.T) {
	certFile, keyFile, _, logger := setup(t, "one.example")
	r, err := New(certFile, keyFile, logger)
	if err != nil {
		t.Fatal(err)
	}
	if got := served(t, r); got != "one.example" {
		t.Fatalf("served %q", got)
	}
}

func TestNewRefusesABadPair(t *testing.T) {
	certFile, keyFile, _, logger := setup(t, "one.example")
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(certFile, keyFile, logger); err == nil || !strings.HasPrefix(err.Error(), "TLS certificate: ") {
		t.Fatalf("New with a bad key: %v", err)
	}
	if _, err := New(filepath.Join(t.TempDir(), "missing.pem"), keyFile, logger); err == nil {
		t.Fatal("New with a missing certificate succeeded")
	}
}

func TestConfigRefusesOldTLS(t *testing.T) {
	certFile, keyFile, _, logger := setup(t, "one.example")
	r, err := New(certFile, keyFile, logger)
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.Config()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x, want TLS 1.2", cfg.MinVersion)
	}
	c, s := net.Pipe()
	defer c.Close()
	go func() {
		defer s.Close()
		tls.Server(s, cfg).Handshake()
	}()
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err := tc.Handshake(); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
}

func TestWatchReloadsAChangedPair(t *testing.T) {
	certFile, keyFile, log, logger := setup(t, "one.example")
	r, err := New(certFile, keyFile, logger)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); r.watch(stop, 10*time.Millisecond) }()
	defer func() { close(stop); <-done }()
	writePair(t, certFile, keyFile, "two.example")
	// A file system with coarse times may keep the stamp: move it on.
	later := time.Now().Add(time.Minute)
	os.Chtimes(certFile, later, later)
	for deadline := time.Now().Add(10 * time.Second); served(t, r) != "two.example"; {
		if time.Now().After(deadline) {
			t.Fatalf("the renewed pair was not served within 10s; log:\n%s", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(log.String(), `msg="TLS certificate loaded" why="file changed"`) {
		t.Errorf("log:\n%s", log)
	}
}

func TestReloadKeepsThePreviousPairOnFailure(t *testing.T) {
	certFile, keyFile, log, logger := setup(t, "one.example")
	r, err := New(certFile, keyFile, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, []byte("half a renewal"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Reload("SIGHUP")
	if got := served(t, r); got != "one.example" {
		t.Fatalf("after a failed reload served %q", got)
	}
	if !strings.Contains(log.String(), `msg="TLS certificate not reloaded; keeping the previous one" why=SIGHUP`) {
		t.Errorf("log:\n%s", log)
	}
	writePair(t, certFile, keyFile, "two.example")
	r.Reload("SIGHUP")
	if got := served(t, r); got != "two.example" {
		t.Fatalf("after a good reload served %q", got)
	}
}
