// Package server is licet's HTTP layer: the device's license check, the
// public keys, health and metrics, and the operator API. It knows the
// domain and its interfaces, never a database.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/mail"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/secrets"
	"github.com/licet/licet/internal/sso"
	"github.com/licet/licet/protocol"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
)

// MaxBody bounds every request body.
const MaxBody = 64 << 10

// Server serves licet's HTTP endpoints.
type Server struct {
	Service *licensing.Service
	Offline *offline.Service
	Mail    *mail.Dispatcher // nil without --smtp-url
	SSO     *sso.Service     // administrators' single sign-on
	Store   licet.Store
	Keys    *keys.Ring
	// Secrets seals what the database keeps secret (<data>/secrets.key).
	Secrets  *secrets.Box
	Logger   *slog.Logger
	Clock    licet.Clock
	ReadOnly bool
	// TokenHash is the SHA-256 of the operator token.
	TokenHash []byte
	// Limits bound checks per organization and per device.
	Limits Limits
	// PublicURL is where the console's links point.
	PublicURL string
	// BackupURL is the read-only backup server's public URL (on the
	// primary); PrimaryURL the primary's (on a backup, whose console
	// sends administrators there). Both are named in allow lists.
	BackupURL, PrimaryURL string
	// TLS says the server is served over TLS (for HSTS).
	TLS bool
	// MaxLag, when set, makes a read-only server not ready, and answer
	// license checks with 503, while its copy is further behind the
	// primary than this.
	MaxLag time.Duration

	registry      *prometheus.Registry
	checks        *prometheus.CounterVec
	latency       prometheus.Histogram
	limited       *prometheus.CounterVec
	dbErrors      prometheus.Counter
	loginsRefused *prometheus.CounterVec

	logins       *loginThrottle
	loginByIP    *limiter // the operator's token login
	ssoByIP      *limiter // single sign-on starts
	hashes       *hashGate
	orgLimit     *limiter // checks from devices that hold no license, per organization
	deviceLimit  *limiter
	newByIP      *limiter // checks from devices that hold no license, per source
	admissions   *limiter // checks that would write, per organization
	activity     activity
	offlineTests *limiter // backend tests per organization
	// offlineIssues bounds administrators' Updates per organization (each
	// sends PUT, MOVE and GET to the backend and adds a history row).
	offlineIssues *limiter
	rotating      sync.Mutex
	lag           *lagGuard
}

