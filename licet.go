// Package licet is the domain of the licensing service: organizations, the
// pools of seats they bought, their mobile users and the rules that decide
// whether a user may work. It depends on the standard library and the wire
// protocol (package protocol, whose Lease and Status it names) only; storage,
// HTTP and the command line live in internal/ and implement or use the
// interfaces declared here.
package licet

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licet/licet/protocol"
)

// Status is the answer to a license check. The names are part of the wire
// protocol, so the type is the protocol package's (docs/PROTOCOL.md).
type Status = protocol.Status

const (
	StatusLicensed            = protocol.StatusLicensed
	StatusTemporary           = protocol.StatusTemporary
	StatusNoLicenseAvailable  = protocol.StatusNoLicenseAvailable
	StatusNotAssigned         = protocol.StatusNotAssigned
	StatusUserDisabled        = protocol.StatusUserDisabled
	StatusSubscriptionExpired = protocol.StatusSubscriptionExpired
	StatusUnknownOrganization = protocol.StatusUnknownOrganization
	StatusReadOnlyServer      = protocol.StatusReadOnlyServer
)

// Clock gives the current time; tests set it to move time.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

// Settings are an organization's own choices. Offline is the operator's.
type Settings struct {
	AutoAssign         bool     `json:"autoAssign"`
	AssignType         string   `json:"assignType"`          // "" follows the app's Edition, else any type
	TemporaryDays      int      `json:"temporaryDays"`       // 0: no temporary licenses
	FreeUnusedDays     int      `json:"freeUnusedDays"`      // 0: never reclaim
	Offline            bool     `json:"offline"`             // operator only
	Notifications      bool     `json:"notifications"`       // send assignment mail
	NotificationEmails []string `json:"notificationEmails"`  // who gets it
	NotifyWindow       int      `json:"notifyWindowMinutes"` // assignments within this many minutes share one mail (0: one mail each)

	// The vendor's bounds (operator only).
	TemporaryMax        int `json:"temporaryMax"`        // users holding a temporary license at once; -1: max(1, 10 % of the active seats)
	TemporaryMaxDays    int `json:"temporaryMaxDays"`    // the longest temporaryDays an administrator may set
	AdmissionsPerMinute int `json:"admissionsPerMinute"` // checks that would write, per minute; -1: the server's --rate-admissions, 0: no limit

	// BindURL makes a check whose OrganizationUrl names another host than
	// the organization's URL answer UnknownOrganization. The vendor and the
	// organization's administrators may both set it (SettingsPatch.ForAdmin).
	BindURL bool `json:"bindUrl"`
}

// DefaultTemporaryMaxDays is the vendor's default bound on temporaryDays.
const DefaultTemporaryMaxDays = 30

// DefaultSettings are a new organization's settings.
func DefaultSettings() Settings {
	return Settings{AutoAssign: true, TemporaryDays: 14, NotifyWindow: 10,
		TemporaryMax: -1, TemporaryMaxDays: DefaultTemporaryMaxDays, AdmissionsPerMinute: -1}
}

// CheckSettings checks what no single field can: temporaryDays within the
// vendor's maximum.
func (o *Organization) CheckSettings() error {
	if o.Settings.TemporaryDays > o.Settings.TemporaryMaxDays {
		return Errorf(EINVALID, "temporaryDays %d is above this organization's maximum of %d days (temporaryMaxDays, set by the vendor)",
			o.Settings.TemporaryDays, o.Settings.TemporaryMaxDays)
	}
	return nil
}

// TemporaryAllowance is how many users of org may hold a temporary license
// at once: the vendor's setting, else max(1, 10 % of the seats of the
// pools active at now, rounded down).
func TemporaryAllowance(org *Organization, pools []Pool, now time.Time) int {
	if org.Settings.TemporaryMax >= 0 {
		return org.Settings.TemporaryMax
	}
	return max(1, ActiveSeats(pools, now)/10)
}

// ActiveSeats sums the seats of the pools active at now, of every type.
func ActiveSeats(pools []Pool, now time.Time) int {
	n := 0
	for _, p := range pools {
		if p.Active(now) {
			n += p.Seats
		}
	}
	return n
}

