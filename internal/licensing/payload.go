package licensing

import (
	"encoding/json"
	"strconv"

	"github.com/licet/licet"
)

// appendLease appends the lease as json.Marshal writes it (same members,
// same order, same escaping), without its reflection: every check that
// signs encodes one. TestAppendLeaseMatchesMarshal and FuzzAppendLease hold
// the two to the same bytes, so the signed payload does not change.
func appendLease(b []byte, l *licet.Lease) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(l.Version), 10)
	for _, m := range [...]struct{ name, value string }{
		{`,"org":`, l.Org}, {`,"user":`, l.User}, {`,"device":`, l.Device}, {`,"type":`, l.LicenseType},
		{`,"status":`, string(l.Status)}, {`,"iat":`, l.IssuedAt}, {`,"exp":`, l.ExpiresAt}, {`,"kid":`, l.KeyID},
		{`,"role":`, l.Role}, {`,"server":`, l.Server},
	} {
		b = append(b, m.name...)
		b = AppendJSONString(b, m.value)
	}
	return append(b, '}')
}

// AppendJSONString appends s quoted as encoding/json quotes it: printable
// ASCII other than the characters it escapes as is, anything else through
// encoding/json itself.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
