// Package tlsreload serves the certificate in a pair of PEM files and loads
// it again when either file changes or when asked (on SIGHUP), so a renewed
// certificate needs no restart. A pair that fails to load leaves the
// previous one in use.
package tlsreload

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Reloader holds the certificate of a pair of files.
type Reloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	mu                sync.RWMutex
	cert              *tls.Certificate
	stamp             string
}

// New loads the pair; it fails when the pair does not load.
func New(certFile, keyFile string, logger *slog.Logger) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, logger: logger}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reloader) fileStamp() string {
	s := ""
	for _, f := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return s
}

func (r *Reloader) load() error {
	stamp := r.fileStamp()
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	r.mu.Lock()
	r.cert, r.stamp = &c, stamp
	r.mu.Unlock()
	return nil
}

func (r *Reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// Watch reloads the pair when either file changes (checked every two
// seconds) until stop closes.
func (r *Reloader) Watch(stop <-chan struct{}) { r.watch(stop, 2*time.Second) }

func (r *Reloader) watch(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.mu.RLock()
			same := r.stamp == r.fileStamp()
			r.mu.RUnlock()
			if !same {
				r.Reload("file changed")
			}
		}
	}
}

// Reload loads the pair again and logs the outcome with why.
func (r *Reloader) Reload(why string) {
	if err := r.load(); err != nil {
		r.logger.Error("TLS certificate not reloaded; keeping the previous one", "why", why, "err", err)
	} else {
		r.logger.Info("TLS certificate loaded", "why", why, "file", r.certFile)
	}
}

// Config is a server configuration that serves the current certificate.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{GetCertificate: r.getCertificate, MinVersion: tls.VersionTLS12,
		// TLS 1.2: AEAD suites with forward secrecy only (no CBC, no SHA-1
		// MACs, no RSA key exchange). TLS 1.3's suites are all AEAD.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		}}
}
