// Package server is licet's HTTP layer put together: one Handler that
// routes to the four surfaces, each a package of its own (check: the
// device's license check; api: the JSON API; console: the administrators'
// HTML console; mailpage: the pages mails link to), behind the middleware
// every request passes (the request log, CSRF protection, plain text in
// paths and queries), with health, readiness and the metrics. It knows the
// domain and its interfaces, never a database.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/logbuf"
	"github.com/licet/licet/internal/mail"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/secrets"
	"github.com/licet/licet/internal/server/api"
	"github.com/licet/licet/internal/server/check"
	"github.com/licet/licet/internal/server/console"
	"github.com/licet/licet/internal/server/mailpage"
	"github.com/licet/licet/internal/server/web"
	"github.com/licet/licet/internal/sso"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits bound how often checks are answered (package check).
type Limits = check.Limits

// Server is licet's HTTP server: its configuration, from which Handler
// builds the four surfaces. Handler reads it once: set every field
// (Mail and SSO too) before calling it.
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
	// Proxies are the reverse proxies whose X-Forwarded-For names the
	// client's address (serve --trusted-proxies); none by default.
	Proxies web.TrustedProxies

	registry *prometheus.Registry
	errors   *web.Errors
}

// Handler returns the routed handler with its middleware: the device
// check (package check), the JSON API (api), the console (console) and
// the mail pages (mailpage), beside health, readiness and metrics.
func (s *Server) Handler() http.Handler {
	s.registry = prometheus.NewRegistry()
	dbErrors := prometheus.NewCounter(prometheus.CounterOpts{Name: "licet_database_errors_total",
		Help: "Requests answered 503 because the database could not be reached or timed out."})
	s.errors = &web.Errors{Logger: s.Logger, DBErrors: dbErrors}

	checks := check.New(check.Config{Service: s.Service, Store: s.Store, Logger: s.Logger, Errors: s.errors, Limits: s.Limits,
		ReadOnly: s.ReadOnly, MaxLag: s.MaxLag, Clock: s.Clock})
	v1 := api.New(api.Config{Store: s.Store, Keys: s.Keys, Secrets: s.Secrets, Offline: s.Offline, SSO: s.SSO, Clock: s.Clock,
		Logger: s.Logger, Errors: s.errors, ReadOnly: s.ReadOnly, TokenHash: s.TokenHash,
		PublicURL: s.PublicURL, BackupURL: s.BackupURL, PrimaryURL: s.PrimaryURL})
	admin := console.New(console.Config{Store: s.Store, API: v1, Offline: s.Offline, SSO: s.SSO, Clock: s.Clock, Logger: s.Logger,
		Errors: s.errors, ReadOnly: s.ReadOnly, TokenHash: s.TokenHash, PublicURL: s.PublicURL, PrimaryURL: s.PrimaryURL, TLS: s.TLS})
	mails := &mailpage.Pages{Store: s.Store, Mail: s.Mail, Clock: s.Clock, Errors: s.errors, ReadOnly: s.ReadOnly}

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
	s.registry.MustRegister(dbErrors,
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
	s.registry.MustRegister(checks.Collectors()...)
	s.registry.MustRegister(admin.Collectors()...)
	s.registry.MustRegister(pending, lag, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle("POST "+checkPath, checks)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { web.WriteJSON(w, 200, payload.Health{Status: "ok"}) })
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.operatorOnly(s.MetricsHandler()))
	v1.Routes(mux)
	mails.Routes(mux)
	admin.Routes(mux)

	// Browsers' cross-site writes are refused; devices and scripts send no
	// Sec-Fetch-Site or Origin and pass.
	routed := http.NewCrossOriginProtection().Handler(plainQuery(mux))
	return s.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A device's check, most of what the server answers, goes straight
		// to its handler when nothing on the way could stop it: the exact
		// path (plain text), no query, and neither header a browser sends
		// for the cross-origin check. It skips 3 % of a check's
		// instructions (docs/BENCHMARKS.md, sixth round).
		if r.Method == http.MethodPost && r.URL.Path == checkPath && r.URL.RawQuery == "" &&
			r.Header["Origin"] == nil && r.Header["Sec-Fetch-Site"] == nil {
			checks.ServeHTTP(w, r)
			return
		}
		routed.ServeHTTP(w, r)
	}))
}

