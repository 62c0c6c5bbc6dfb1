package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/datadir"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/logbuf"
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
	"github.com/licet/licet/protocol"
	"golang.org/x/time/rate"
)

// serveConfig is "licet serve"'s configuration.
type serveConfig struct {
	listen, data, database string
	readOnly               bool
	smtpURL, mailFrom      string
	publicURL              string
	leaseDuration          time.Duration
	flushInterval          time.Duration
	logFormat, logLevel    string
	dbMaxConns             int
	dbStatementTimeout     time.Duration
	maxLag                 time.Duration
	backupLease            time.Duration
	hup                    <-chan os.Signal
	debugListen            string
	leaseReuse             time.Duration
	rateOrg, rateDevice    float64
	rateAdmissions         int // per minute per organization
	rateNewIP              int // per minute per source address
	alertRefusals          int
	tlsCert, tlsKey        string
	mailFirstRetry         time.Duration
	mailMaxBackoff         time.Duration
	mailMaxAttempts        int
	patroni                string
	cacheGrace             time.Duration
	dbPgBouncer            bool
	mailOrgHourly          int
	mailRetention          time.Duration
	auditRetention         time.Duration
	databaseFile           string
	smtpURLFile            string
	metricsListen          string
	backupURL, primaryURL  string
	offlineAllowPrivate    bool
	ssoAllowPrivate        bool
	offlineAutoInterval    time.Duration
}

