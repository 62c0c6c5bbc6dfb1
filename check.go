package licet

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/licet/licet/protocol"
)

// CheckRequest is a device's license check: the MobileClient document.
type CheckRequest struct {
	Version          string `xml:"Version" json:"version"`
	Edition          string `xml:"Edition" json:"edition"`
	DeviceID         string `xml:"DeviceId" json:"deviceId"`
	DeviceInfo       string `xml:"DeviceInfo" json:"deviceInfo"`
	OrganizationID   string `xml:"OrganizationId" json:"organizationId"`
	OrganizationURL  string `xml:"OrganizationUrl" json:"organizationUrl"`
	OrganizationName string `xml:"OrganizationName" json:"organizationName"`
	UserID           string `xml:"UserId" json:"userId"`
}

// Field length limits of a check. The informative fields are bounded too so
// that no device can grow a stored row without limit.
var checkLimits = []struct {
	name     string
	max      int
	required bool
}{
	{"OrganizationId", 40, true},
	{"UserId", 40, true},
	{"DeviceId", 256, true},
	{"DeviceInfo", 512, false},
	{"Version", 64, false},
	{"Edition", 64, false},
	{"OrganizationUrl", 2048, false},
	{"OrganizationName", 256, false},
}

// fields are the request's fields in checkLimits' order. Pointers, not a
// function per field in the table: a call through one would move every
// request to the heap.
func (r *CheckRequest) fields() [8]*string {
	return [8]*string{&r.OrganizationID, &r.UserID, &r.DeviceID, &r.DeviceInfo, &r.Version, &r.Edition,
		&r.OrganizationURL, &r.OrganizationName}
}

// Normalize trims every field, checks it, and puts the GUIDs in canonical
// form. The error names the first bad field.
func (r *CheckRequest) Normalize() error {
	fields := r.fields()
	for i, f := range checkLimits {
		p := fields[i]
		*p = strings.TrimSpace(*p)
		switch {
		case f.required && *p == "":
			return Errorf(EINVALID, "%s is required", f.name)
		case len(*p) > f.max:
			return Errorf(EINVALID, "%s is longer than %d bytes", f.name, f.max)
		case !plainText(*p):
			return Errorf(EINVALID, "%s contains invalid characters", f.name)
		}
	}
	var ok bool
	if r.OrganizationID, ok = ParseGUID(r.OrganizationID); !ok {
		return Errorf(EINVALID, "OrganizationId is not a GUID")
	}
	if r.UserID, ok = ParseGUID(r.UserID); !ok {
		return Errorf(EINVALID, "UserId is not a GUID")
	}
	return nil
}

func isControl(c rune) bool { return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) }

// plainText reports whether s is valid UTF-8 with no control character
// (isControl). ASCII, what devices send, is judged byte by byte; the rest
// of a string from its first non-ASCII byte goes through utf8 and
// isControl rune by rune, which cost 3 % of a check when every string
// went that way (docs/BENCHMARKS.md, sixth round).
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			return utf8.ValidString(s[i:]) && !strings.ContainsFunc(s[i:], isControl)
		case c < 0x20 || c == 0x7f:
			return false
		}
	}
	return true
}

// Sighting returns what the request says about the device, seen at t.
func (r *CheckRequest) Sighting(t time.Time) Sighting {
	return Sighting{OrgID: r.OrganizationID, UserID: r.UserID, At: t, DeviceID: r.DeviceID, DeviceInfo: r.DeviceInfo,
		Version: r.Version, Edition: r.Edition, OrganizationURL: r.OrganizationURL, OrganizationName: r.OrganizationName}
}

// Server roles named in a lease.
const (
	RolePrimary = protocol.RolePrimary
	RoleBackup  = protocol.RoleBackup
)

// Lease is the signed statement that a user of an organization holds a
// license until ExpiresAt: the protocol's one definition, which the server
// signs and every device verifies (docs/PROTOCOL.md).
type Lease = protocol.Lease

// TimeFormat is how a lease writes times.
const TimeFormat = protocol.TimeFormat

// Answer is the service's reply to a check.
type Answer struct {
	Status      Status
	LicenseType string
	Message     string
	Lease       []byte // the exact payload bytes that were signed
	Signature   []byte
	// LeaseBase64 and SignatureBase64 are the same in base64 (standard,
	// padded), as sent, when the lease may be sent again (it is then
	// encoded once); empty otherwise.
	LeaseBase64, SignatureBase64 string
	KeyID                        string
	Expires                      time.Time
}

func (a *Answer) String() string { return fmt.Sprintf("%s %s", a.Status, a.LicenseType) }
