// Package check serves the device's license check, POST /v1/license/check:
// the body read strictly (a fast scanner for the common XML and JSON, the
// standard decoders for the rest), the rate limits that keep strangers
// from costing anything, the backup's bound on its lag, and the answer
// written in one piece. It is licet's hot path.
package check

import (
	"context"
	"log/slog"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/server/web"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Store is what the check reads besides the licensing service: how far a
// read-only server's copy is behind, and where an abuse alert is queued.
type Store interface {
	Lag(ctx context.Context) (time.Duration, bool, error)
	AlertActivity(ctx context.Context, orgID string, rep licet.ActivityReport, now time.Time) (bool, error)
}

// Limits bound how often checks are answered, per organization and per
// device, so that a flood from one organization or one broken device is
// refused with 429 before it costs anything, and others are not slowed.
type Limits struct {
	OrgRate, DeviceRate   rate.Limit // checks per second; 0: no limit
	OrgBurst, DeviceBurst int
	// NewIPRate bounds checks from devices that hold no license per source
	// address (an IPv6 /64); AdmissionRate the checks that would write,
	// per organization, unless the organization has its own setting.
	NewIPRate, AdmissionRate   rate.Limit // per second; 0: no limit
	NewIPBurst, AdmissionBurst int
	// AlertRefusals is how many refusals of new devices within a minute
	// make an organization's administrators get the "unusual license
	// activity" mail (0: never).
	AlertRefusals int
}

// Config is what a Handler is made of.
type Config struct {
	Service *licensing.Service
	Store   Store
	Logger  *slog.Logger
	Errors  *web.Errors
	Limits  Limits
	// ReadOnly: a backup server (its metrics say so). MaxLag, when set on
	// a read-only server, makes it answer 503 while its copy is further
	// behind the primary than this.
	ReadOnly bool
	MaxLag   time.Duration
	// Clock is the time the rate limits run on (nil: the system's).
	Clock licet.Clock
}

// Handler answers license checks.
type Handler struct {
	service *licensing.Service
	store   Store
	logger  *slog.Logger
	errors  *web.Errors
	limits  Limits
	maxLag  time.Duration
	lag     *lagGuard
	clock   licet.Clock

	orgLimit    *web.Limiter // checks from devices that hold no license, per organization
	deviceLimit *web.Limiter
	newByIP     *web.Limiter // checks from devices that hold no license, per source
	admissions  *web.Limiter // checks that would write, per organization
	activity    activity

	checks *prometheus.CounterVec
	// byStatus holds the counters of the statuses answered most, made
	// once: WithLabelValues hashes the label and takes a lock per call.
	byStatus map[licet.Status]prometheus.Counter
	latency  prometheus.Histogram
	limited  *prometheus.CounterVec
}

// New returns the check's handler.
func New(c Config) *Handler {
	h := &Handler{service: c.Service, store: c.Store, logger: c.Logger, errors: c.Errors, limits: c.Limits, maxLag: c.MaxLag,
		orgLimit:    web.NewLimiter(c.Limits.OrgRate, c.Limits.OrgBurst),
		deviceLimit: web.NewDeviceLimiter(c.Limits.DeviceRate, c.Limits.DeviceBurst),
		newByIP:     web.NewLimiter(c.Limits.NewIPRate, c.Limits.NewIPBurst),
		admissions:  web.NewLimiter(c.Limits.AdmissionRate, c.Limits.AdmissionBurst), clock: c.Clock}
	if h.clock == nil {
		h.clock = licet.SystemClock{}
	}
	role := licet.RolePrimary
	if c.ReadOnly {
		role = licet.RoleBackup
		h.lag = &lagGuard{store: c.Store, max: c.MaxLag, retry: min(max(c.MaxLag/10, 10*time.Second), 5*time.Minute), logger: c.Logger}
	}
	h.checks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "licet_checks_total",
		Help: "License checks answered, by status (or error code) and by the server's role.", ConstLabels: prometheus.Labels{"source": role}}, []string{"status"})
	h.byStatus = map[licet.Status]prometheus.Counter{}
	for _, st := range []licet.Status{licet.StatusLicensed, licet.StatusTemporary, licet.StatusNoLicenseAvailable, licet.StatusNotAssigned,
		licet.StatusUserDisabled, licet.StatusSubscriptionExpired, licet.StatusUnknownOrganization, licet.StatusReadOnlyServer} {
		h.byStatus[st] = h.checks.WithLabelValues(string(st))
	}
	h.limited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "licet_rate_limited_total",
		Help: "License checks refused with 429, by limit."}, []string{"limit"})
	h.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "licet_check_duration_seconds",
		Help: "Time to answer a license check.", Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12)})
	return h
}

// Collectors are the check's metrics, for the server's registry.
func (h *Handler) Collectors() []prometheus.Collector {
	return []prometheus.Collector{h.checks, h.latency, h.limited}
}
