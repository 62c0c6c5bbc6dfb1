package check

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/server/web"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	org  = "4F767AFF-B33F-437C-A7CB-00249948C82B"
	user = "661BAC34-1128-40B1-9653-00B9F54158CD"
)

// newCheck is the check's handler over a licensing service on fake
// stores: one organization with a seat of Standard.
func newCheck(t *testing.T, c Config) (*Handler, *fake.CheckGuardStore) {
	t.Helper()
	ring, err := keys.Open(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	clock := fake.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	store := fake.NewCheckStore(clock)
	store.PutLicenseType(licet.LicenseType{Name: "Standard"})
	store.PutOrg(licet.Organization{ID: org, Name: "Acme", URL: "https://acme.example", Settings: licet.DefaultSettings()})
	store.AddPool(licet.Pool{OrgID: org, LicenseType: "Standard", Seats: 1, From: clock.Now().Add(-time.Hour)})
	guard := &fake.CheckGuardStore{}
	logger := slog.New(slog.DiscardHandler)
	c.Service = licensing.New(store, licensing.Config{Keys: ring, Clock: clock, LeaseLength: 7 * 24 * time.Hour, ServerURL: "https://licet.example.net", ReadOnly: c.ReadOnly})
	c.Store, c.Logger, c.Errors = guard, logger, &web.Errors{Logger: logger}
	return New(c), guard
}

func send(t *testing.T, h http.Handler, contentType, body string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("POST", "/v1/license/check", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}

const (
	jsonCheck = `{"organizationId":"` + org + `","organizationUrl":"https://acme.example","userId":"` + user + `","deviceId":"d1","version":"1.0"}`
	xmlCheck  = `<MobileClient><OrganizationId>` + org + `</OrganizationId><OrganizationUrl>https://acme.example</OrganizationUrl><UserId>` + user + `</UserId><DeviceId>d1</DeviceId></MobileClient>`
)

// A check is answered in the format it came in, and counted by status.
func TestCheckAnswersInItsFormat(t *testing.T) {
	h, _ := newCheck(t, Config{})
	resp, body := send(t, h, "application/json", jsonCheck)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, `{"status":"Licensed","licensed":true,"licenseType":"Standard"`) || !strings.Contains(body, `"signature":"`) {
		t.Fatalf("JSON: %d\n%s", resp.StatusCode, body)
	}
	resp, body = send(t, h, "text/xml", xmlCheck)
	if resp.StatusCode != 200 || !strings.Contains(body, "<LicenseResponse>\n  <Status>Licensed</Status>\n  <Licensed>true</Licensed>") {
		t.Fatalf("XML: %d\n%s", resp.StatusCode, body)
	}
	if n := counted(t, h.checks, "Licensed"); n != 2 {
		t.Errorf("licet_checks_total{status=Licensed} = %v; want 2", n)
	}
	resp, body = send(t, h, "text/xml", `<!DOCTYPE x><MobileClient/>`)
	if resp.StatusCode != 400 || !strings.Contains(body, "<Error>\n  <Code>"+licet.EINVALID+"</Code>") {
		t.Errorf("a DTD: %d\n%s", resp.StatusCode, body)
	}
	if resp, body = send(t, h, "text/plain", "x"); resp.StatusCode != 415 || !strings.Contains(body, `"code": "`+licet.EUNSUPPORTED+`"`) {
		t.Errorf("text/plain: %d\n%s", resp.StatusCode, body)
	}
}

// A device over its rate is refused with 429 and a Retry-After, before
// the service is asked.
func TestDeviceOverItsRateIsRefused(t *testing.T) {
	h, _ := newCheck(t, Config{Limits: Limits{DeviceRate: 0.001, DeviceBurst: 1}})
	if resp, body := send(t, h, "application/json", jsonCheck); resp.StatusCode != 200 {
		t.Fatalf("first: %d\n%s", resp.StatusCode, body)
	}
	resp, body := send(t, h, "application/json", jsonCheck)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, licet.ERATE) {
		t.Errorf("second: %d Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if n := counted(t, h.limited, "device"); n != 1 {
		t.Errorf("licet_rate_limited_total{limit=device} = %v; want 1", n)
	}
}

// A backup further behind than its bound confirms nothing: 503.
func TestStaleBackupConfirmsNothing(t *testing.T) {
	h, guard := newCheck(t, Config{ReadOnly: true, MaxLag: time.Minute})
	guard.SetLag(10*time.Minute, true, nil)
	resp, body := send(t, h, "application/json", jsonCheck)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "10" || !strings.Contains(body, "behind the primary") {
		t.Errorf("stale: %d Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if n := counted(t, h.checks, "stale"); n != 1 {
		t.Errorf("licet_checks_total{status=stale} = %v; want 1", n)
	}
}

// counted reads a counter of c by its label's value.
func counted(t *testing.T, c prometheus.Collector, label string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
