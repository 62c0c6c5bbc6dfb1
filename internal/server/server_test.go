package server

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/server/web"
)

// Paths and queries that are not plain text never reach a handler: the
// API answers in JSON, everything else in text.
func TestPlainQueryRefusesWhatIsNotText(t *testing.T) {
	reached := false
	h := plainQuery(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	for _, tc := range []struct{ target, want string }{
		{"/v1/orgs?q=%00", `"code": "` + licet.EINVALID + `"`},
		{"/v1/orgs/%ff", `"code": "` + licet.EINVALID + `"`},
		{"/admin/orgs?q=%ff", "invalid UTF-8 or a NUL byte"},
		{"/admin/orgs?q=%zz", "the query string could not be read"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.target, nil))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %q; want 400 with %q", tc.target, rec.Code, rec.Body.String(), tc.want)
		}
	}
	if reached {
		t.Error("a handler was reached")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/orgs?q=caf%C3%A9", nil))
	if !reached {
		t.Errorf("plain text was refused: %d", rec.Code)
	}
}

// One line per request, with an ID the answer carries; an invitation's
// path (the secret) and a hostile request ID never reach the log.
func TestRequestLogKeepsSecretsOut(t *testing.T) {
	var log bytes.Buffer
	s := &Server{Logger: slog.New(slog.NewTextHandler(&log, nil)), TLS: true}
	h := s.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	req := httptest.NewRequest("GET", "/admin/invite/s3cret-link", nil)
	req.Header.Set("X-Request-Id", "bad id\nwith=a newline")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	id := rec.Header().Get("X-Request-Id")
	if !validRequestID(id) || strings.Contains(id, "bad") {
		t.Errorf("request ID %q", id)
	}
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	line := log.String()
	if strings.Contains(line, "s3cret") || strings.Contains(line, "newline") || !strings.Contains(line, "path=/admin/invite/…") ||
		!strings.Contains(line, "status=418") || !strings.Contains(line, "id="+id) {
		t.Errorf("log line: %s", line)
	}
}

// The metrics on the main listener are the operator token's only.
func TestMetricsAreTheOperators(t *testing.T) {
	h := sha256.Sum256([]byte("lct_operator"))
	s := &Server{Logger: slog.New(slog.DiscardHandler), TokenHash: h[:]}
	s.errors = &web.Errors{Logger: s.Logger}
	handler := s.operatorOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics")) }))
	for tok, want := range map[string]int{"": 401, "lct_wrong": 401, "lca_someadmin": 403, "lct_operator": 200} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("token %q: %d; want %d", tok, rec.Code, want)
		}
	}
}