// Host is one entry of an organization's firewall allow list: a host name
// (with its port when not the scheme's default) that its devices or
// administrators reach, or that reaches them.
type Host struct {
	Host    string `json:"host"`
	URL     string `json:"url"`
	Purpose string `json:"purpose"`
	// Warning says what is wrong with it, e.g. an IP address instead of a
	// stable name.
	Warning string `json:"warning,omitempty"`
}

// Organization is a customer of the vendor.
type Organization struct {
	ID        string    `json:"id"` // canonical GUID
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Settings  Settings  `json:"settings"`
	CreatedAt time.Time `json:"createdAt"`
}

// Pool is a number of seats of one license type sold to an organization for
// a term [From, Until). A zero Until means no end.
type Pool struct {
	ID          int64     `json:"id"`
	OrgID       string    `json:"orgId"`
	LicenseType string    `json:"licenseType"`
	Seats       int       `json:"seats"`
	From        time.Time `json:"from"`
	Until       time.Time `json:"until,omitzero"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Active reports whether the pool's seats are available at t.
func (p Pool) Active(t time.Time) bool {
	return !t.Before(p.From) && (p.Until.IsZero() || t.Before(p.Until))
}

// PoolChange changes a pool's seats or end; nil fields stay. A zero Until
// removes the end.
type PoolChange struct {
	Seats *int
	Until *time.Time
}

// LicenseType is a kind of seat. A type may include others: an
// "Inspections" seat also serves a user whose app needs "Standard".
type LicenseType struct {
	Name     string   `json:"name"`
	Includes []string `json:"includes"`
}

// UserState is where a mobile user's license stands.
type UserState string

const (
	UserUnlicensed UserState = "unlicensed"
	UserTemporary  UserState = "temporary"
	UserLicensed   UserState = "licensed"
)

// Sighting is what a device said at its last check. It is informative only.
type Sighting struct {
	OrgID            string    `json:"-"`
	UserID           string    `json:"-"`
	At               time.Time `json:"at,omitzero"`
	DeviceID         string    `json:"deviceId"`
	DeviceInfo       string    `json:"deviceInfo"`
	Version          string    `json:"version"`
	Edition          string    `json:"edition"`
	OrganizationURL  string    `json:"organizationUrl"`
	OrganizationName string    `json:"organizationName"`
}

// User is a mobile user of an organization, known only by its GUID: the
// service never learns a name.
type User struct {
	OrgID          string    `json:"orgId"`
	ID             string    `json:"id"`
	State          UserState `json:"state"`
	Disabled       bool      `json:"disabled"`
	LicenseType    string    `json:"licenseType,omitempty"`
	AssignedAt     time.Time `json:"assignedAt,omitzero"`
	AssignedBy     string    `json:"assignedBy,omitempty"`
	TemporaryUntil time.Time `json:"temporaryUntil,omitzero"`
	FirstSeen      time.Time `json:"firstSeen,omitzero"`
	LastSeen       time.Time `json:"lastSeen,omitzero"`
	Last           Sighting  `json:"lastCheck"`
	// RecordedAt is when a check recorded this unknown user without a
	// license; zero once licensed or handled by an administrator. Such
	// users are capped per organization, the oldest evicted first.
	RecordedAt time.Time `json:"recordedAt,omitzero"`
	// SubscriptionEnded marks a licensed user none of whose license type's
	// pools is within its term: its next check answers SubscriptionExpired.
	// Set when listing, from the pools and the time; never stored.
	SubscriptionEnded bool `json:"subscriptionEnded,omitempty"`
}

// MarkEnded sets SubscriptionEnded on the licensed users of pools whose
// license type has no pool within its term at now.
func MarkEnded(users []*User, pools []Pool, now time.Time) {
	for _, u := range users {
		if u.State == UserLicensed && !u.Disabled {
			_, active := ActiveUntil(now, pools, u.LicenseType)
			u.SubscriptionEnded = !active
		}
	}
}

// StateText is a user's state as people read it: "disabled", "licensed
// (subscription ended)", or the state itself.
func (u *User) StateText() string {
	switch {
	case u.Disabled:
		return "disabled"
	case u.SubscriptionEnded:
		return string(u.State) + " (subscription ended)"
	}
	return string(u.State)
}

// SeatCount is an organization's seats of one type at a moment.
type SeatCount struct {
	LicenseType string `json:"licenseType"`
	Total       int    `json:"total"`
	Used        int    `json:"used"`
	Available   int    `json:"available"`
}

// Actors recorded in the audit log besides administrators' addresses.
const (
	ActorOperator  = "operator"
	ActorAutomatic = "automatic"
)

// AuditEvent records one change: who, what, when.
type AuditEvent struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	OrgID  string    `json:"orgId,omitempty"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	UserID string    `json:"userId,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// AuditFilter narrows an audit listing: events about users whose ID starts
// with User, whose action contains Action; the newest Limit (default 100).
type AuditFilter struct {
	User, Action string
	Limit        int
}

// UserAction is what an operator or administrator does to a user.
type UserAction string

const (
	ActionAdd      UserAction = "add"
	ActionAssign   UserAction = "assign"
	ActionUnassign UserAction = "unassign"
	ActionEnable   UserAction = "enable"
	ActionDisable  UserAction = "disable"
	ActionDelete   UserAction = "delete"
)

// UserFilter narrows a user listing.
type UserFilter struct {
	State  UserState // "" any
	Type   string    // "" any
	Search string    // prefix of the user ID
	Sort   string    // "" (user ID), "lastSeen" or "assigned": newest first
	// After and Before page by user ID without an offset (Sort ""): the
	// users after one ID, or the page before one.
	After, Before string
	Offset        int
	Limit         int // 0: no limit
}

// SettingsPatch changes only the fields that are set.
type SettingsPatch struct {
	Name               *string   `json:"name,omitempty"`
	URL                *string   `json:"url,omitempty"`
	AutoAssign         *bool     `json:"autoAssign,omitempty"`
	AssignType         *string   `json:"assignType,omitempty"`
	TemporaryDays      *int      `json:"temporaryDays,omitempty"`
	FreeUnusedDays     *int      `json:"freeUnusedDays,omitempty"`
	Offline            *bool     `json:"offline,omitempty"`
	Notifications      *bool     `json:"notifications,omitempty"`
	NotificationEmails *[]string `json:"notificationEmails,omitempty"`
	NotifyWindow       *int      `json:"notifyWindowMinutes,omitempty"`
	// The vendor's (operator only).
	TemporaryMax        *int  `json:"temporaryMax,omitempty"`
	TemporaryMaxDays    *int  `json:"temporaryMaxDays,omitempty"`
	AdmissionsPerMinute *int  `json:"admissionsPerMinute,omitempty"`
	BindURL             *bool `json:"bindUrl,omitempty"`
}

// ForAdmin is the one rule of what an organization's administrator may
// change, for the API and the console alike: not the name, the URL,
// offline licenses, nor the bounds on temporary licenses and admissions,
// which are the vendor's. It returns the part of p an administrator may
// apply, and whether p asked for more (the API refuses such a patch; the
// console's form never offers those fields to an administrator).
func (p SettingsPatch) ForAdmin() (SettingsPatch, bool) {
	more := p.Offline != nil || p.Name != nil || p.URL != nil || p.TemporaryMax != nil || p.TemporaryMaxDays != nil || p.AdmissionsPerMinute != nil
	p.Offline, p.Name, p.URL, p.TemporaryMax, p.TemporaryMaxDays, p.AdmissionsPerMinute = nil, nil, nil, nil, nil, nil
	return p, more
}

// CheckView is what the hot path reads to answer a check without writing.
type CheckView struct {
	Org   *Organization // nil: unknown organization
	User  *User         // nil: never seen
	Pools []Pool
	Types []LicenseType
	Used  map[string]int // licensed users per type
	// OrgURL is the OrganizationUrl the device sent.
	OrgURL string
	// Filled only when WantsTemporary: how many users hold an unexpired
	// temporary license, and whether this user ID ever held one (even
	// before it was deleted).
	Temporary    int
	HadTemporary bool
}

// Store keeps licet's data. Every method is one transaction; Admit is the
// only one that may assign a seat and does it so that no two callers, in
// this process or another, can over-assign.
type Store interface {
	// The license check. OrgData (nil when unknown) and LicenseTypes change
	// rarely and may be cached while ChangeSeq stays the same; CheckUser
	// reads the user (nil when new) and, when it holds no license, the
	// seats used per type.
	OrgData(ctx context.Context, orgID string) (*Organization, []Pool, error)
	CheckUser(ctx context.Context, orgID, userID string) (*User, map[string]int, error)
	// TemporaryStanding fills a view that WantsTemporary: how many users
	// hold a temporary license at now, whether userID ever held one.
	TemporaryStanding(ctx context.Context, orgID, userID string, now time.Time) (holders int, had bool, err error)
	ChangeSeq(ctx context.Context) (int64, error)
	// Every change to a user is counted per organization and recorded, so
	// that caches of users drop exactly the changed ones.
	UserSeqs(ctx context.Context) (map[string]int64, error)
	UserChangesSince(ctx context.Context, orgID string, seq int64) (userIDs []string, complete bool, err error)
	PruneUserChanges(ctx context.Context, before time.Time) (int64, error)
	Admit(ctx context.Context, req AdmitRequest) (*Decision, error)
	RecordSightings(ctx context.Context, s []Sighting) error
	// Listen tells l of every change committed through this Store, after
	// the commit, so that this process's caches drop it at once (other
	// processes watch ChangeSeq and UserSeqs).
	Listen(l ChangeListener)

	// Operator and administrator work.
	CreateOrganization(ctx context.Context, org *Organization, actor string) error
	Organization(ctx context.Context, id string) (*Organization, error)
	Organizations(ctx context.Context) ([]*Organization, error)
	UpdateOrganization(ctx context.Context, id string, p SettingsPatch, actor string) (*Organization, error)
	AddPool(ctx context.Context, p *Pool, actor string) error
	UpdatePool(ctx context.Context, orgID string, poolID int64, c PoolChange, actor string) (*Pool, error)
	Pools(ctx context.Context, orgID string) ([]Pool, error)
	SeatCounts(ctx context.Context, orgID string) ([]SeatCount, error)
	PutLicenseType(ctx context.Context, t LicenseType, actor string) error
	LicenseTypes(ctx context.Context) ([]LicenseType, error)
	Users(ctx context.Context, orgID string, f UserFilter) ([]*User, int, error)
	User(ctx context.Context, orgID, userID string) (*User, error)
	ChangeUser(ctx context.Context, orgID, userID string, action UserAction, licenseType, actor string) (*User, error)
	ChangeUsers(ctx context.Context, orgID string, userIDs []string, action UserAction, licenseType, actor string) ([]*User, error)
	Audit(ctx context.Context, orgID string, f AuditFilter) ([]AuditEvent, error)

	// Backups and replicas. Snapshot writes a consistent copy of the whole
	// database to a new file (where the database supports it). Lag is how
	// far this copy is behind the primary; known is false on a primary.
	Snapshot(ctx context.Context, path string) error
	Lag(ctx context.Context) (lag time.Duration, known bool, err error)

	OfflineStore
	MailStore
	AdminStore
	SSOStore

	// Secrets and health. SealSecrets seals what the database keeps in
	// plain text (a database from before sealing) and seals again what an
	// older key sealed; it fails when the database's secrets are sealed
	// with a key the Sealer does not hold.
	SealSecrets(ctx context.Context) (int, error)
	OperatorTokenHash(ctx context.Context) ([]byte, error)
	SetOperatorTokenHash(ctx context.Context, hash []byte) (stored bool, err error)
	Ping(ctx context.Context) error
	Close() error
}

// ChangeListener hears of the changes a Store committed.
type ChangeListener interface {
	// Invalidate: organizations, pools or license types changed.
	Invalidate()
	// UsersChanged: these users of orgID changed.
	UsersChanged(orgID string, userIDs []string)
}

// Sealer encrypts the secrets a Store keeps (backend credentials, the
// mail-link secret) with a key the database never holds. where binds a
// sealed value to its place, so it does not open elsewhere.
type Sealer interface {
	Seal(plain []byte, where string) (string, error)
	Open(sealed, where string) ([]byte, error)
	ActiveID() string
	Has(id string) bool
}

// AdmitRequest asks the store to decide a check under its write lock and
// apply the decision: assign, reclaim, grant a temporary license or record a
// new user.
type AdmitRequest struct {
	OrgID    string
	UserID   string
	Sighting Sighting
}

// ApplyPatch changes o as p says and describes each change for the audit
// log. It does not validate; callers validate the patch first.
func ApplyPatch(o *Organization, p SettingsPatch) []string {
	var changes []string
	note := func(name string, v any) { changes = append(changes, fmt.Sprintf("%s=%v", name, v)) }
	set := func(dst *string, src *string, name string) {
		if src != nil && *src != *dst {
			*dst = *src
			note(name, strconv.Quote(*src))
		}
	}
	setB := func(dst *bool, src *bool, name string) {
		if src != nil && *src != *dst {
			*dst = *src
			note(name, *src)
		}
	}
	setI := func(dst *int, src *int, name string) {
		if src != nil && *src != *dst {
			*dst = *src
			note(name, *src)
		}
	}
	set(&o.Name, p.Name, "name")
	set(&o.URL, p.URL, "url")
	setB(&o.Settings.AutoAssign, p.AutoAssign, "autoAssign")
	set(&o.Settings.AssignType, p.AssignType, "assignType")
	setI(&o.Settings.TemporaryDays, p.TemporaryDays, "temporaryDays")
	setI(&o.Settings.FreeUnusedDays, p.FreeUnusedDays, "freeUnusedDays")
	setB(&o.Settings.Offline, p.Offline, "offline")
	setB(&o.Settings.Notifications, p.Notifications, "notifications")
	setI(&o.Settings.NotifyWindow, p.NotifyWindow, "notifyWindowMinutes")
	setI(&o.Settings.TemporaryMax, p.TemporaryMax, "temporaryMax")
	setI(&o.Settings.TemporaryMaxDays, p.TemporaryMaxDays, "temporaryMaxDays")
	setI(&o.Settings.AdmissionsPerMinute, p.AdmissionsPerMinute, "admissionsPerMinute")
	setB(&o.Settings.BindURL, p.BindURL, "bindUrl")
	if p.NotificationEmails != nil && !slices.Equal(*p.NotificationEmails, o.Settings.NotificationEmails) {
		o.Settings.NotificationEmails = slices.Clone(*p.NotificationEmails)
		note("notificationEmails", strings.Join(*p.NotificationEmails, ","))
	}
	return changes
}

// CountSeats sums the seats of the pools active at now per license type,
// beside how many of them licensed users hold. Types with users but no
// active pool show a total of 0.
func CountSeats(now time.Time, pools []Pool, used map[string]int) []SeatCount {
	byType := map[string]*SeatCount{}
	get := func(t string) *SeatCount {
		if byType[t] == nil {
			byType[t] = &SeatCount{LicenseType: t}
		}
		return byType[t]
	}
	for _, p := range pools {
		c := get(p.LicenseType)
		if p.Active(now) {
			c.Total += p.Seats
		}
	}
	for t, n := range used {
		get(t).Used = n
	}
	out := make([]SeatCount, 0, len(byType))
	for _, c := range byType {
		c.Available = max(0, c.Total-c.Used)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b SeatCount) int { return strings.Compare(a.LicenseType, b.LicenseType) })
	return out
}

// OfflineConfig is where an organization's offline license goes. Auth is a
// secret ("basic USER:PASSWORD" or "bearer TOKEN"): it is stored, used to
// upload, and never shown.
type OfflineConfig struct {
	Backend   string `json:"backendUrl"`     // the file's URL on a WebDAV server; "" for none
	Auth      string `json:"-"`              // never serialized
	HasAuth   bool   `json:"hasCredentials"` // whether Auth is set
	ValidDays int    `json:"validDays"`      // how long an issued document is valid
	Location  string `json:"location"`       // where apps read it; "" for the default
	// AutoAllowed is the vendor's: whether the administrator may switch
	// AutoUpdate on, which reissues and saves the file by itself.
	AutoAllowed bool         `json:"autoUpdateAllowed"`
	AutoUpdate  bool         `json:"autoUpdate"`
	LastTest    *OfflineTest `json:"lastTest,omitempty"` // the newest backend test
}

// OfflineTest is the report of one backend test: a probe uploaded where
// licet saves, read back where devices look, verified as a device would.
type OfflineTest struct {
	At    time.Time         `json:"at"`
	By    string            `json:"by"`
	OK    bool              `json:"ok"`
	Steps []OfflineTestStep `json:"steps"`
}

// OfflineTestStep is one step of a backend test.
type OfflineTestStep struct {
	Name    string `json:"name"` // upload, read, verify, clean up
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"` // an earlier step failed
	Detail  string `json:"detail"`
}

