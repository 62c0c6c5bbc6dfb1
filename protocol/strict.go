package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrNotStrict is wrapped by every refusal of CheckStrictJSON.
var ErrNotStrict = errors.New("not a strict JSON document")

// MaxDepth bounds the nesting of a signed document.
const MaxDepth = 32

// CheckStrictJSON checks that b is one JSON value, valid UTF-8, nested at
// most MaxDepth deep, in which no object has two keys that are equal or
// differ only in case. Parsers disagree on such documents (Go matches keys
// to fields case-insensitively and keeps the last duplicate; JavaScript's
// JSON.parse keeps the last exact duplicate and no case folding), so a
// signed document that has them could mean different things to different
// verifiers: every licet verifier refuses them before reading one field.
func CheckStrictJSON(b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: invalid UTF-8", ErrNotStrict)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := strictValue(d, 0); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the document", ErrNotStrict)
	}
	return nil
}

func strictValue(d *json.Decoder, depth int) error {
	t, err := d.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotStrict, err)
	}
	delim, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= MaxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrNotStrict, MaxDepth)
	}
	switch delim {
	case '[':
		for d.More() {
			if err := strictValue(d, depth+1); err != nil {
				return err
			}
		}
	case '{':
		seen := map[string]bool{}
		for d.More() {
			t, err := d.Token()
			if err != nil {
				return fmt.Errorf("%w: %v", ErrNotStrict, err)
			}
			k := t.(string)
			f := foldKey(k)
			if seen[f] {
				return fmt.Errorf("%w: the key %q appears twice (keys are compared ignoring case)", ErrNotStrict, k)
			}
			seen[f] = true
			if err := strictValue(d, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := d.Token(); err != nil { // the closing delimiter
		return fmt.Errorf("%w: %v", ErrNotStrict, err)
	}
	return nil
}

// foldKey maps every rune to the smallest rune of its Unicode simple case
// folding orbit, so two keys fold equal exactly when strings.EqualFold (and
// so encoding/json's field matching) holds them equal.
func foldKey(s string) string {
	var b []byte
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b = utf8.AppendRune(b, m)
	}
	return string(b)
}

// UnmarshalStrict checks b with CheckStrictJSON, then decodes it into v.
func UnmarshalStrict(b []byte, v any) error {
	if err := CheckStrictJSON(b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// exactMembers refuses an object member whose name matches a known one only
// when case is ignored: Go's decoder would read "ORG" as "org", JavaScript
// and Java would not, and a signed document must mean one thing to every
// verifier. Unknown names are left to the caller's rules.
func exactMembers(raw []byte, known ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for k := range m {
		for _, want := range known {
			if k != want && strings.EqualFold(k, want) {
				return fmt.Errorf("member %q is not %q", k, want)
			}
		}
	}
	return nil
}

// DecodeBase64 decodes the standard, padded base64 of leases, signatures
// and offline headers. Unlike encoding/base64 alone it refuses line breaks
// inside the text, as the JavaScript and Java verifiers do.
func DecodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("base64 with a line break")
	}
	return base64.StdEncoding.DecodeString(s)
}

// TimeFormat is how signed documents write times: UTC, whole seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// parseTime reads exactly that form (time.Parse alone would also take
// fractions of a second, which the other verifiers refuse).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, s)
	if err == nil && t.Format(TimeFormat) != s {
		err = fmt.Errorf("time %q is not in the form %s", s, TimeFormat)
	}
	return t, err
}
