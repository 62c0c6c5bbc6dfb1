package check

import (
	"bytes"
	"strings"

	"github.com/licet/licet"
)

// fastXML reads the common shape of a MobileClient document (ASCII text,
// the known fields once each, no attributes, comments, entities, CDATA or
// unknown elements) without encoding/xml's reflection. Anything else, valid
// or not, returns ok=false and goes to encoding/xml, which decides. A fuzz
// test holds that whatever this accepts, encoding/xml reads the same way.
func fastXML(body []byte) (req licet.CheckRequest, ok bool) {
	b := skipSpace(body)
	if bytes.HasPrefix(b, []byte("<?xml")) {
		end := bytes.Index(b, []byte("?>"))
		if end < 0 {
			return req, false
		}
		decl := b[:end]
		// Only a plain declaration: an encoding other than UTF-8 (which
		// encoding/xml refuses) or anything unusual goes the slow way.
		if bytes.ContainsAny(decl, "<&") || (bytes.Contains(decl, []byte("encoding")) &&
			!bytes.Contains(decl, []byte(`encoding="UTF-8"`)) && !bytes.Contains(decl, []byte(`encoding="utf-8"`))) {
			return req, false
		}
		b = skipSpace(b[end+2:])
	}
	const open, closing = "<MobileClient>", "</MobileClient>"
	if !bytes.HasPrefix(b, []byte(open)) {
		return req, false
	}
	b = b[len(open):]
	seen := 0
	var str bodyString
	for {
		b = skipSpace(b)
		if bytes.HasPrefix(b, []byte(closing)) {
			if len(skipSpace(b[len(closing):])) != 0 {
				return req, false
			}
			own(&req, len(body))
			return req, true
		}
		if len(b) < 2 || b[0] != '<' {
			return req, false
		}
		end := bytes.IndexByte(b, '>')
		if end < 0 {
			return req, false
		}
		name := b[1:end]
		field, bit := fieldOf(&req, string(name)) // compared, not copied
		if field == nil || seen&bit != 0 {
			return req, false
		}
		seen |= bit
		b = b[end+1:]
		stop := bytes.IndexByte(b, '<')
		if stop < 0 {
			return req, false
		}
		text := b[:stop]
		for _, c := range text {
			if c >= 0x80 || c == '&' || c == '>' || c == '\r' || (c < 0x20 && c != '\t' && c != '\n') {
				return req, false
			}
		}
		start := len(body) - len(b)
		b = b[stop:]
		if len(b) < len(name)+3 || b[1] != '/' || !bytes.Equal(b[2:2+len(name)], name) || b[2+len(name)] != '>' {
			return req, false
		}
		*field = str.of(body, start, stop)
		b = b[len(name)+3:]
	}
}

// own gives the fields their own copies when they are less than a third
// of the body they were cut from (n bytes; the names and tags of a plain
// MobileClient document are about half of it): the buffers that keep a
// check's fields (sightings, leases, known devices) must not keep a body
// padded with what nobody reads, up to 64 KiB, alive with them.
func own(r *licet.CheckRequest, n int) {
	fields := [...]*string{&r.Version, &r.Edition, &r.DeviceID, &r.DeviceInfo, &r.OrganizationID, &r.OrganizationURL, &r.OrganizationName, &r.UserID}
	total := 0
	for _, f := range fields {
		total += len(*f)
	}
	if 3*total >= n {
		return
	}
	for _, f := range fields {
		*f = strings.Clone(*f)
	}
}

// bodyString hands out the fields of a request body as parts of one copy
// of it: one allocation per request instead of one per field. (A field
// kept for long keeps the whole body; they are most of it.)
type bodyString string

// of is body[start:start+n] as a string, copying body the first time.
func (s *bodyString) of(body []byte, start, n int) string {
	if *s == "" {
		*s = bodyString(body)
	}
	return string(*s)[start : start+n]
}

func fieldOf(r *licet.CheckRequest, name string) (*string, int) {
	switch name {
	case "Version":
		return &r.Version, 1
	case "Edition":
		return &r.Edition, 2
	case "DeviceId":
		return &r.DeviceID, 4
	case "DeviceInfo":
		return &r.DeviceInfo, 8
	case "OrganizationId":
		return &r.OrganizationID, 16
	case "OrganizationUrl":
		return &r.OrganizationURL, 32
	case "OrganizationName":
		return &r.OrganizationName, 64
	case "UserId":
		return &r.UserID, 128
	}
	return nil, 0
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// fastJSON reads the common shape of a JSON check (one flat object of
// plain ASCII strings, no escapes, each known member once) without
// encoding/json's reflection; anything else returns ok=false for
// encoding/json to decide. FuzzFastJSON holds the two to the same result.
func fastJSON(body []byte) (req licet.CheckRequest, ok bool) {
	b := skipSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return req, false
	}
	b = skipSpace(b[1:])
	seen := 0
	var str bodyString
	if len(b) > 0 && b[0] == '}' {
		return req, len(skipSpace(b[1:])) == 0
	}
	for {
		key, rest, ok := plainString(b)
		if !ok {
			return req, false
		}
		b = skipSpace(rest)
		if len(b) == 0 || b[0] != ':' {
			return req, false
		}
		value, rest, ok := plainString(skipSpace(b[1:]))
		if !ok {
			return req, false
		}
		if field, bit := jsonField(&req, key); field != nil {
			if seen&bit != 0 {
				return req, false
			}
			seen |= bit
			*field = str.of(body, len(body)-len(rest)-1-len(value), len(value))
		}
		b = skipSpace(rest)
		switch {
		case len(b) > 0 && b[0] == ',':
			b = skipSpace(b[1:])
		case len(b) > 0 && b[0] == '}':
			own(&req, len(body))
			return req, len(skipSpace(b[1:])) == 0
		default:
			return req, false
		}
	}
}

// plainString reads a JSON string of printable ASCII without escapes.
func plainString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], b[i+1:], true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// jsonField is the field a JSON member names, its case ignored as
// encoding/json ignores it.
func jsonField(r *licet.CheckRequest, key []byte) (*string, int) {
	if len(key) >= len(jsonNames) {
		return nil, 0
	}
	f := jsonNames[len(key)]
	if f == "Version" && !bytes.EqualFold(key, []byte(f)) {
		f = "Edition" // the one name of the same length
	}
	if f == "" || !bytes.EqualFold(key, []byte(f)) {
		return nil, 0
	}
	return fieldOf(r, f)
}

// jsonNames are the members' names by their length: one comparison finds
// a member.
var jsonNames = [...]string{6: "UserId", 7: "Version", 8: "DeviceId", 10: "DeviceInfo", 14: "OrganizationId", 15: "OrganizationUrl", 16: "OrganizationName"}
