package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/datadir"
	"github.com/licet/licet/internal/gcpace"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/mail"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/internal/postgres"
	"github.com/licet/licet/internal/retention"
	"github.com/licet/licet/internal/secrets"
	"github.com/licet/licet/internal/server"
	"github.com/licet/licet/internal/sqlite"
	"github.com/licet/licet/internal/sqlstore"
	"github.com/licet/licet/internal/sso"
	"github.com/licet/licet/internal/tlsreload"
	"golang.org/x/time/rate"
)

// runServer opens the data, builds the services on it and serves them
// until ctx ends.
func (p *Program) runServer(ctx context.Context, c serveConfig, logger *slog.Logger) error {
	// Listen first: a taken or bad address fails before anything is created.
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	var metricsLn net.Listener
	if c.metricsListen != "" {
		if metricsLn, err = net.Listen("tcp", c.metricsListen); err != nil {
			return usagef("--metrics-listen: %v", err)
		}
		defer metricsLn.Close()
	}
	d, err := p.openData(ctx, c, logger)
	if err != nil {
		return err
	}
	defer d.store.Close()
	publicURL := c.publicURL
	if publicURL == "" && c.tlsCert != "" {
		publicURL = "https://" + ln.Addr().String()
	} else if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	s, err := p.buildServices(ctx, c, logger, d, publicURL)
	if err != nil {
		return err
	}
	return p.serveHTTP(ctx, c, logger, ln, metricsLn, s)
}

// data is what a server opens in its data folder and database.
type data struct {
	store     *sqlstore.Store
	ring      *keys.Ring
	box       *secrets.Box
	tokenHash []byte // the operator token's
}

// openData checks the data folder (datadir.Check), opens the database, the signing keys
// and the secrets key, and makes the operator token on a first start.
func (p *Program) openData(ctx context.Context, c serveConfig, logger *slog.Logger) (_ *data, err error) {
	if !c.readOnly {
		if err := os.MkdirAll(c.data, 0o700); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
	}
	if err := datadir.Check(c.data, sqlitePath(c)); err != nil {
		return nil, err
	}
	store, err := p.openStore(ctx, c, logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			store.Close()
		}
	}()
	ring, err := keys.Open(filepath.Join(c.data, "keys"), !c.readOnly)
	if err != nil && c.readOnly {
		return nil, fmt.Errorf("signing keys: %w (a read-only server signs with the primary's keys: copy the primary's keys folder into its data folder)", err)
	} else if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	// The secrets the database keeps are sealed with <data>/secrets.key,
	// made on the first start; a database from before is sealed now.
	box, err := secrets.Open(filepath.Join(c.data, "secrets.key"), !c.readOnly)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	store.Sealer = box
	if !c.readOnly {
		n, err := store.SealSecrets(ctx)
		if err != nil {
			return nil, fmt.Errorf("secrets: %s", licet.ErrorMessage(err))
		}
		if n > 0 {
			logger.Info("secrets sealed", "count", n, "file", box.Path())
		}
	}
	tokenHash, err := datadir.OperatorToken(ctx, store, c.data, c.readOnly, logger)
	if err != nil {
		return nil, err
	}
	if wildcard(c.listen) && c.publicURL == "" {
		if err := offlineNeedsPublicURL(ctx, store, c.listen); err != nil {
			return nil, err
		}
	}
	return &data{store: store, ring: ring, box: box, tokenHash: tokenHash}, nil
}

// openStore opens the database the configuration names.
func (p *Program) openStore(ctx context.Context, c serveConfig, logger *slog.Logger) (*sqlstore.Store, error) {
	db := sqlitePath(c)
	if db == "" {
		var members []string
		if c.patroni != "" {
			members, _ = postgres.ParsePatroni(c.patroni) // checked with the flags
		}
		return postgres.Open(ctx, c.database, postgres.Options{Clock: p.Clock, ReadOnly: c.readOnly,
			MaxConns: c.dbMaxConns, StatementTimeout: c.dbStatementTimeout, Patroni: members, Logger: logger, PgBouncer: c.dbPgBouncer})
	}
	if c.readOnly {
		if _, err := os.Stat(db); err != nil {
			return nil, fmt.Errorf("read-only server: database %s: %w", db, err)
		}
	}
	return sqlite.Open(ctx, db, sqlite.Options{Clock: p.Clock, ReadOnly: c.readOnly})
}

