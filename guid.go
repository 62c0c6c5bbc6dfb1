package licet

import "github.com/licet/licet/protocol"

// ParseGUID accepts a GUID in any case, with or without braces or hyphens,
// and returns its canonical form: upper case, hyphenated, no braces. The
// canonical form is what is stored and compared, which makes comparison
// case-insensitive. It is protocol.CanonicalGUID, the one normalization the
// server and every device share.
func ParseGUID(s string) (string, bool) { return protocol.CanonicalGUID(s) }

// CanonicalOrgURL checks an organization URL and returns the form that is
// stored, signed and compared (protocol.CanonicalURL): lower-case scheme and
// host, IDN host in punycode, no trailing dot, default port or trailing
// slash.
func CanonicalOrgURL(s string) (string, error) {
	if err := ValidURL(s); err != nil {
		return "", err
	}
	c, err := protocol.CanonicalURL(s)
	if err != nil {
		return "", Errorf(EINVALID, "url %q: %v", s, err)
	}
	return c, nil
}
