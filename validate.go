package licet

import (
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/licet/licet/protocol"
)

// Limits on what operators and administrators may store.
const (
	MaxNameLen      = 200
	MaxURLLen       = 2048
	MaxSeats        = 1_000_000
	MaxDays         = 3650
	MaxEmails       = 50
	MaxEmailLen     = 254
	MaxTypeIncludes = 20
	// MaxOfflineDays is the longest validity of an offline license: a
	// device refuses longer ones (protocol.MaxOfflineValidity).
	MaxOfflineDays = int(protocol.MaxOfflineValidity / (24 * time.Hour))
)

var typeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// ValidTypeName checks a license type name.
func ValidTypeName(s string) error {
	if !typeName.MatchString(s) || strings.HasSuffix(s, " ") {
		return Errorf(EINVALID, "license type %q is not valid: 1 to 64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit", s)
	}
	return nil
}

// ValidName checks an organization's name.
func ValidName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return Errorf(EINVALID, "name is required")
	case len(s) > MaxNameLen:
		return Errorf(EINVALID, "name is longer than %d bytes", MaxNameLen)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl):
		return Errorf(EINVALID, "name contains invalid characters")
	}
	return nil
}

// ValidURL checks an absolute http(s) URL.
func ValidURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return Errorf(EINVALID, "url is required")
	case len(s) > MaxURLLen:
		return Errorf(EINVALID, "url is longer than %d bytes", MaxURLLen)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsFunc(s, isControl):
		return Errorf(EINVALID, "url %q is not an absolute http or https URL", s)
	}
	return nil
}

// ValidDays checks a number of days setting.
func ValidDays(name string, n int) error {
	if n < 0 || n > MaxDays {
		return Errorf(EINVALID, "%s must be between 0 and %d", name, MaxDays)
	}
	return nil
}

// ValidSeats checks a pool's seat count.
func ValidSeats(n int) error {
	if n < 0 || n > MaxSeats {
		return Errorf(EINVALID, "seats must be between 0 and %d", MaxSeats)
	}
	return nil
}

// NormalizeEmails checks a list of plain addresses (no display names) and
// returns them lower-cased, without duplicates, in the given order.
func NormalizeEmails(in []string) ([]string, error) {
	out := []string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s || len(s) > MaxEmailLen || strings.ContainsAny(s, ",;") {
			return nil, Errorf(EINVALID, "%q is not a plain e-mail address", s)
		}
		s = strings.ToLower(s)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > MaxEmails {
		return nil, Errorf(EINVALID, "at most %d notification addresses", MaxEmails)
	}
	return out, nil
}

// Validate checks a settings patch and normalizes its addresses.
func (p *SettingsPatch) Validate() error {
	if p.Name != nil {
		if err := ValidName(*p.Name); err != nil {
			return err
		}
	}
	if p.URL != nil {
		u, err := CanonicalOrgURL(*p.URL)
		if err != nil {
			return err
		}
		p.URL = &u
	}
	if p.AssignType != nil && *p.AssignType != "" {
		if err := ValidTypeName(*p.AssignType); err != nil {
			return err
		}
	}
	if p.TemporaryDays != nil {
		if err := ValidDays("temporaryDays", *p.TemporaryDays); err != nil {
			return err
		}
	}
	if p.FreeUnusedDays != nil {
		if err := ValidDays("freeUnusedDays", *p.FreeUnusedDays); err != nil {
			return err
		}
	}
	if p.TemporaryMax != nil && (*p.TemporaryMax < -1 || *p.TemporaryMax > MaxSeats) {
		return Errorf(EINVALID, "temporaryMax must be between 0 and %d, or -1 for the default (10 %% of the active seats, at least 1)", MaxSeats)
	}
	if p.TemporaryMaxDays != nil {
		if err := ValidDays("temporaryMaxDays", *p.TemporaryMaxDays); err != nil {
			return err
		}
	}
	if p.AdmissionsPerMinute != nil && (*p.AdmissionsPerMinute < -1 || *p.AdmissionsPerMinute > 1_000_000) {
		return Errorf(EINVALID, "admissionsPerMinute must be between 0 (no limit) and 1000000, or -1 for the server's default")
	}
	if p.NotifyWindow != nil {
		if *p.NotifyWindow < 0 || *p.NotifyWindow > 24*60 {
			return Errorf(EINVALID, "notifyWindowMinutes must be between 0 and 1440")
		}
	}
	if p.NotificationEmails != nil {
		e, err := NormalizeEmails(*p.NotificationEmails)
		if err != nil {
			return err
		}
		p.NotificationEmails = &e
	}
	return nil
}

// Plural says n of a noun: "1 user", "2 users".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// Article puts "a" or "an" before a word: "an Inspections license".
func Article(word string) string {
	if word != "" && strings.ContainsRune("AEIOUaeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