// sqlitePath is the SQLite file the configuration names ("" for PostgreSQL).
func sqlitePath(c serveConfig) string {
	switch db := c.database; {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return ""
	case db == "":
		return filepath.Join(c.data, "licet.db")
	default:
		return strings.TrimPrefix(strings.TrimPrefix(db, "sqlite://"), "file:")
	}
}

// services are what a server runs on its data: the licensing service, the
// offline licenses, mail, and the HTTP server in front of them.
type services struct {
	d         *data
	publicURL string
	svc       *licensing.Service
	off       *offline.Service
	srv       *server.Server
}

// buildServices makes the services; nothing runs yet.
func (p *Program) buildServices(ctx context.Context, c serveConfig, logger *slog.Logger, d *data, publicURL string) (*services, error) {
	store := d.store
	svc := licensing.New(store, licensing.Config{Keys: d.ring, Clock: p.Clock, Logger: logger, LeaseLength: c.leaseDuration, LeaseReuse: c.leaseReuse,
		ReadOnly: c.readOnly, ServerURL: publicURL, FlushEvery: c.flushInterval, MaxPending: 50_000, StaleGrace: cmp.Or(c.cacheGrace, -1)})
	off := offline.New(store, d.ring, p.Clock, logger, c.offlineAllowPrivate)
	srv := &server.Server{Service: svc, Offline: off, Store: store, Keys: d.ring, Secrets: d.box, Logger: logger, Clock: p.Clock,
		ReadOnly: c.readOnly, TokenHash: d.tokenHash, MaxLag: c.maxLag, TLS: c.tlsCert != "", PublicURL: publicURL, Proxies: c.proxies,
		BackupURL: strings.TrimRight(c.backupURL, "/"), PrimaryURL: strings.TrimRight(c.primaryURL, "/"),
		Limits: server.Limits{OrgRate: rate.Limit(c.rateOrg), OrgBurst: int(2 * c.rateOrg), DeviceRate: rate.Limit(c.rateDevice), DeviceBurst: 10,
			AdmissionRate: rate.Limit(float64(c.rateAdmissions) / 60), AdmissionBurst: max(1, c.rateAdmissions*10/3),
			NewIPRate: rate.Limit(float64(c.rateNewIP) / 60), NewIPBurst: max(1, c.rateNewIP*10/3), AlertRefusals: c.alertRefusals}}
	if !c.readOnly {
		// Providers are reached as offline backends are: no redirects, no
		// proxy, and no private destination unless the vendor allows it.
		hc := offline.NewHTTPClient(c.ssoAllowPrivate)
		hc.Timeout = 10 * time.Second
		srv.SSO = sso.New(store, d.box.At(sqlstore.SSOSecretPlace), p.Clock, hc)
	}
	if c.smtpURL != "" {
		sender, err := mail.NewSMTP(c.smtpURL)
		if err != nil {
			return nil, usagef("%v", err)
		}
		secret, err := store.Secret(ctx, "mail-links")
		if err != nil {
			return nil, fmt.Errorf("mail link secret: %v", licet.ErrorMessage(err))
		}
		host := "licet"
		if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		srv.Mail = &mail.Dispatcher{Store: store, Sender: sender, Links: &mail.Links{Base: publicURL, Secret: secret},
			From: c.mailFrom, Host: host, Clock: p.Clock, Logger: logger,
			FirstRetry: c.mailFirstRetry, MaxBackoff: c.mailMaxBackoff, MaxAttempts: c.mailMaxAttempts, PerOrgHour: c.mailOrgHourly}
	}
	return &services{d: d, publicURL: publicURL, svc: svc, off: off, srv: srv}, nil
}

