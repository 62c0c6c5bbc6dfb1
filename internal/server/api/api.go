// Package api serves licet's JSON API under /v1/: the vendor's operator
// (the operator token) and organizations' administrators (their lca_ API
// tokens) manage organizations, pools, users, license types, offline
// licenses, keys, secrets, single sign-on, mail and privacy requests. Each
// route says where it is registered who may call it (adminMay,
// vendorOnly). It also serves the public keys, GET /v1/keys.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/internal/secrets"
	"github.com/licet/licet/internal/server/web"
	"github.com/licet/licet/internal/sso"
	"golang.org/x/time/rate"
)

// Store is what the API reads and changes.
type Store interface {
	AdminByToken(ctx context.Context, hash string) (*licet.Admin, error)

	Organizations(ctx context.Context) ([]*licet.Organization, error)
	Organization(ctx context.Context, id string) (*licet.Organization, error)
	CreateOrganization(ctx context.Context, org *licet.Organization, actor string) error
	UpdateOrganization(ctx context.Context, id string, p licet.SettingsPatch, actor string) (*licet.Organization, error)
	SeatCounts(ctx context.Context, orgID string) ([]licet.SeatCount, error)
	NotificationRecipients(ctx context.Context, orgID string) ([]licet.Recipient, error)
	Pools(ctx context.Context, orgID string) ([]licet.Pool, error)
	AddPool(ctx context.Context, p *licet.Pool, actor string) error
	UpdatePool(ctx context.Context, orgID string, poolID int64, c licet.PoolChange, actor string) (*licet.Pool, error)
	LicenseTypes(ctx context.Context) ([]licet.LicenseType, error)
	PutLicenseType(ctx context.Context, t licet.LicenseType, actor string) error

	Users(ctx context.Context, orgID string, f licet.UserFilter) ([]*licet.User, int, error)
	User(ctx context.Context, orgID, userID string) (*licet.User, error)
	ChangeUser(ctx context.Context, orgID, userID string, action licet.UserAction, licenseType, actor string) (*licet.User, error)
	ChangeUsers(ctx context.Context, orgID string, userIDs []string, action licet.UserAction, licenseType, actor string) ([]*licet.User, error)
	Audit(ctx context.Context, orgID string, f licet.AuditFilter) ([]licet.AuditEvent, error)
	UserRecord(ctx context.Context, orgID, userID string) (*licet.UserRecord, error)
	EraseAddress(ctx context.Context, address string) (*licet.Erasure, error)

	AddAdmin(ctx context.Context, orgID, email, linkHash string, expires time.Time, actor string) (*licet.Admin, error)
	RemoveAdmin(ctx context.Context, orgID, email, actor string) error

	OfflineConfig(ctx context.Context, orgID string) (*licet.OfflineConfig, error)
	SetOfflineConfig(ctx context.Context, orgID string, c licet.OfflineConfig, setAuth bool, actor string) error
	OfflineHistory(ctx context.Context, orgID string, limit int) ([]licet.OfflineIssue, error)
	OfflineDocument(ctx context.Context, orgID string) (*licet.OfflineIssue, error)

	SSOProviders(ctx context.Context) ([]*licet.SSOProvider, error)
	SSOProvider(ctx context.Context, id string) (*licet.SSOProvider, error)
	PutSSOProvider(ctx context.Context, p *licet.SSOProvider, actor string) error
	DeleteSSOProvider(ctx context.Context, id, actor string) error

	Mails(ctx context.Context, status string, limit int) ([]*licet.Mail, error)
	SealSecrets(ctx context.Context) (int, error)
	Snapshot(ctx context.Context, path string) error
}

// Config is what the API is made of.
type Config struct {
	Store   Store
	Keys    *keys.Ring
	Secrets *secrets.Box     // seals what the database keeps secret
	Offline *offline.Service // offline licenses: issue, test, changes
	SSO     *sso.Service     // nil: single sign-on is not set up
	Clock   licet.Clock
	Logger  *slog.Logger
	Errors  *web.Errors
	// ReadOnly refuses every change (a backup server).
	ReadOnly bool
	// TokenHash is the SHA-256 of the operator token.
	TokenHash []byte
	// PublicURL is this server's public URL (the invitation links);
	// BackupURL the backup's (on the primary), PrimaryURL the primary's
	// (on a backup): both are named in allow lists.
	PublicURL, BackupURL, PrimaryURL string
}

// API is the JSON API's handlers.
type API struct {
	Config
	offlineTests *web.Limiter // backend tests per organization
	// offlineIssues bounds administrators' Updates per organization (each
	// sends PUT, MOVE and GET to the backend and adds a history row).
	offlineIssues *web.Limiter
	rotating      sync.Mutex
}

// New returns the API.
func New(c Config) *API {
	return &API{Config: c, offlineTests: web.NewLimiter(rate.Every(20*time.Second), 3),
		offlineIssues: web.NewLimiter(rate.Every(10*time.Second), 6)}
}

// Routes registers the API on mux: GET /v1/keys for anyone, every other
// route for the operator token or an administrator's API token.
func (s *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/keys", s.handleKeys)

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
	op.Handle("GET /v1/orgs/{org}/offline/license", adminMay(s.DownloadOffline))
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
	op.Handle("GET /v1/sso", vendor(s.listSSO))
	op.Handle("GET /v1/sso/{id}", vendor(s.showSSO))
	op.Handle("PUT /v1/sso/{id}", vendor(s.putSSO))
	op.Handle("DELETE /v1/sso/{id}", vendor(s.deleteSSO))
	for _, p := range []string{"/v1/orgs", "/v1/orgs/", "/v1/license-types", "/v1/license-types/", "/v1/keys/rotate", "/v1/keys/",
		"/v1/backup", "/v1/mail", "/v1/privacy/", "/v1/secrets/", "/v1/sso", "/v1/sso/"} {
		mux.Handle(p, s.authenticate(op))
	}
}

// error answers with a JSON error; internal errors are logged, not shown.
func (s *API) error(w http.ResponseWriter, r *http.Request, err error) { s.Errors.Write(w, r, err) }

// writable refuses a change on a read-only server before any work.
func (s *API) writable() error { return web.Writable(s.ReadOnly) }