func (p *Program) serve(ctx context.Context, args []string) error {
	// SIGHUP ("systemctl reload") must never kill the server: caught from
	// the very start, acted on once it serves.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	c := serveConfig{hup: hup}
	fs := p.flags("serve")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.data, "data", "./licet-data", "data folder: database, keys, operator token")
	fs.StringVar(&c.database, "database", "", "database: a SQLite file path (default <data>/licet.db), or postgres://user:pass@host:port/db")
	fs.IntVar(&c.dbMaxConns, "db-max-conns", 20, "PostgreSQL: connections in this process's pool")
	fs.DurationVar(&c.dbStatementTimeout, "db-statement-timeout", 5*time.Second, "PostgreSQL: the longest one statement may run")
	fs.StringVar(&c.patroni, "patroni", "", "PostgreSQL under Patroni: the members' REST APIs (http://host:8008,…); licet then writes only to the member Patroni names leader")
	fs.BoolVar(&c.dbPgBouncer, "db-pgbouncer", false, "PostgreSQL: --database names a PgBouncer in transaction pooling (no prepared statements or session settings; set statement_timeout on the role)")
	fs.DurationVar(&c.cacheGrace, "cache-grace", 2*time.Minute, "while the database cannot be reached, answer users that held a license from memory for up to this long (0: never)")
	fs.BoolVar(&c.readOnly, "read-only", false, "a backup server: confirm licenses, never assign or write")
	fs.StringVar(&c.smtpURL, "smtp-url", "", "SMTP server for notification mail: smtp://user:pass@host:port or smtps://…")
	fs.StringVar(&c.mailFrom, "mail-from", "", "sender address of notification mail")
	fs.StringVar(&c.publicURL, "public-url", "", "this server's public URL, named in leases and mail links (default http://<listen>)")
	fs.StringVar(&c.debugListen, "debug-listen", "", "serve Go's pprof profiles on this address (keep it on loopback; default off)")
	fs.DurationVar(&c.maxLag, "max-lag", 24*time.Hour, "read-only: while the data is further behind the primary than this, not ready and checks answer 503 (0: no bound)")
	fs.DurationVar(&c.backupLease, "backup-lease", protocol.DefaultBackupLeaseLength, "read-only: the longest lease this backup signs")
	fs.DurationVar(&c.leaseDuration, "lease-duration", 7*24*time.Hour, "how long a signed lease is valid")
	fs.DurationVar(&c.leaseReuse, "lease-reuse", 5*time.Minute, "send the same signed lease again to a device checking in within this time (0: sign every check)")
	fs.Float64Var(&c.rateOrg, "rate-org", 1000, "license checks per second one organization may get from devices that hold no license (bursts of twice that; 0: no limit)")
	fs.IntVar(&c.rateAdmissions, "rate-admissions", 60, "license checks that would write (assign, record, temporary) per minute per organization, unless the organization has its own (bursts of 10/3 of that; 0: no limit)")
	fs.IntVar(&c.rateNewIP, "rate-new-ip", 120, "license checks from devices that hold no license per minute per source address, an IPv6 /64 (bursts of 10/3 of that; 0: no limit)")
	fs.IntVar(&c.alertRefusals, "alert-refusals", 50, "refusals of new devices within a minute that send an organization the unusual-activity mail, at most once an hour (0: never)")
	fs.Float64Var(&c.rateDevice, "rate-device", 1, "license checks per second one user's device may make (bursts of 10; 0: no limit)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM); reloaded when the file changes or on SIGHUP")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the certificate's private key (PEM)")
	fs.DurationVar(&c.mailFirstRetry, "mail-first-retry", 5*time.Second, "first wait before sending a mail again (doubles each time)")
	fs.DurationVar(&c.mailMaxBackoff, "mail-max-backoff", time.Hour, "longest wait between attempts of one mail")
	fs.IntVar(&c.mailMaxAttempts, "mail-max-attempts", 12, "attempts before a mail is given up (it stays listed as failed)")
	fs.IntVar(&c.mailOrgHourly, "mail-org-hourly", 100, "notification mails one organization may send per hour; the rest wait, and assignments meanwhile join them (0: no cap)")
	fs.DurationVar(&c.mailRetention, "mail-retention", 90*24*time.Hour, "delete sent and failed mails this long after they were sent or given up (0: keep them)")
	fs.DurationVar(&c.auditRetention, "audit-retention", 0, "delete audit log entries older than this (0: keep them)")
	fs.BoolVar(&c.offlineAllowPrivate, "offline-allow-private", false, "allow offline-license backends and device locations on loopback and private addresses (on-premises backends)")
	fs.BoolVar(&c.ssoAllowPrivate, "sso-allow-private", false, "allow single sign-on providers (and the endpoints their discovery documents name) on loopback and private addresses (on-premises providers)")
	fs.DurationVar(&c.offlineAutoInterval, "offline-auto-interval", time.Minute, "how often automatic offline Updates are looked for")
	fs.DurationVar(&c.flushInterval, "flush-interval", time.Second, "how often sightings of licensed users are written")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: json, text, or auto (text on a terminal, else json)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.databaseFile, "database-file", "", "file holding --database (a postgres:// URL with its password stays out of ps and the environment)")
	fs.StringVar(&c.smtpURLFile, "smtp-url-file", "", "file holding --smtp-url (with its credentials)")
	fs.StringVar(&c.metricsListen, "metrics-listen", "", "serve /metrics on this address too, without a token (the main listener serves it only with the operator token)")
	fs.StringVar(&c.backupURL, "backup-url", "", "the read-only backup server's public URL, named in organizations' firewall allow lists")
	fs.StringVar(&c.primaryURL, "primary-url", "", "on a read-only backup: the primary's public URL, where its console sends administrators")
	if err := fs.parse(args); err != nil {
		return err
	}
	var warnings []string
	for _, f := range []secretFlag{{"database", &c.database, &c.databaseFile}, {"smtp-url", &c.smtpURL, &c.smtpURLFile}} {
		w, err := f.resolve()
		if err != nil {
			return err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	if c.smtpURL != "" {
		if _, err := mail.NewSMTP(c.smtpURL); err != nil { // a bad URL fails before anything is created
			return usagef("%v", err)
		}
	}
	// The first rule broken is told.
	for _, r := range []struct {
		broken bool
		msg    string
	}{
		{wildcard(c.listen) && c.publicURL == "" && c.smtpURL != "", "--listen " + c.listen + " is every address, so mail links need the URL users reach this server by: set --public-url"},
		{c.leaseDuration < time.Minute || c.leaseDuration > 366*24*time.Hour, "--lease-duration must be between 1m and 8784h"},
		{c.smtpURL != "" && c.mailFrom == "", "--smtp-url needs --mail-from"},
		{c.mailFirstRetry < 100*time.Millisecond || c.mailMaxBackoff < c.mailFirstRetry || c.mailMaxAttempts < 1, "--mail-first-retry must be at least 100ms, --mail-max-backoff at least that, --mail-max-attempts at least 1"},
		{c.mailOrgHourly < 0 || c.mailOrgHourly > 1_000_000, "--mail-org-hourly must be between 0 and 1000000"},
		{(c.mailRetention != 0 && c.mailRetention < time.Hour) || (c.auditRetention != 0 && c.auditRetention < 24*time.Hour), "--mail-retention must be 0 or at least 1h, --audit-retention 0 or at least 24h"},
		{c.rateOrg < 0 || c.rateDevice < 0 || c.rateAdmissions < 0 || c.rateNewIP < 0 || c.alertRefusals < 0, "--rate-org, --rate-device, --rate-admissions, --rate-new-ip and --alert-refusals must not be negative"},
		{(c.tlsCert == "") != (c.tlsKey == ""), "--tls-cert and --tls-key go together"},
		{c.leaseReuse < 0 || c.leaseReuse > c.leaseDuration/10, "--lease-reuse must be between 0 and a tenth of --lease-duration"},
		{c.offlineAutoInterval < 10*time.Millisecond || c.offlineAutoInterval > time.Hour, "--offline-auto-interval must be between 10ms and 1h"},
		{c.flushInterval < 10*time.Millisecond || c.flushInterval > time.Minute, "--flush-interval must be between 10ms and 1m"},
		{c.dbMaxConns < 1 || c.dbMaxConns > 1000, "--db-max-conns must be between 1 and 1000"},
		{c.dbStatementTimeout < 100*time.Millisecond || c.dbStatementTimeout > 10*time.Minute, "--db-statement-timeout must be between 100ms and 10m"},
		{c.cacheGrace < 0 || c.cacheGrace > 24*time.Hour, "--cache-grace must be between 0 and 24h"},
	} {
		if r.broken {
			return usagef("%s", r.msg)
		}
	}
	if c.patroni != "" {
		if !strings.HasPrefix(c.database, "postgres://") && !strings.HasPrefix(c.database, "postgresql://") {
			return usagef("--patroni needs a postgres:// --database")
		}
		if _, err := postgres.ParsePatroni(c.patroni); err != nil {
			return usagef("--patroni: %v", err)
		}
		if c.dbPgBouncer {
			return usagef("--patroni and --db-pgbouncer do not go together: licet follows the leader by the address it dials; put PgBouncer behind HAProxy's /primary check instead")
		}
	}
	if c.maxLag < 0 {
		return usagef("--max-lag must not be negative")
	}
	if c.backupLease < time.Minute || c.backupLease > protocol.MaxLeaseLength {
		return usagef("--backup-lease must be between 1m and %s", protocol.MaxLeaseLength)
	}
	if c.readOnly {
		// A backup's leases are short: a revocation on the primary reaches
		// devices through the backup within --max-lag plus this.
		c.leaseDuration = min(c.leaseDuration, c.backupLease)
		c.leaseReuse = min(c.leaseReuse, c.leaseDuration/10)
	}
	for _, u := range []struct{ name, v string }{{"public-url", c.publicURL}, {"backup-url", c.backupURL}, {"primary-url", c.primaryURL}} {
		if u.v == "" {
			continue
		}
		if err := licet.ValidURL(u.v); err != nil {
			return usagef("--%s: %s", u.name, licet.ErrorMessage(err))
		}
		// These URLs are shown: in leases, mail links, allow lists, pages.
		if pu, _ := url.Parse(u.v); pu.User != nil || pu.RawQuery != "" || pu.Fragment != "" {
			return usagef("--%s %q: a server's URL has no user, password, query or fragment", u.name, u.v)
		}
	}
	out := logbuf.New(p.Stderr, 100*time.Millisecond)
	defer out.Close()
	logger, err := p.logger(out, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	return p.runServer(ctx, c, logger)
}

func (p *Program) logger(out io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	if format == "auto" {
		format = "json"
		if f, ok := p.Stderr.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(out, o)), nil
	case "text":
		return slog.New(slog.NewTextHandler(out, o)), nil
	}
	return nil, usagef("--log-format %q: want json or text", format)
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
		ReadOnly: c.readOnly, TokenHash: d.tokenHash, MaxLag: c.maxLag, TLS: c.tlsCert != "", PublicURL: publicURL,
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
	if !c.readOnly {
		auto := offline.NewAuto(s.off)
		wg.Go(func() { auto.Run(flushCtx, c.offlineAutoInterval) })
	}
	if s.srv.Mail != nil && !c.readOnly {
		wg.Go(func() { s.srv.Mail.Run(flushCtx) })
	}
	if !c.readOnly && (c.mailRetention > 0 || c.auditRetention > 0) {
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