// serveHTTP runs the background work and serves until ctx ends, then
// shuts down: the last sightings are written before it returns.
func (p *Program) serveHTTP(ctx context.Context, c serveConfig, logger *slog.Logger, ln, metricsLn net.Listener, s *services) error {
	hs := &http.Server{
		Handler:           s.srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if metricsLn != nil {
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", s.srv.MetricsHandler())
		go (&http.Server{Handler: mmux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}).Serve(metricsLn)
		logger.Info("metrics serving", "addr", metricsLn.Addr().String())
	}
	if c.debugListen != "" {
		dl, err := net.Listen("tcp", c.debugListen)
		if err != nil {
			return fmt.Errorf("--debug-listen: %w", err)
		}
		defer dl.Close()
		dmux := http.NewServeMux()
		dmux.HandleFunc("/debug/pprof/", pprof.Index)
		dmux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dmux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go (&http.Server{Handler: dmux, ReadHeaderTimeout: 5 * time.Second}).Serve(dl)
		logger.Info("pprof serving", "addr", dl.Addr().String())
	}

	stopBackground := p.runBackground(ctx, c, logger, s)

	role := licet.RolePrimary
	if c.readOnly {
		role = licet.RoleBackup
	}
	logger.Info("licet serving", "addr", ln.Addr().String(), "role", role, "public_url", s.publicURL, "key", s.d.ring.Active().ID)
	if p.OnListen != nil {
		p.OnListen(ln.Addr().String())
	}
	var certs *tlsreload.Reloader
	if c.tlsCert != "" {
		var err error
		certs, err = tlsreload.New(c.tlsCert, c.tlsKey, logger)
		if err != nil {
			stopBackground()
			return err
		}
		stopWatch := make(chan struct{})
		defer close(stopWatch)
		go certs.Watch(stopWatch)
		hs.TLSConfig = certs.Config()
	}
	stopHUP := make(chan struct{})
	defer close(stopHUP)
	go reloadOnHUP(c.hup, stopHUP, certs, logger)
	errc := make(chan error, 1)
	go func() {
		if hs.TLSConfig != nil {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	stopBackground() // the last sightings are written before the store closes
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	logger.Info("stopped")
	return err
}

// runBackground starts the work beside serving: writing sightings,
// automatic offline Updates, sending mail, pruning. stop ends it and waits.
func (p *Program) runBackground(ctx context.Context, c serveConfig, logger *slog.Logger, s *services) (stop func()) {
	flushCtx, stopFlush := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.svc.Run(flushCtx) })
	if c.gcHeadroom > 0 {
		if os.Getenv("GOGC") != "" {
			logger.Info("GOGC is set: the collector is paced by it, not by --gc-headroom")
		} else {
			wg.Go(func() { gcpace.Run(flushCtx, uint64(c.gcHeadroom)<<20, 100*time.Millisecond) })
		}
	}
	if !c.readOnly {
		auto := offline.NewAuto(s.off)
		wg.Go(func() { auto.Run(flushCtx, c.offlineAutoInterval) })
	}
	if s.srv.Mail != nil && !c.readOnly {
		wg.Go(func() { s.srv.Mail.Run(flushCtx) })
	}
	if !c.readOnly {
		pr := &retention.Pruner{Store: s.d.store, Clock: p.Clock, Logger: logger, MailAge: c.mailRetention, AuditAge: c.auditRetention}
		pr.Once(ctx) // before serving: nothing past its time is shown
		wg.Go(func() { pr.Run(flushCtx, time.Hour) })
	}
	return func() {
		stopFlush()
		wg.Wait()
	}
}

// reloadOnHUP reloads what can be reloaded on each SIGHUP until stop
// closes: the TLS pair (certs is nil without TLS). It logs every SIGHUP,
// so an operator's "systemctl reload" is seen to have been received.
func reloadOnHUP(hup <-chan os.Signal, stop <-chan struct{}, certs *tlsreload.Reloader, logger *slog.Logger) {
	for {
		select {
		case <-stop:
			return
		case <-hup:
			if certs == nil {
				logger.Info("SIGHUP received: nothing to reload (no --tls-cert); still serving")
				continue
			}
			certs.Reload("SIGHUP")
		}
	}
}

// wildcard says whether a listen address is every address of the host
// (0.0.0.0, [::], :port): no URL can be made from it.
func wildcard(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
}

// offlineNeedsPublicURL refuses to start on a wildcard address without
// --public-url when an organization uses offline licenses: their
// administrators are sent to this server's console by URL.
func offlineNeedsPublicURL(ctx context.Context, store licet.Store, listen string) error {
	orgs, err := store.Organizations(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if o.Settings.Offline {
			return usagef("--listen %s is every address and organization %s uses offline licenses: set --public-url to the URL this server is reached by", listen, o.ID)
		}
	}
	return nil
}
