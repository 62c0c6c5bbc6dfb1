// Package payload holds the shapes of licet's JSON API: what the operator
// and the administrators send and what the server answers, one type per
// request or answer. The server writes them and the command line reads
// them, so both agree on every field by construction.
//
// The field order of each answer is its order on the wire; answers that
// were once written from maps keep the maps' (alphabetical) order.
package payload

import (
	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/protocol"
)

// Error is every refused call's answer: {"error": {"code", "message"}}.
type Error struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's code (licet's error codes) and message.
type ErrorDetail struct {
	Code    string `json:"code" xml:"Code"`
	Message string `json:"message" xml:"Message"`
}

// Health is GET /healthz.
type Health struct {
	Status string `json:"status"`
}

// Readiness is GET /readyz. ReplicationLagSeconds is there when the
// database knows its lag (a read-only server's), Reason when the lag
// exceeds the bound.
type Readiness struct {
	Database              string   `json:"database"`
	Reason                string   `json:"reason,omitempty"`
	ReplicationLagSeconds *float64 `json:"replicationLagSeconds,omitempty"`
	Status                string   `json:"status"`
}

// Keys is GET /v1/keys (and the answer of rotating, retiring or revoking
// a key): the keys as PEM (for OpenSSL and scripts), the revoked keys, and
// the signed key set devices verify.
type Keys struct {
	Keys    []keys.Public            `json:"keys"`
	Revoked []protocol.RevokedKey    `json:"revoked"`
	KeySet  *protocol.KeySetEnvelope `json:"keySet"`
}

// SecretsRotation is the answer of POST /v1/secrets/rotate.
type SecretsRotation struct {
	KeyID    string `json:"keyId"`
	Previous string `json:"previousKeyId"`
	Resealed int    `json:"resealed"`
	File     string `json:"file"`
}

// OrgList is GET /v1/orgs.
type OrgList struct {
	Organizations []*licet.Organization `json:"organizations"`
}

// CreateOrg is POST /v1/orgs.
type CreateOrg struct {
	ID       string              `json:"id"`
	Name     string              `json:"name"`
	URL      string              `json:"url"`
	Settings licet.SettingsPatch `json:"settings"`
}

// OrgDetail is an organization with its seats and pools: GET and PATCH
// /v1/orgs/{org}.
type OrgDetail struct {
	*licet.Organization
	Seats []licet.SeatCount `json:"seats"`
	Pools []licet.Pool      `json:"pools"`
	// TemporaryAllowance is how many users may hold a temporary license
	// at once now (the vendor's temporaryMax, or its default).
	TemporaryAllowance int `json:"temporaryAllowance"`
	// Recipients says where each notification address stands (pending
	// confirmation, declined, unsubscribed, subscribed).
	Recipients []licet.Recipient `json:"notificationRecipients"`
	// Hosts is the organization's firewall allow list.
	Hosts []licet.Host `json:"hosts"`
}

// PoolList is GET /v1/orgs/{org}/pools.
type PoolList struct {
	Pools []licet.Pool `json:"pools"`
}

// Pool sells seats (POST /v1/orgs/{org}/pools) or changes a pool (PATCH
// /v1/orgs/{org}/pools/{pool}). Dates are YYYY-MM-DD in UTC; a pool is
// valid through the whole of its Until day.
type Pool struct {
	LicenseType string  `json:"licenseType"`
	Seats       *int    `json:"seats"`
	From        string  `json:"from"`
	Until       *string `json:"until"`
}

// UserPage is GET /v1/orgs/{org}/users: one page of the filtered users
// and how many match in all.
type UserPage struct {
	Offset int           `json:"offset"`
	Total  int           `json:"total"`
	Users  []*licet.User `json:"users"`
}

// AddUser is POST /v1/orgs/{org}/users.
type AddUser struct {
	UserID string `json:"userId"`
}

// ChangeUser is the optional body of POST
// /v1/orgs/{org}/users/{user}/{action}.
type ChangeUser struct {
	LicenseType string `json:"licenseType"`
}

// Batch does one action to many users, all or nothing: POST
// /v1/orgs/{org}/users/batch.
type Batch struct {
	Action      licet.UserAction `json:"action"`
	UserIDs     []string         `json:"userIds"`
	LicenseType string           `json:"licenseType"`
}

// BatchResult is the answer of a Batch.
type BatchResult struct {
	Changed int           `json:"changed"`
	Users   []*licet.User `json:"users"`
}

// AuditList is GET /v1/orgs/{org}/audit.
type AuditList struct {
	Events []licet.AuditEvent `json:"events"`
}

// LicenseTypeList is GET /v1/license-types.
type LicenseTypeList struct {
	LicenseTypes []licet.LicenseType `json:"licenseTypes"`
}

// PutLicenseType is PUT /v1/license-types/{name}.
type PutLicenseType struct {
	Includes []string `json:"includes"`
}

// Email names one address: POST /v1/privacy/erase, POST
// /v1/orgs/{org}/admins.
type Email struct {
	Email string `json:"email"`
}

// Invitation is the answer of POST /v1/orgs/{org}/admins: the
// administrator and a one-time link to set the password.
type Invitation struct {
	Admin   *licet.Admin `json:"admin"`
	Expires string       `json:"expires"`
	Link    string       `json:"link"`
}

// MailList is GET /v1/mail.
type MailList struct {
	Mails []*licet.Mail `json:"mails"`
}

// SSOList is GET /v1/sso.
type SSOList struct {
	Providers []*licet.SSOProvider `json:"providers"`
}

// SSOProvider is PUT /v1/sso/{id}: a single sign-on registration.
type SSOProvider struct {
	Issuer       string   `json:"issuer"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	Domains      []string `json:"domains"`
	Claim        string   `json:"claim"`
	ClaimValue   string   `json:"claimValue"`
	Orgs         []string `json:"orgs"`
	Required     bool     `json:"required"`
}

// OfflineView is GET /v1/orgs/{org}/offline: an organization's offline
// license settings, what an Update would change, and the issued documents.
type OfflineView struct {
	Enabled bool `json:"enabled"`
	*licet.OfflineConfig
	// DeviceLocation is where devices read the file: Location, or the
	// default beside the organization's URL.
	DeviceLocation string                `json:"deviceLocation"`
	Changes        *licet.OfflineChanges `json:"changes"`
	History        []licet.OfflineIssue  `json:"history"`
}

// Offline is PUT /v1/orgs/{org}/offline: it changes an organization's
// offline settings; nil fields stay. Credentials are write-only: give
// Username and Password, or BearerToken, or ClearCredentials; none of
// them keeps what is stored.
type Offline struct {
	BackendURL       *string `json:"backendUrl"`
	Username         string  `json:"username"`
	Password         string  `json:"password"`
	BearerToken      string  `json:"bearerToken"`
	ClearCredentials bool    `json:"clearCredentials"`
	ValidDays        *int    `json:"validDays"`
	Location         *string `json:"location"`
	AutoAllowed      *bool   `json:"autoUpdateAllowed"`
	AutoUpdate       *bool   `json:"autoUpdate"`
}
