package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func file(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadOneLine(t *testing.T) {
	for content, want := range map[string]string{
		"postgres://licet:pw@db/licet\n":      "postgres://licet:pw@db/licet",
		"s3cret":                              "s3cret",
		"s3cret \t\r\n\n":                     "s3cret",
		"  leading space is kept\n":           "  leading space is kept",
		strings.Repeat("x", MaxSize):          strings.Repeat("x", MaxSize),
		strings.Repeat("x", MaxSize-1) + "\n": strings.Repeat("x", MaxSize-1),
	} {
		got, err := Read(file(t, content))
		if err != nil || got != want {
			t.Errorf("Read(%.20q) = %.20q, %v; want %.20q", content, got, err, want)
		}
	}
}

func TestReadRefuses(t *testing.T) {
	for content, want := range map[string]string{
		"":                             "is empty",
		" \n\r\n":                      "is empty",
		"user\npassword\n":             "has more than one line",
		"a\rb":                         "has more than one line",
		strings.Repeat("x", MaxSize+1): "larger than 64 KiB",
	} {
		p := file(t, content)
		if _, err := Read(p); err == nil || err.Error() != p+" "+want && err.Error() != p+": "+want {
			t.Errorf("Read(%.20q): %v; want %q", content, err, want)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v", err)
	}
}