// Handler returns the routed handler with its middleware.
func (s *Server) Handler() http.Handler {
	s.registry = prometheus.NewRegistry()
	if s.ReadOnly {
		s.lag = &lagGuard{store: s.Store, max: s.MaxLag, retry: min(max(s.MaxLag/10, 10*time.Second), 5*time.Minute), logger: s.Logger}
	}
	s.orgLimit = newLimiter(s.Limits.OrgRate, s.Limits.OrgBurst)
	s.deviceLimit = newDeviceLimiter(s.Limits.DeviceRate, s.Limits.DeviceBurst)
	s.newByIP = newLimiter(s.Limits.NewIPRate, s.Limits.NewIPBurst)
	s.admissions = newLimiter(s.Limits.AdmissionRate, s.Limits.AdmissionBurst)
	s.offlineTests = newLimiter(rate.Every(20*time.Second), 3)
	s.offlineIssues = newLimiter(rate.Every(10*time.Second), 6)
	role := licet.RolePrimary
	if s.ReadOnly {
		role = licet.RoleBackup
	}
	s.checks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "licet_checks_total",
		Help: "License checks answered, by status (or error code) and by the server's role.", ConstLabels: prometheus.Labels{"source": role}}, []string{"status"})
	s.limited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "licet_rate_limited_total",
		Help: "License checks refused with 429, by limit."}, []string{"limit"})
	s.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "licet_check_duration_seconds",
		Help: "Time to answer a license check.", Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12)})
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "licet_sightings_pending",
		Help: "Sightings buffered in memory, not yet written."}, func() float64 { return float64(s.Service.Pending()) })
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "licet_replication_lag_seconds",
		Help: "How far this read-only server's data is behind the primary (-1 on a primary)."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		lag, known, err := s.Store.Lag(ctx)
		if err != nil || !known {
			return -1
		}
		return lag.Seconds()
	})
	counter := func(name, help string, v func(licensing.Stats) int64) prometheus.CounterFunc {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v(s.Service.Stats())) })
	}
	s.dbErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "licet_database_errors_total",
		Help: "Requests answered 503 because the database could not be reached or timed out."})
	s.registry.MustRegister(s.dbErrors,
		counter("licet_assignments_total", "Seats assigned automatically by checks.", func(st licensing.Stats) int64 { return st.Assigned }),
		counter("licet_temporary_licenses_total", "Temporary licenses granted by checks.", func(st licensing.Stats) int64 { return st.Temporary }),
		counter("licet_reclaims_total", "Seats of long-unused users moved to new users.", func(st licensing.Stats) int64 { return st.Reclaimed }),
		counter("licet_sightings_flushed_total", "Sightings of licensed users written in batches.", func(st licensing.Stats) int64 { return st.Flushed }),
		counter("licet_sighting_flush_errors_total", "Batches of sightings that could not be written (kept and retried).", func(st licensing.Stats) int64 { return st.FlushErrors }))
	outbox := func(status, help string) prometheus.GaugeFunc {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "licet_outbox_" + status, Help: help}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := s.Store.MailCounts(ctx)
			if err != nil {
				return -1
			}
			return float64(n[status])
		})
	}
	s.registry.MustRegister(outbox("pending", "Notification mails waiting to be sent (or retried)."),
		outbox("failed", "Notification mails given up (licet mail list --status failed)."))
	s.loginsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "licet_logins_refused_total",
		Help: "Console logins and password changes refused before checking the password: throttled (429) or busy hashing (503)."}, []string{"reason"})
	s.registry.MustRegister(s.checks, s.latency, pending, lag, s.limited, s.loginsRefused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/license/check", s.handleCheck)
	mux.HandleFunc("GET /v1/keys", s.handleKeys)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, payload.Health{Status: "ok"}) })
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.operatorOnly(s.MetricsHandler()))
	s.mailRoutes(mux)
	s.consoleRoutes(mux)

	// Who may call each route is said where it is registered: the
	// operator may call them all; an administrator's API token, only the
	// routes adminMay lets through, for its own organizations.
	op := http.NewServeMux()
	vendor, adminMay := s.vendorOnly, s.adminMay
	op.Handle("GET /v1/orgs", vendor(s.listOrgs))
	op.Handle("POST /v1/orgs", vendor(s.createOrg))
	op.Handle("GET /v1/orgs/{org}", adminMay(s.showOrg))
	op.Handle("PATCH /v1/orgs/{org}", adminMay(s.updateOrg))
	op.Handle("GET /v1/orgs/{org}/pools", adminMay(s.listPools))
	op.Handle("POST /v1/orgs/{org}/pools", vendor(s.addPool))
	op.Handle("PATCH /v1/orgs/{org}/pools/{pool}", vendor(s.updatePool))
	op.Handle("GET /v1/orgs/{org}/users", adminMay(s.listUsers))
	op.Handle("POST /v1/orgs/{org}/users", adminMay(s.addUser))
	op.Handle("POST /v1/orgs/{org}/users/batch", adminMay(s.changeUsers))
	op.Handle("GET /v1/orgs/{org}/users/{user}", adminMay(s.showUser))
	op.Handle("POST /v1/orgs/{org}/users/{user}/{action}", adminMay(s.changeUser))
	op.Handle("DELETE /v1/orgs/{org}/users/{user}", adminMay(s.deleteUser))
	op.Handle("GET /v1/orgs/{org}/users/{user}/export", adminMay(s.exportUser))
	op.Handle("GET /v1/orgs/{org}/audit", adminMay(s.listAudit))
	op.Handle("GET /v1/orgs/{org}/offline", adminMay(s.showOffline))
	op.Handle("PUT /v1/orgs/{org}/offline", adminMay(s.setOffline))
	op.Handle("POST /v1/orgs/{org}/offline/issue", adminMay(s.issueOffline))
	op.Handle("POST /v1/orgs/{org}/offline/test", adminMay(s.testOffline))
	op.Handle("GET /v1/orgs/{org}/offline/license", adminMay(s.downloadOffline))
	op.Handle("POST /v1/orgs/{org}/admins", vendor(s.addAdmin))
	op.Handle("DELETE /v1/orgs/{org}/admins/{email}", vendor(s.removeAdmin))
	op.Handle("GET /v1/license-types", vendor(s.listTypes))
	op.Handle("PUT /v1/license-types/{name}", vendor(s.putType))
	op.Handle("POST /v1/keys/rotate", vendor(s.rotateKeys))
	op.Handle("POST /v1/secrets/rotate", vendor(s.rotateSecrets))
	op.Handle("POST /v1/keys/{kid}/retire", vendor(s.retireKey))
	op.Handle("POST /v1/keys/{kid}/revoke", vendor(s.revokeKey))
	op.Handle("GET /v1/backup", vendor(s.backup))
	op.Handle("GET /v1/mail", vendor(s.listMail))
	op.Handle("POST /v1/privacy/erase", vendor(s.eraseAddress))
	s.ssoRoutes(mux, op)
	for _, p := range []string{"/v1/orgs", "/v1/orgs/", "/v1/license-types", "/v1/license-types/", "/v1/keys/rotate", "/v1/keys/", "/v1/backup", "/v1/mail", "/v1/privacy/", "/v1/secrets/"} {
		mux.Handle(p, s.operator(op))
	}

	// Browsers' cross-site writes are refused; devices and scripts send no
	// Sec-Fetch-Site or Origin and pass.
	return s.logRequests(http.NewCrossOriginProtection().Handler(plainQuery(mux)))
}