// Step returns the named step, or nil.
func (t *OfflineTest) Step(name string) *OfflineTestStep {
	for i := range t.Steps {
		if t.Steps[i].Name == name {
			return &t.Steps[i]
		}
	}
	return nil
}

// OfflineIssue is one issued offline license.
type OfflineIssue struct {
	OrgID        string    `json:"orgId"`
	Serial       int64     `json:"serial"`
	IssuedAt     time.Time `json:"issuedAt"`
	IssuedBy     string    `json:"issuedBy"`
	Users        int       `json:"users"`
	ValidUntil   time.Time `json:"validUntil"`
	UploadStatus string    `json:"uploadStatus"` // "", "uploaded", "failed", "no backend"
	UploadDetail string    `json:"uploadDetail,omitempty"`
	UploadedAt   time.Time `json:"uploadedAt,omitzero"`
	Document     []byte    `json:"-"`
}

// OfflineBuilder makes the signed document for the next serial from the
// users an administrator assigned and the organization's pools; it says
// how many users it included.
type OfflineBuilder func(org *Organization, serial int64, users []*User, pools []Pool) (doc []byte, validUntil time.Time, included int, err error)

// OfflineStore keeps offline licenses.
type OfflineStore interface {
	OfflineConfig(ctx context.Context, orgID string) (*OfflineConfig, error)
	SetOfflineConfig(ctx context.Context, orgID string, c OfflineConfig, setAuth bool, actor string) error
	IssueOffline(ctx context.Context, orgID, actor string, build OfflineBuilder) (*OfflineIssue, error)
	RecordOfflineUpload(ctx context.Context, orgID string, serial int64, status, detail, actor string) error
	RecordOfflineTest(ctx context.Context, orgID string, t OfflineTest) error
	// OfflineHolders reads, in one transaction, the license type of every
	// licensed user and the IDs of the disabled ones: what an Update would
	// put in the file and what it would leave out.
	OfflineHolders(ctx context.Context, orgID string) (licensed map[string]string, disabled map[string]bool, err error)
	// OfflineAutoOrgs lists the organizations with offline licenses and
	// automatic Update allowed and on.
	OfflineAutoOrgs(ctx context.Context) ([]string, error)
	OfflineHistory(ctx context.Context, orgID string, limit int) ([]OfflineIssue, error)
	OfflineDocument(ctx context.Context, orgID string) (*OfflineIssue, error)
	// PruneOfflineDocuments drops the documents of at most max offline
	// licenses that a newer one of their organization replaced and whose
	// validity ended before t, and says how many. Their history entries
	// stay; the newest document of each organization is always kept.
	PruneOfflineDocuments(ctx context.Context, before time.Time, max int) (int64, error)
}

