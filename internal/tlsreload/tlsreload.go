package cli

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate in a pair of files and loads it
// again when either file changes (checked every few seconds) or on SIGHUP,
// so a renewed certificate needs no restart. A pair that fails to load
// leaves the previous one in use.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	mu                sync.RWMutex
	cert              *tls.Certificate
	stamp             string
}

func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) fileStamp() string {
	s := ""
	for _, f := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return s
}

func (r *certReloader) load() error {
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

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// watch reloads on change until stop closes.
func (r *certReloader) watch(stop <-chan struct{}) {
	t := time.NewTicker(2 * time.Second)
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
				r.reload("file changed")
			}
		}
	}
}

func (r *certReloader) reload(why string) {
	if err := r.load(); err != nil {
		r.logger.Error("TLS certificate not reloaded; keeping the previous one", "why", why, "err", err)
	} else {
		r.logger.Info("TLS certificate loaded", "why", why, "file", r.certFile)
	}
}

// reloadOnHUP reloads what can be reloaded on each SIGHUP until stop
// closes: the TLS pair (certs is nil without TLS). It logs every SIGHUP,
// so an operator's "systemctl reload" is seen to have been received.
func reloadOnHUP(hup <-chan os.Signal, stop <-chan struct{}, certs *certReloader, logger *slog.Logger) {
	for {
		select {
		case <-stop:
			return
		case <-hup:
			if certs == nil {
				logger.Info("SIGHUP received: nothing to reload (no --tls-cert); still serving")
				continue
			}
			certs.reload("SIGHUP")
		}
	}
}

func (r *certReloader) config() *tls.Config {
	return &tls.Config{GetCertificate: r.getCertificate, MinVersion: tls.VersionTLS12,
		// TLS 1.2: AEAD suites with forward secrecy only (no CBC, no SHA-1
		// MACs, no RSA key exchange). TLS 1.3's suites are all AEAD.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		}}
}
