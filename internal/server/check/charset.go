package check

import (
	"errors"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// charsetReader lets encoding/xml read documents declared in the 8-bit
// encodings older apps send (ISO-8859-1, windows-1252), converting them to
// UTF-8. Only these are accepted: each other label is refused by name. UTF-8
// documents never come here (and the common ones never reach encoding/xml:
// see fastxml.go), so the hot path is unchanged.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1":
		return charmap.ISO8859_1.NewDecoder().Reader(in), nil
	case "windows-1252", "cp1252", "x-cp1252":
		return charmap.Windows1252.NewDecoder().Reader(in), nil
	case "us-ascii", "ascii":
		return in, nil // a subset of UTF-8; a byte above 127 is then malformed
	}
	return nil, errors.New("send UTF-8, ISO-8859-1 or windows-1252")
}