// MailEvent is one assignment a notification tells of.
type MailEvent struct {
	UserID        string    `json:"user"`
	LicenseType   string    `json:"type"`
	At            time.Time `json:"at"`
	ReclaimedFrom string    `json:"reclaimedFrom,omitempty"`
}

// Mail is one notification in the outbox.
type Mail struct {
	ID        int64           `json:"id"`
	OrgID     string          `json:"orgId"`
	Address   string          `json:"address"`
	Kind      string          `json:"kind"`
	Events    []MailEvent     `json:"events"`
	Activity  *ActivityReport `json:"activity,omitempty"` // Kind MailActivity
	CreatedAt time.Time       `json:"createdAt"`
	DueAt     time.Time       `json:"dueAt"`
	Attempts  int             `json:"attempts"`
	Status    string          `json:"status"`
	LastError string          `json:"lastError,omitempty"`
	SentAt    time.Time       `json:"sentAt,omitzero"`
}

// MailActivity is the kind of the "unusual license activity" mail.
const MailActivity = "activity"

// ActivityReport is what an "unusual license activity" mail tells: within
// one minute, how many checks from devices without a license were refused
// and admitted, and from which source addresses most came.
type ActivityReport struct {
	Minute    time.Time     `json:"minute"`
	Refused   int           `json:"refused"`
	Admitted  int           `json:"admitted"`
	Threshold int           `json:"threshold"`
	Sources   []SourceCount `json:"sources"`
}

