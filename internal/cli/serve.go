package cli

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/logbuf"
	"github.com/licet/licet/internal/mail"
	"github.com/licet/licet/internal/postgres"
	"github.com/licet/licet/internal/server/web"
	"github.com/licet/licet/protocol"
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
	gcHeadroom             int // MiB
	trustedProxies         string
	proxies                web.TrustedProxies // trustedProxies, read
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
	fs.IntVar(&c.gcHeadroom, "gc-headroom", 64, "MiB of garbage the Go collector lets pile up before it runs, at least: a small heap is collected less often for at most this much memory; a heap larger than it is paced by Go alone (0: Go alone; GOGC, when set, wins)")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: json, text, or auto (text on a terminal, else json)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.databaseFile, "database-file", "", "file holding --database (a postgres:// URL with its password stays out of ps and the environment)")
	fs.StringVar(&c.smtpURLFile, "smtp-url-file", "", "file holding --smtp-url (with its credentials)")
	fs.StringVar(&c.metricsListen, "metrics-listen", "", "serve /metrics on this address too, without a token (the main listener serves it only with the operator token)")
	fs.StringVar(&c.backupURL, "backup-url", "", "the read-only backup server's public URL, named in organizations' firewall allow lists")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "reverse proxies in front of licet, comma-separated addresses and CIDR prefixes: from them the client's address is taken from X-Forwarded-For (default none: the TCP peer's)")
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
		{c.gcHeadroom < 0 || c.gcHeadroom > 1<<20, "--gc-headroom must be between 0 and 1048576 (MiB)"},
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
	var err error
	if c.proxies, err = web.ParseTrustedProxies(c.trustedProxies); err != nil {
		return usagef("--trusted-proxies: %v", err)
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
	case "json", "text":
		return slog.New(logbuf.NewHandler(out, format == "json", o)), nil
	}
	return nil, usagef("--log-format %q: want json or text", format)
}
