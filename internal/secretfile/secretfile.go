// Package secretfile reads a secret kept in a file rather than on a command
// line (where ps and shell history show it): a database URL with its
// password, an SMTP URL, a client secret.
package secretfile

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxSize is the largest secret file read.
const MaxSize = 64 << 10

// Read reads a one-line secret: trailing white space and line ends are
// dropped; an empty or oversized file, or one of several lines, is an
// error.
func Read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	if len(b) > MaxSize {
		return "", fmt.Errorf("%s: larger than 64 KiB", path)
	}
	v := strings.TrimRight(string(b), " \t\r\n")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("%s has more than one line", path)
	}
	return v, nil
}
