package cli

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
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

// watch reloads on change or SIGHUP until stop closes.
func (r *certReloader) watch(stop <-chan struct{}) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-hup:
		case <-t.C:
			r.mu.RLock()
			same := r.stamp == r.fileStamp()
			r.mu.RUnlock()
			if same {
				continue
			}
		}
		if err := r.load(); err != nil {
			r.logger.Error("TLS certificate not reloaded; keeping the previous one", "err", err)
		} else {
			r.logger.Info("TLS certificate loaded", "file", r.certFile)
		}
	}
}

func (r *certReloader) config() *tls.Config {
	return &tls.Config{GetCertificate: r.getCertificate, MinVersion: tls.VersionTLS12}
}