// SourceCount is one source address (an IPv6 /64) and its checks.
type SourceCount struct {
	Address string `json:"address"`
	Checks  int    `json:"checks"`
}

// Kinds of mail in the outbox.
const (
	MailAssignment = "assignment" // licenses assigned automatically (one, or a digest)
	MailConfirm    = "confirm"    // asks a typed-in address to confirm
)

// States of an address with one organization's notifications.
const (
	SubSubscribed   = "subscribed"   // gets them
	SubUnsubscribed = "unsubscribed" // opted out
	SubPending      = "pending"      // typed in by an administrator, not yet confirmed by its owner
	SubDeclined     = "declined"     // its owner declined
)

// Subscription is an address's standing with one organization.
type Subscription struct {
	OrgID      string `json:"orgId"`
	OrgName    string `json:"orgName"`
	Subscribed bool   `json:"subscribed"` // State is SubSubscribed
	State      string `json:"state"`
	// NotificationsOn is the organization's switch: when off, no address
	// gets its notifications, subscribed or not.
	NotificationsOn bool   `json:"notificationsOn"`
	AddedBy         string `json:"addedBy,omitempty"` // who typed the address in
}

// Recipient is one address an organization's notifications may go to:
// a listed address or an administrator, with its state.
type Recipient struct {
	Address string `json:"address"`
	Listed  bool   `json:"listed"`
	Admin   bool   `json:"administrator"`
	State   string `json:"state"` // SubSubscribed, SubUnsubscribed, SubPending or SubDeclined
}

