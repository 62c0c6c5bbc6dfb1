package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestCheckAnswerOneWrite holds the check's answer to its wire form: a
// Content-Length that matches the body, no chunked encoding (net/http then
// sends headers and body in one write), no-store, the request ID, and the
// content type of the request's format, for answers and for errors.
func TestCheckAnswerOneWrite(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 5)
	for _, c := range []struct {
		ctype, body, wantType string
		status                int
	}{
		{"application/json", `{"organizationId":"` + org + `","userId":"` + guid('u', 1) + `","deviceId":"d"}`, "application/json; charset=utf-8", 200},
		{"application/xml; charset=utf-8", `<MobileClient><OrganizationId>` + org + `</OrganizationId><UserId>` + guid('u', 2) + `</UserId><DeviceId>d</DeviceId></MobileClient>`, "application/xml; charset=utf-8", 200},
		{"text/xml", `<MobileClient><OrganizationId>` + org + `</OrganizationId><UserId>` + guid('u', 3) + `</UserId><DeviceId>d</DeviceId></MobileClient>`, "application/xml; charset=utf-8", 200},
		{"Application/JSON; Charset=UTF-8", `{"organizationId":"` + org + `","userId":"` + guid('u', 4) + `","deviceId":"d"}`, "application/json; charset=utf-8", 200},
		{"application/json", `{"organizationId":"nope"}`, "application/json; charset=utf-8", 400},
		{"application/xml", `<MobileClient><OrganizationId>nope</OrganizationId></MobileClient>`, "application/xml; charset=utf-8", 400},
		{"text/plain", `x`, "application/json; charset=utf-8", 415},
		{"", `x`, "application/json; charset=utf-8", 415},
	} {
		req, _ := http.NewRequest("POST", s.url+"/v1/license/check", strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.wantType {
			t.Errorf("%s %s: %d %s, want %d %s: %s", c.ctype, c.body, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.wantType, body)
		}
		if n, _ := strconv.Atoi(resp.Header.Get("Content-Length")); n == 0 || n != len(body) || len(resp.TransferEncoding) != 0 {
			t.Errorf("%s: Content-Length %q, Transfer-Encoding %v, body of %d bytes", c.ctype, resp.Header.Get("Content-Length"), resp.TransferEncoding, len(body))
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: headers %v", c.ctype, resp.Header)
		}
		if c.status == 200 && !bytes.Contains(body, []byte("Licensed")) && !bytes.Contains(body, []byte("licensed")) {
			t.Errorf("%s: %s", c.ctype, body)
		}
	}
}