// checkPath is where devices send their checks.
const checkPath = "/v1/license/check"

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
					err = web.PlainText(q)
				} else {
					err = licet.Errorf(licet.EINVALID, "the query string could not be read")
				}
			}
			if err != nil {
				if strings.HasPrefix(r.URL.Path, "/v1/") {
					web.WriteJSON(w, http.StatusBadRequest, payload.Error{Error: payload.ErrorDetail{Code: licet.EINVALID, Message: licet.ErrorMessage(err)}})
				} else {
					http.Error(w, licet.ErrorMessage(err), http.StatusBadRequest)
				}
				return
			}
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
		switch {
		case ok && strings.HasPrefix(tok, "lca_"):
			s.errors.Write(w, r, licet.Errorf(licet.EFORBIDDEN, "this is for the vendor's operator token"))
		case !ok || !web.IsOperatorToken(tok, s.TokenHash):
			w.Header().Set("WWW-Authenticate", `Bearer realm="licet operator"`)
			s.errors.Write(w, r, licet.Errorf(licet.EUNAUTHORIZED, "a valid operator token is required (or scrape --metrics-listen)"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Logger.Warn("not ready", "err", err)
		web.WriteJSON(w, http.StatusServiceUnavailable, payload.Readiness{Status: "not ready", Database: "unreachable"})
		return
	}
	body := payload.Readiness{Status: "ready", Database: "ok"}
	lag, known, err := s.Store.Lag(ctx)
	if err != nil {
		s.Logger.Warn("not ready: replication lag unknown", "err", err)
		web.WriteJSON(w, http.StatusServiceUnavailable, payload.Readiness{Status: "not ready", Database: "replication lag unknown"})
		return
	}
	if known {
		seconds := lag.Seconds()
		body.ReplicationLagSeconds = &seconds
		if s.MaxLag > 0 && lag > s.MaxLag {
			body.Status = "not ready"
			body.Reason = fmt.Sprintf("replication lag %s exceeds the bound of %s", lag.Truncate(time.Millisecond), s.MaxLag)
			web.WriteJSON(w, http.StatusServiceUnavailable, body)
			return
		}
	}
	web.WriteJSON(w, http.StatusOK, body)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	id     [1]string // the X-Request-Id header's value
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
	// The server's own handler writes the line without making a Record.
	fast, _ := s.Logger.Handler().(*logbuf.Handler)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Behind a trusted proxy the client's address replaces the
		// proxy's for everything after: limits, alerts, sign-in
		// throttles and this line, which names the proxy too.
		var via string
		if s.Proxies != nil {
			if ip, ok := s.Proxies.Client(r.RemoteAddr, r.Header["X-Forwarded-For"]); ok {
				via, r.RemoteAddr = r.RemoteAddr, ip
			}
		}
		id := r.Header.Get("X-Request-Id") // canonical: Get need not allocate
		if !validRequestID(id) {
			id = newRequestID()
		}
		sw := &statusWriter{ResponseWriter: w, id: [1]string{id}} // one allocation for both
		w.Header()["X-Request-Id"] = sw.id[:]
		if s.TLS {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(sw, r)
		path := r.URL.Path
		if strings.HasPrefix(path, "/admin/invite/") {
			path = "/admin/invite/…" // the path is the secret
		}
		line := [...]slog.Attr{slog.String("id", id), slog.String("method", r.Method),
			slog.String("path", path), slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
			slog.Int64("duration_us", time.Since(start).Microseconds()), slog.String("remote", r.RemoteAddr), slog.String("via", via)}
		attrs := line[:len(line)-1]
		if via != "" {
			attrs = line[:]
		}
		if fast != nil {
			fast.Line(r.Context(), slog.LevelInfo, "request", attrs...)
		} else {
			s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}
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
	var b [32]byte
	id := append(append(b[:0], requestIDs.prefix...), '-')
	return string(strconv.AppendUint(id, requestIDs.n.Add(1), 36))
}