// Erasure says what erasing an address removed.
type Erasure struct {
	Address       string   `json:"address"`
	Organizations int      `json:"organizations"` // settings it was listed in
	Consents      int64    `json:"confirmations"`
	OptOuts       int64    `json:"optOuts"`
	Mails         int64    `json:"mails"`
	AuditEntries  int64    `json:"auditEntries"` // entries whose address was replaced by "erased"
	Administers   []string `json:"administers"`  // organizations it still administers (licet admin remove ends that)
}

// UserRecord is everything stored about one mobile user: the right of access.
type UserRecord struct {
	User            *User          `json:"user"`
	Audit           []AuditEvent   `json:"audit"`
	Mails           []*Mail        `json:"mails"`           // notifications that name the user
	OfflineLicenses []OfflineIssue `json:"offlineLicenses"` // issued offline licenses that hold the user
	// TemporaryGrantedAt is when the user ID got its one temporary
	// license (kept as a keyed hash of the ID, so that it never gets a
	// second one).
	TemporaryGrantedAt time.Time `json:"temporaryGrantedAt,omitzero"`
	// Changes are when the user changed, as kept (an hour) for the caches
	// of other processes.
	Changes []time.Time `json:"changes"`
}

// MailStore keeps the outbox and who wants mail.
type MailStore interface {
	// ClaimMail takes up to n due mails for hold. Whether each is still
	// wanted (the organization sends notifications, the address is listed
	// and confirmed or an administrator, and did not opt out) is checked
	// here, at send time: a mail no longer wanted is deleted unsent. An
	// organization that has sent perOrgHour mails in the last hour (0: no
	// cap) has its mails put off until it may send again.
	ClaimMail(ctx context.Context, n int, hold time.Duration, perOrgHour int) ([]*Mail, error)
	NotificationRecipients(ctx context.Context, orgID string) ([]Recipient, error)
	// EraseAddress removes an address from every organization's settings,
	// opt-outs and confirmations, deletes its mails and replaces it in
	// the audit log.
	EraseAddress(ctx context.Context, address string) (*Erasure, error)
	// PruneMail deletes sent and failed mails finished before t.
	PruneMail(ctx context.Context, before time.Time) (int64, error)
	// PruneAudit deletes audit entries older than t.
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
	UserRecord(ctx context.Context, orgID, userID string) (*UserRecord, error)
	MailSent(ctx context.Context, id int64) error
	MailFailed(ctx context.Context, id int64, reason string, retryAt time.Time) error // zero retryAt: give up
	Mails(ctx context.Context, status string, limit int) ([]*Mail, error)
	MailByID(ctx context.Context, id int64) (*Mail, error)
	MailCounts(ctx context.Context) (map[string]int, error) // mails by status
	Subscriptions(ctx context.Context, address string) ([]Subscription, error)
	SetSubscription(ctx context.Context, orgID, address string, subscribed bool) error
	Secret(ctx context.Context, name string) ([]byte, error) // a random secret made once, shared by all processes
	// AlertActivity queues the "unusual license activity" mail to the
	// organization's addresses unless one was queued within the hour (by
	// any process); it reports whether it queued one.
	AlertActivity(ctx context.Context, orgID string, r ActivityReport, now time.Time) (bool, error)
}

