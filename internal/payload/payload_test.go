package payload

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/licet/licet"
)

// The answers that were written from maps once must keep the maps' bytes:
// the command line and the SDKs read them.
func TestSameBytesAsTheMaps(t *testing.T) {
	u := &licet.User{ID: "0A0B0C0D-0000-0000-0000-000000000001", State: licet.UserLicensed}
	a := &licet.Admin{ID: 7, Email: "a@example.net"}
	lag := 1.5
	for _, c := range []struct {
		name      string
		typed, as any
	}{
		{"users", UserPage{Offset: 50, Total: 51, Users: []*licet.User{u}}, map[string]any{"total": 51, "offset": 50, "users": []*licet.User{u}}},
		{"batch", BatchResult{Changed: 1, Users: []*licet.User{u}}, map[string]any{"changed": 1, "users": []*licet.User{u}}},
		{"invitation", Invitation{Admin: a, Link: "https://l.example.net/admin/invite/x", Expires: time.Unix(0, 0).UTC().Format(time.RFC3339)},
			map[string]any{"admin": a, "link": "https://l.example.net/admin/invite/x", "expires": time.Unix(0, 0).UTC().Format(time.RFC3339)}},
		{"ready", Readiness{Status: "ready", Database: "ok"}, map[string]any{"status": "ready", "database": "ok"}},
		{"lagging", Readiness{Status: "not ready", Database: "ok", ReplicationLagSeconds: &lag, Reason: "replication lag 1.5s exceeds the bound of 1s"},
			map[string]any{"status": "not ready", "database": "ok", "replicationLagSeconds": lag, "reason": "replication lag 1.5s exceeds the bound of 1s"}},
		{"unreachable", Readiness{Status: "not ready", Database: "unreachable"}, map[string]string{"status": "not ready", "database": "unreachable"}},
		{"health", Health{Status: "ok"}, map[string]string{"status": "ok"}},
		{"error", Error{Error: ErrorDetail{Code: licet.EINVALID, Message: "<bad> & \"worse\""}}, map[string]any{"error": map[string]string{"code": licet.EINVALID, "message": "<bad> & \"worse\""}}},
		{"orgs", OrgList{}, map[string]any{"organizations": []*licet.Organization(nil)}},
		{"pools", PoolList{Pools: []licet.Pool{}}, map[string]any{"pools": []licet.Pool{}}},
		{"audit", AuditList{Events: []licet.AuditEvent{}}, map[string]any{"events": []licet.AuditEvent{}}},
		{"types", LicenseTypeList{LicenseTypes: []licet.LicenseType{}}, map[string]any{"licenseTypes": []licet.LicenseType{}}},
		{"mails", MailList{Mails: []*licet.Mail{}}, map[string]any{"mails": []*licet.Mail{}}},
		{"sso", SSOList{}, map[string]any{"providers": []*licet.SSOProvider(nil)}},
	} {
		if got, want := encode(t, c.typed), encode(t, c.as); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
}

// encode writes v as the server does.
func encode(t *testing.T, v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
