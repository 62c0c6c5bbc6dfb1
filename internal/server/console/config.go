// Package console serves the administrators' HTML console under /admin/:
// sign-in (password, the operator token, an invitation link, single
// sign-on), the organizations' Mobile Users, Settings, Offline and Audit
// pages, passwords and API tokens. Pages are html/template files embedded
// here; forms post, then redirect with a notice code (notice.go).
package console

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/internal/server/api"
	"github.com/licet/licet/internal/server/web"
	"github.com/licet/licet/internal/sso"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Store is what the console reads and changes.
type Store interface {
	AdminByEmail(ctx context.Context, email string) (*licet.Admin, error)
	OperatorAdmin(ctx context.Context) (*licet.Admin, error)
	AdminByLink(ctx context.Context, linkHash string) (*licet.Admin, error)
	SetAdminPassword(ctx context.Context, linkHash, passwordHash string) (*licet.Admin, error)
	ChangeAdminPassword(ctx context.Context, adminID int64, passwordHash string) error
	CreateSession(ctx context.Context, hash string, adminID int64, ssoProvider string, expires time.Time) error
	SessionAdmin(ctx context.Context, hash string) (*licet.Admin, error)
	DeleteSession(ctx context.Context, hash string) error
	CreateAdminToken(ctx context.Context, adminID int64, ssoProvider, name, hash string) (*licet.AdminToken, error)
	AdminTokens(ctx context.Context, adminID int64) ([]licet.AdminToken, error)
	RevokeAdminToken(ctx context.Context, adminID, tokenID int64) error
	SSOProviders(ctx context.Context) ([]*licet.SSOProvider, error)
	SSORequired(ctx context.Context, orgs []string) (bool, error)

	Organization(ctx context.Context, id string) (*licet.Organization, error)
	UpdateOrganization(ctx context.Context, id string, p licet.SettingsPatch, actor string) (*licet.Organization, error)
	SeatCounts(ctx context.Context, orgID string) ([]licet.SeatCount, error)
	Pools(ctx context.Context, orgID string) ([]licet.Pool, error)
	LicenseTypes(ctx context.Context) ([]licet.LicenseType, error)
	NotificationRecipients(ctx context.Context, orgID string) ([]licet.Recipient, error)
	Users(ctx context.Context, orgID string, f licet.UserFilter) ([]*licet.User, int, error)
	ChangeUsers(ctx context.Context, orgID string, userIDs []string, action licet.UserAction, licenseType, actor string) ([]*licet.User, error)
	Audit(ctx context.Context, orgID string, f licet.AuditFilter) ([]licet.AuditEvent, error)
	OfflineConfig(ctx context.Context, orgID string) (*licet.OfflineConfig, error)
}

// Config is what the console is made of.
type Config struct {
	Store Store
	// API does what the console shares with the JSON API: the offline
	// settings, their rate limits and download, the allow list.
	API     *api.API
	Offline *offline.Service
	SSO     *sso.Service // nil: single sign-on is not set up
	Clock   licet.Clock
	Logger  *slog.Logger
	Errors  *web.Errors
	// ReadOnly: a backup server, whose console only says where the
	// primary's (PrimaryURL) is.
	ReadOnly bool
	// TokenHash is the SHA-256 of the operator token.
	TokenHash []byte
	// PublicURL is where the console's links point.
	PublicURL, PrimaryURL string
	// TLS says the server is served over TLS (secure cookies).
	TLS bool
}

// Console is the console's handlers.
type Console struct {
	Config
	logins        *loginThrottle
	loginByIP     *web.Limiter // the operator's token login
	ssoByIP       *web.Limiter // single sign-on starts
	hashes        *hashGate
	loginsRefused *prometheus.CounterVec
}

// New returns the console.
func New(c Config) *Console {
	return &Console{Config: c, logins: newLoginThrottle(), hashes: defaultHashGate(),
		loginByIP: web.NewLimiter(rate.Every(3*time.Second), 20),
		// Each start writes a pending sign-in and may fetch the provider's
		// discovery: bounded per source address. The answer needs no bound
		// of its own: without a live state it changes nothing.
		ssoByIP: web.NewLimiter(rate.Every(2*time.Second), 30),
		loginsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "licet_logins_refused_total",
			Help: "Console logins and password changes refused before checking the password: throttled (429) or busy hashing (503)."}, []string{"reason"})}
}

// Collectors are the console's metrics, for the server's registry.
func (s *Console) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.loginsRefused}
}

// error answers with a JSON error; internal errors are logged, not shown.
func (s *Console) error(w http.ResponseWriter, r *http.Request, err error) { s.Errors.Write(w, r, err) }

// writable refuses a change on a read-only server before any work.
func (s *Console) writable() error { return web.Writable(s.ReadOnly) }