// Admin is an organization administrator: an address, a password, the
// organizations it may see and change.
type Admin struct {
	ID           int64    `json:"id"`
	Email        string   `json:"email"`
	PasswordHash string   `json:"-"`
	Orgs         []string `json:"orgs"`
	// SSOProvider is the single sign-on provider the session (or the
	// session an API token was made in) was opened through, "" for a
	// password: Orgs then holds those the provider gave only through it.
	SSOProvider string `json:"-"`
}

// IsOperator reports whether a is the vendor's operator signed in to the
// console with the operator token.
func (a *Admin) IsOperator() bool { return a.Email == ActorOperator }

// Administers reports whether a may act on orgID.
func (a *Admin) Administers(orgID string) bool { return slices.Contains(a.Orgs, orgID) }

// AdminStore keeps administrators, their links and sessions. Tokens are
// given and looked up as hashes.
type AdminStore interface {
	AddAdmin(ctx context.Context, orgID, email, linkHash string, expires time.Time, actor string) (*Admin, error)
	AdminByLink(ctx context.Context, linkHash string) (*Admin, error)
	SetAdminPassword(ctx context.Context, linkHash, passwordHash string) (*Admin, error) // uses the link up
	ChangeAdminPassword(ctx context.Context, adminID int64, passwordHash string) error
	AdminByEmail(ctx context.Context, email string) (*Admin, error)
	OperatorAdmin(ctx context.Context) (*Admin, error)
	RemoveAdmin(ctx context.Context, orgID, email, actor string) error
	// CreateSession stores a browser session; ssoProvider is the provider
	// it was opened through ("" for a password). A session reaches the
	// organizations a provider gave only when opened through that provider.
	CreateSession(ctx context.Context, hash string, adminID int64, ssoProvider string, expires time.Time) error
	SessionAdmin(ctx context.Context, hash string) (*Admin, error)
	DeleteSession(ctx context.Context, hash string) error
	CreateAdminToken(ctx context.Context, adminID int64, ssoProvider, name, hash string) (*AdminToken, error)
	AdminTokens(ctx context.Context, adminID int64) ([]AdminToken, error)
	RevokeAdminToken(ctx context.Context, adminID, tokenID int64) error
	AdminByToken(ctx context.Context, hash string) (*Admin, error)
}

// AdminToken is an administrator's API token (the secret is shown once and
// stored only as a hash).
type AdminToken struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	RevokedAt time.Time `json:"revokedAt,omitzero"`
}

// OfflineChanges are how the users with a license differ from the newest
// offline license: what an Update would change.
type OfflineChanges struct {
	Serial     int64     `json:"serial"` // the newest issued; 0: none yet
	IssuedAt   time.Time `json:"issuedAt,omitzero"`
	Licensed   int       `json:"licensed"`   // licensed now, not in the file (or with another type)
	Unassigned int       `json:"unassigned"` // in the file, no longer licensed
	Disabled   int       `json:"disabled"`   // in the file, disabled since
	// AutoAssign: the organization assigns seats automatically, so users
	// assigned after the newest Update are not in the file until the next.
	AutoAssign bool `json:"autoAssign"`
}

// Total is the number of changes.
func (c OfflineChanges) Total() int { return c.Licensed + c.Unassigned + c.Disabled }
