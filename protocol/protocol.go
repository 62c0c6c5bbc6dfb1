// Package protocol is what licet's server and every device must agree on
// byte for byte, written once: the signed documents (the lease, the offline
// license, the key set) with their verifiers and the refusal codes every
// verifier gives (Reason), key IDs, the check answer's Status names, the
// one canonical form of GUIDs and organization URLs, and the strict reading
// of signed JSON. The server signs with it and the device SDK (package
// client) verifies with it, so a value canonicalized on one side compares
// equal on the other; the verifiers in other languages follow the same
// rules, held to them by sdk/vectors and testdata/vectors.json.
//
// It imports the standard library and golang.org/x/net/idna (host names to
// punycode, in url.go: the UTS #46 tables the standard library does not
// export; docs/PROTOCOL.md, "One Go package") only, and nothing of licet's.
package protocol

import "strings"

// CanonicalGUID accepts a GUID in any case, with or without braces or
// hyphens, and surrounding white space, and returns its canonical form:
// upper case, hyphenated (8-4-4-4-12), no braces. Two GUIDs are the same
// exactly when their canonical forms are equal.
func CanonicalGUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	if canonical(s) {
		return s, true // already so: no copy
	}
	var hex []byte
	switch len(s) {
	case 32:
		hex = []byte(s)
	case 36:
		hex = make([]byte, 0, 32)
		for i := 0; i < 36; i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return "", false
				}
				continue
			}
			hex = append(hex, s[i])
		}
	default:
		return "", false
	}
	out := make([]byte, 0, 36)
	for i, c := range hex {
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'F':
		case c >= 'a' && c <= 'f':
			c -= 'a' - 'A'
		default:
			return "", false
		}
		if i == 8 || i == 12 || i == 16 || i == 20 {
			out = append(out, '-')
		}
		out = append(out, c)
	}
	return string(out), true
}

// canonical reports whether s is a GUID in canonical form.
func canonical(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// SameGUID reports whether a and b are the same valid GUID in any of the
// forms CanonicalGUID accepts.
func SameGUID(a, b string) bool {
	ca, ok1 := CanonicalGUID(a)
	cb, ok2 := CanonicalGUID(b)
	return ok1 && ok2 && ca == cb
}