// plainText checks form and query values: valid UTF-8 and no NUL. Such
// bytes are never meaningful in a filter, a search or a form field;
// PostgreSQL refuses them with an error, SQLite cuts a pattern at a NUL.
func plainText(v url.Values) error {
	for k, vs := range v {
		for _, s := range append(vs, k) {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return licet.Errorf(licet.EINVALID, "the parameter %q holds invalid UTF-8 or a NUL byte", strings.ToValidUTF8(k, "?"))
			}
		}
	}
	return nil
}

// plainQuery answers 400 to any request whose path or query string cannot
// be read or holds invalid text (plainText), before any handler sees it:
// every path value (an SSO provider's ID, an e-mail), filter and search of
// the API, the console and the CSV export.
func plainQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if !utf8.ValidString(r.URL.Path) || strings.IndexByte(r.URL.Path, 0) >= 0 {
			err = licet.Errorf(licet.EINVALID, "the path holds invalid UTF-8 or a NUL byte")
		}
		if r.URL.RawQuery != "" || err != nil {
			if err == nil {
				var q url.Values
				if q, err = url.ParseQuery(r.URL.RawQuery); err == nil {
					err = plainText(q)
				} else {
					err = licet.Errorf(licet.EINVALID, "the query string could not be read")
				}
			}
			if err != nil {
				if strings.HasPrefix(r.URL.Path, "/v1/") {
					writeJSON(w, http.StatusBadRequest, payload.Error{Error: payload.ErrorDetail{Code: licet.EINVALID, Message: licet.ErrorMessage(err)}})
				} else {
					http.Error(w, licet.ErrorMessage(err), http.StatusBadRequest)
				}
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// parseForm parses a request's form (within the handler's body limit) and
// refuses invalid text in it (plainText).
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	return plainText(r.Form)
}

// operator admits requests bearing the operator token, and requests
// bearing an administrator's API token (lca_…), which each route then
// holds to its organizations (adminMay, vendorOnly).
func (s *Server) operator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		if ok && strings.HasPrefix(tok, "lca_") && len(tok) < 100 {
			a, err := s.Store.AdminByToken(r.Context(), tokenHash(tok))
			if err != nil {
				if licet.ErrorCode(err) != licet.EUNAVAILABLE {
					w.Header().Set("WWW-Authenticate", `Bearer realm="licet"`)
					err = licet.Errorf(licet.EUNAUTHORIZED, "a valid operator or administrator token is required")
				}
				s.error(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminKey, a)))
			return
		}
		h := sha256.Sum256([]byte(tok))
		if !ok || len(s.TokenHash) != len(h) || subtle.ConstantTimeCompare(h[:], s.TokenHash) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="licet operator"`)
			s.error(w, r, licet.Errorf(licet.EUNAUTHORIZED, "a valid operator token is required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// MetricsHandler serves the Prometheus metrics to anyone who reaches it:
// for --metrics-listen. It is ready once Handler has been called.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// operatorOnly admits requests bearing the operator token only (not an
// administrator's API token).
func (s *Server) operatorOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		h := sha256.Sum256([]byte(tok))
		switch {
		case ok && strings.HasPrefix(tok, "lca_"):
			s.error(w, r, licet.Errorf(licet.EFORBIDDEN, "this is for the vendor's operator token"))
		case !ok || len(s.TokenHash) != len(h) || subtle.ConstantTimeCompare(h[:], s.TokenHash) != 1:
			w.Header().Set("WWW-Authenticate", `Bearer realm="licet operator"`)
			s.error(w, r, licet.Errorf(licet.EUNAUTHORIZED, "a valid operator token is required (or scrape --metrics-listen)"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// adminMay lets the operator, and an administrator's API token for an
// organization it administers, call h; another organization is "not
// found", whether it exists or not.
func (s *Server) adminMay(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := r.Context().Value(adminKey).(*licet.Admin); ok && !administers(a, r) {
			s.error(w, r, licet.Errorf(licet.ENOTFOUND, "organization %q not found", r.PathValue("org")))
			return
		}
		h(w, r)
	})
}

// vendorOnly keeps h for the vendor's operator token: an administrator's
// API token is refused (on another organization's route, as adminMay
// refuses it).
func (s *Server) vendorOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := r.Context().Value(adminKey).(*licet.Admin)
		switch {
		case !ok:
			h(w, r)
		case r.PathValue("org") != "" && !administers(a, r):
			s.error(w, r, licet.Errorf(licet.ENOTFOUND, "organization %q not found", r.PathValue("org")))
		default:
			s.error(w, r, licet.Errorf(licet.EFORBIDDEN, "this call is for the vendor's operator token"))
		}
	})
}

// administers reports whether a administers the organization of r's path.
func administers(a *licet.Admin, r *http.Request) bool {
	org, ok := licet.ParseGUID(r.PathValue("org"))
	return ok && a.Administers(org)
}

// actor names who makes a change: the operator, or an administrator.
func actor(r *http.Request) string {
	if a, ok := r.Context().Value(adminKey).(*licet.Admin); ok {
		return a.Email
	}
	return licet.ActorOperator
}

func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.keysAnswer())
}

func (s *Server) keysAnswer() payload.Keys {
	a := payload.Keys{Keys: s.Keys.Public(), Revoked: s.Keys.Revoked(), KeySet: s.Keys.KeySet()}
	if a.Revoked == nil {
		a.Revoked = []protocol.RevokedKey{}
	}
	return a
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Logger.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, payload.Readiness{Status: "not ready", Database: "unreachable"})
		return
	}
	body := payload.Readiness{Status: "ready", Database: "ok"}
	lag, known, err := s.Store.Lag(ctx)
	if err != nil {
		s.Logger.Warn("not ready: replication lag unknown", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, payload.Readiness{Status: "not ready", Database: "replication lag unknown"})
		return
	}
	if known {
		seconds := lag.Seconds()
		body.ReplicationLagSeconds = &seconds
		if s.MaxLag > 0 && lag > s.MaxLag {
			body.Status = "not ready"
			body.Reason = fmt.Sprintf("replication lag %s exceeds the bound of %s", lag.Truncate(time.Millisecond), s.MaxLag)
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// backup streams a consistent snapshot of the database (SQLite) that
// "licet serve --read-only --database FILE" can serve.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	dir, err := os.MkdirTemp("", "licet-backup-")
	if err != nil {
		s.error(w, r, err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "licet.db")
	if err := s.Store.Snapshot(r.Context(), path); err != nil {
		s.error(w, r, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.error(w, r, err)
		return
	}
	defer f.Close()
	fi, _ := f.Stat()
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Disposition", `attachment; filename="licet.db"`)
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	if _, err := io.Copy(w, f); err != nil {
		s.Logger.Warn("backup download cut", "err", err)
	}
	s.Logger.Info("backup taken", "bytes", fi.Size())
}

func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request) {
	if s.ReadOnly {
		s.error(w, r, licet.Errorf(licet.EREADONLY, "this server is read-only; rotate keys on the primary"))
		return
	}
	k, err := s.Keys.Rotate()
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.Logger.Info("signing key rotated", "kid", k.ID)
	writeJSON(w, http.StatusOK, s.keysAnswer())
}

// rotateSecrets seals the database's secrets with a new key: the new key
// joins the file, every secret is sealed again in one transaction, then
// the old key leaves the file. A failure in between leaves both keys in
// the file, so it can be run again.
func (s *Server) rotateSecrets(w http.ResponseWriter, r *http.Request) {
	if err := s.writable(); err != nil {
		s.error(w, r, err)
		return
	}
	s.rotating.Lock()
	defer s.rotating.Unlock()
	old := s.Secrets.ActiveID()
	if err := s.Secrets.Rotate(); err != nil {
		s.error(w, r, err)
		return
	}
	n, err := s.Store.SealSecrets(r.Context())
	if err == nil {
		err = s.Secrets.Retain()
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.Logger.Info("secrets key rotated", "kid", s.Secrets.ActiveID(), "previous", old, "resealed", n)
	writeJSON(w, http.StatusOK, payload.SecretsRotation{KeyID: s.Secrets.ActiveID(), Previous: old, Resealed: n, File: s.Secrets.Path()})
}

func (s *Server) retireKey(w http.ResponseWriter, r *http.Request) {
	if s.ReadOnly {
		s.error(w, r, licet.Errorf(licet.EREADONLY, "this server is read-only; retire keys on the primary"))
		return
	}
	kid := r.PathValue("kid")
	if err := s.Keys.Retire(kid); err != nil {
		s.error(w, r, licet.Errorf(licet.ECONFLICT, "%s", err.Error()))
		return
	}
	s.Logger.Info("signing key retired", "kid", kid)
	writeJSON(w, http.StatusOK, s.keysAnswer())
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	if s.ReadOnly {
		s.error(w, r, licet.Errorf(licet.EREADONLY, "this server is read-only; revoke keys on the primary"))
		return
	}
	kid := r.PathValue("kid")
	if err := s.Keys.Revoke(kid, s.Clock.Now()); err != nil {
		s.error(w, r, licet.Errorf(licet.ECONFLICT, "%s", err.Error()))
		return
	}
	s.Logger.Warn("signing key revoked", "kid", kid)
	writeJSON(w, http.StatusOK, s.keysAnswer())
}

// unavailableRetry is the Retry-After of a 503: about what a database
// failover under Patroni takes to settle a first time.
const unavailableRetry = "2"

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	licet.EINVALID:      http.StatusBadRequest,
	licet.EUNAUTHORIZED: http.StatusUnauthorized,
	licet.EFORBIDDEN:    http.StatusForbidden,
	licet.ENOTFOUND:     http.StatusNotFound,
	licet.ECONFLICT:     http.StatusConflict,
	licet.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	licet.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	licet.ERATE:         http.StatusTooManyRequests,
	licet.EREADONLY:     http.StatusConflict,
	licet.EUNAVAILABLE:  http.StatusServiceUnavailable,
	licet.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatus maps an error to its HTTP status. A timed-out or cancelled
// database call is "unavailable", not an internal error.
func ErrorStatus(err error) (int, string) {
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, licet.EUNAVAILABLE
	}
	code := licet.ErrorCode(err)
	return statusOf[code], code
}

// error answers with a JSON error; internal errors are logged, not shown.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	status, code := s.logError(r, err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", unavailableRetry)
	}
	msg := licet.ErrorMessage(err)
	if code == licet.EUNAVAILABLE && msg == "internal error" {
		msg = "the service is temporarily unavailable; try again"
	}
	writeJSON(w, status, payload.Error{Error: payload.ErrorDetail{Code: code, Message: msg}})
}

// StatusClientClosed answers a request whose client hung up before the
// answer was ready (nginx's 499): nobody reads it, and it is no fault of
// the server's.
const StatusClientClosed = 499

// clientClosed is the code, in logs and metrics, of a request its client
// abandoned: counted apart from internal errors.
const clientClosed = "client_closed"

func (s *Server) logError(r *http.Request, err error) (int, string) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		s.Logger.Debug("client went away", "method", r.Method, "path", r.URL.Path)
		return StatusClientClosed, clientClosed
	}
	status, code := ErrorStatus(err)
	if code == licet.EUNAVAILABLE && s.dbErrors != nil {
		s.dbErrors.Inc()
	}
	if status >= 500 {
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return status, code
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// logRequests writes one line per request, with an ID the response
// carries too: never a header, body or token.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id") // canonical: Get need not allocate
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header()["X-Request-Id"] = []string{id}
		if s.TLS {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		path := r.URL.Path
		if strings.HasPrefix(path, "/admin/invite/") {
			path = "/admin/invite/…" // the path is the secret
		}
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("id", id), slog.String("method", r.Method),
			slog.String("path", path), slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
			slog.Int64("duration_us", time.Since(start).Microseconds()), slog.String("remote", r.RemoteAddr))
	})
}

// validRequestID accepts a caller's request ID only when it is short and
// plain, so that nothing hostile reaches the log.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

var requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func init() {
	b := make([]byte, 4)
	rand.Read(b)
	requestIDs.prefix = hex.EncodeToString(b)
}

// newRequestID is unique within a process and, by its random prefix,
// across processes.
func newRequestID() string {
	return requestIDs.prefix + "-" + strconv.FormatUint(requestIDs.n.Add(1), 36)
}
