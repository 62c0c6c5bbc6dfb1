package protocol

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// hosts is IDNA 2008's lookup profile that also refuses empty labels and
// over-long names.
var hosts = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true))

// ErrURL is returned for a string that is not an absolute http or https URL
// with a valid host.
var ErrURL = errors.New("not an absolute http or https URL with a valid host name")

// CanonicalURL returns the one form of an organization URL that is stored,
// signed and compared: the scheme and host in lower case, an
// internationalized host name in punycode (IDNA 2008, lookup profile), no
// trailing dot on the host, no default port (80 for http, 443 for https), no
// user information, query or fragment, and no trailing slash on the path.
// The path keeps its case and its escaping.
//
//	https://Bücher.Example.:443/CRM/  →  https://xn--bcher-kva.example/CRM
func CanonicalURL(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrURL
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Opaque != "" {
		return "", ErrURL
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", ErrURL
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return "", ErrURL
	}
	if strings.Contains(host, ":") {
		// An IPv6 literal: lower case, in brackets.
		ip := net.ParseIP(host)
		if ip == nil {
			return "", ErrURL
		}
		host = "[" + ip.String() + "]"
		if v4 := ip.To4(); v4 != nil {
			// An IPv4-mapped address: ip.String() writes it as bare
			// IPv4, which is no IPv6 literal and would not parse again.
			host = "[::ffff:" + v4.String() + "]"
		}
	} else {
		host = strings.TrimSuffix(host, ".")
		if host, err = hosts.ToASCII(host); err != nil || host == "" {
			return "", ErrURL
		}
	}
	if port != "" {
		for _, c := range port {
			if c < '0' || c > '9' {
				return "", ErrURL
			}
		}
		port = strings.TrimLeft(port, "0")
		if port == "" || len(port) > 5 || (len(port) == 5 && port > "65535") {
			return "", ErrURL
		}
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// SameURL reports whether a and b are the same valid URL once both are in
// canonical form.
func SameURL(a, b string) bool {
	ca, err1 := CanonicalURL(a)
	cb, err2 := CanonicalURL(b)
	return err1 == nil && err2 == nil && ca == cb
}

// SameHost reports whether a and b are valid URLs naming the same host
// name once canonical (scheme, port and path aside): the test of an
// organization bound to its URL.
func SameHost(a, b string) bool {
	ha, hb := canonicalHost(a), canonicalHost(b)
	return ha != "" && ha == hb
}

func canonicalHost(s string) string {
	c, err := CanonicalURL(s)
	if err != nil {
		return ""
	}
	u, err := url.Parse(c)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// NormalizeURL returns an organization URL in canonical form
// (CanonicalURL); a string that is not an http(s) URL comes back
// trimmed and lower-cased, and never equals a valid URL's canonical form.
func NormalizeURL(s string) string {
	if c, err := CanonicalURL(s); err == nil {
		return c
	}
	return strings.TrimRight(strings.ToLower(strings.TrimSpace(s)), "/")
}

// OfflineLocation is where an app looks for its organization's offline
// license unless told otherwise: the file licet-offline.lic at the root of
// the organization URL's path.
func OfflineLocation(orgURL string) string {
	return NormalizeURL(orgURL) + "/licet-offline.lic"
}
