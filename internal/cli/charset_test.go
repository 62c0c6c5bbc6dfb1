package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licet/licet"
)

// Older apps declare their documents in ISO-8859-1 or windows-1252; the
// check reads them as they say (a device name with "é" or "€" included), and
// refuses an encoding it does not know by name, changing nothing.
func TestCheckReadsLatin1AndWindows1252(t *testing.T) {
	s := start(t, "", nil, "--rate-device", "0")
	org := s.newOrg(1, 5)
	doc := func(enc, user, info string) string {
		return `<?xml version="1.0" encoding="` + enc + `"?>` + "\n<MobileClient><OrganizationId>" + org + "</OrganizationId><UserId>" + user +
			"</UserId><DeviceId>d-" + user[:8] + "</DeviceId><DeviceInfo>" + info + "</DeviceInfo><Version>6.1.0.0</Version></MobileClient>"
	}
	post := func(body string) (int, string) {
		resp, err := http.Post(s.url+"/v1/license/check", "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i, tc := range []struct{ enc, info, want string }{
		{"ISO-8859-1", "T\xe9l\xe9phone de Ren\xe9e", "Téléphone de Renée"},
		{"iso-8859-1", "caf\xe9", "café"},
		{"windows-1252", "Preis 5\x80 \x93Pro\x94", "Preis 5€ “Pro”"},
		{"UTF-8", "Téléphone", "Téléphone"},
	} {
		user := guid('u', i+1)
		code, body := post(doc(tc.enc, user, tc.info))
		if code != 200 || !strings.Contains(body, "<Status>Licensed</Status>") {
			t.Errorf("encoding=%q: %d %s", tc.enc, code, body)
			continue
		}
		var u licet.User
		json.Unmarshal([]byte(s.mustLicet("user", "show", "--org", org, "--user", user)), &u)
		if u.Last.DeviceInfo != tc.want {
			t.Errorf("encoding=%q: device info stored as %q; want %q", tc.enc, u.Last.DeviceInfo, tc.want)
		}
	}
	before := dump(t, filepath.Join(s.dir, "licet.db"))
	for _, enc := range []string{"EBCDIC-US", "UTF-16", "x-user-defined", strings.Repeat("A", 300), "ISO-8859-1\x00"} {
		code, body := post(doc(enc, guid('u', 50), "x"))
		if code != 400 || !strings.Contains(body, "<Code>invalid</Code>") {
			t.Errorf("encoding=%.40q: %d %s", enc, code, body)
		}
	}
	if code, body := post(doc("EBCDIC-US", guid('u', 50), "x")); !strings.Contains(body, "UTF-8, ISO-8859-1 or windows-1252") {
		t.Errorf("an unknown encoding: %d %s; want a message naming the accepted ones", code, body)
	}
	if after := dump(t, filepath.Join(s.dir, "licet.db")); after != before {
		t.Error("a refused encoding changed the database")
	}
}
