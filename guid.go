package licet

import "strings"

// ParseGUID accepts a GUID in any case, with or without braces or hyphens,
// and returns its canonical form: upper case, hyphenated, no braces. The
// canonical form is what is stored and compared, which makes comparison
// case-insensitive.
func ParseGUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	var hex []byte
	switch len(s) {
	case 32:
		hex = []byte(s)
	case 36:
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
