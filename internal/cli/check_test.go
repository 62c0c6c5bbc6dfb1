package cli_test

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

const day = 24 * time.Hour

func TestConcurrentNewUsersNeverOverAssign(t *testing.T) {
	s := start(t, "", nil)
	for round := range 3 {
		org := s.newOrg(round+1, 10)
		var wg sync.WaitGroup
		statuses := make([]licet.Status, 50)
		for i := range 50 {
			wg.Go(func() { statuses[i] = s.check(org, guid('u', i)).Status })
		}
		wg.Wait()
		n := map[licet.Status]int{}
		for _, st := range statuses {
			n[st]++
		}
		if n[licet.StatusLicensed] != 10 || n[licet.StatusNoLicenseAvailable] != 40 {
			t.Errorf("round %d: %v; want 10 Licensed and 40 NoLicenseAvailable", round, n)
		}
		if c := s.orgShow(org)["Standard"]; c.Total != 10 || c.Used != 10 || c.Available != 0 {
			t.Errorf("round %d: org show says %+v", round, c)
		}
	}
}

func TestRestartKeepsAssignmentsKeyAndLeases(t *testing.T) {
	dir := t.TempDir()
	clk := storetest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	s := start(t, dir, clk, "--flush-interval", "1m")
	org := s.newOrg(1, 1)
	first := s.check(org, guid('u', 1))
	if first.Status != licet.StatusLicensed {
		t.Fatalf("first check: %+v", first)
	}
	clk.Add(time.Hour)
	s.check(org, guid('u', 1)) // a licensed check: its sighting waits in memory
	s.stop()                   // and is written on shutdown

	s2 := start(t, dir, clk)
	l := s2.lease(first) // the old lease verifies with the key published after the restart
	if l.User != guid('u', 1) || l.Org != org {
		t.Errorf("old lease: %+v", l)
	}
	again := s2.check(org, guid('u', 1))
	if again.Status != licet.StatusLicensed || again.KeyID != first.KeyID {
		t.Errorf("after restart: %s with key %s; want Licensed with key %s", again.Status, again.KeyID, first.KeyID)
	}
	if other := s2.check(org, guid('u', 2)); other.Status != licet.StatusNoLicenseAvailable {
		t.Errorf("the one seat is still taken, got %s", other.Status)
	}
	var u licet.User
	if err := json.Unmarshal([]byte(s2.mustLicet("user", "show", "--org", org, "--user", guid('u', 1))), &u); err != nil {
		t.Fatal(err)
	}
	if !u.LastSeen.Equal(clk.Now()) {
		t.Errorf("last seen %v; want %v (the sighting flushed at shutdown)", u.LastSeen, clk.Now())
	}
	for _, f := range []string{"operator-token", "licet.db", filepath.Join("keys", first.KeyID+".pem")} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v); want 0600", f, fi.Mode().Perm(), err)
		}
	}
}

func TestTemporaryLicenseExpires(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	s := start(t, "", clk)
	org := s.newOrg(1, 5, "--auto-assign=false")
	a := s.check(org, guid('u', 1))
	if a.Status != licet.StatusTemporary || !a.Licensed {
		t.Fatalf("new user, auto-assign off: %+v", a)
	}
	if l := s.lease(a); l.ExpiresAt != clk.Now().Add(7*day).Format(licet.TimeFormat) || l.Status != licet.StatusTemporary {
		t.Errorf("temporary lease: %+v", l)
	}
	end := clk.Now().Add(14 * day)
	clk.Add(10 * day)
	a = s.check(org, guid('u', 1))
	if l := s.lease(a); a.Status != licet.StatusTemporary || l.ExpiresAt != end.Format(licet.TimeFormat) {
		t.Errorf("day 10: %s, lease until %s; want Temporary until %s", a.Status, l.ExpiresAt, end)
	}
	clk.Add(4*day + time.Second)
	if a = s.check(org, guid('u', 1)); a.Status != licet.StatusNotAssigned || a.Licensed || a.Lease != "" {
		t.Errorf("after 14 days: %+v", a)
	}
	s.mustLicet("user", "assign", "--org", org, "--user", guid('u', 1))
	if a = s.check(org, guid('u', 1)); a.Status != licet.StatusLicensed {
		t.Errorf("after an administrator's assignment: %s", a.Status)
	}
	org2 := s.newOrg(2, 5, "--auto-assign=false", "--temporary-days", "0")
	if a = s.check(org2, guid('u', 1)); a.Status != licet.StatusNotAssigned {
		t.Errorf("no temporary licenses: %s", a.Status)
	}
}

func TestUnusedSeatIsReclaimedAfter90Days(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	s := start(t, "", clk, "--flush-interval", "10ms")
	org := s.newOrg(1, 2, "--free-unused-days", "90")
	idle, active, newcomer := guid('u', 1), guid('u', 2), guid('u', 3)
	s.check(org, idle)
	s.check(org, active)
	clk.Add(60 * day)
	s.check(org, active) // a licensed check: recorded by the batch writer
	waitLastSeen(t, s, org, active, clk.Now())
	clk.Add(31 * day) // idle: 91 days; active: 31 days
	if a := s.check(org, newcomer); a.Status != licet.StatusLicensed {
		t.Fatalf("newcomer: %+v", a)
	}
	if a := s.check(org, idle); a.Status != licet.StatusNoLicenseAvailable {
		t.Errorf("the idle user's seat moved; got %s", a.Status)
	}
	if a := s.check(org, active); a.Status != licet.StatusLicensed {
		t.Errorf("the active user keeps the seat; got %s", a.Status)
	}
	audit := s.mustLicet("audit", "--org", org)
	if !strings.Contains(audit, "user.reclaim") || !strings.Contains(audit, idle) {
		t.Errorf("audit log lacks the reclaim:\n%s", audit)
	}
}

func waitLastSeen(t *testing.T, s *server, org, user string, want time.Time) {
	t.Helper()
	for range 200 {
		var u licet.User
		json.Unmarshal([]byte(s.mustLicet("user", "show", "--org", org, "--user", user)), &u)
		if u.LastSeen.Equal(want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the sighting of %s was not written", user)
}

func TestPoolTermEndsSubscription(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	s := start(t, "", clk)
	org := s.newOrg(1, 0)
	s.mustLicet("pool", "add", "--org", org, "--type", "Standard", "--seats", "5", "--until", "2026-03-03")
	a := s.check(org, guid('u', 1))
	if l := s.lease(a); a.Status != licet.StatusLicensed || l.ExpiresAt != "2026-03-04T00:00:00Z" {
		t.Errorf("lease bounded by the pool's last day: %s until %s", a.Status, l.ExpiresAt)
	}
	clk.Add(3 * day)
	if a = s.check(org, guid('u', 1)); a.Status != licet.StatusSubscriptionExpired || a.Licensed {
		t.Errorf("licensed user after the term: %+v", a)
	}
	if a = s.check(org, guid('u', 2)); a.Status != licet.StatusSubscriptionExpired {
		t.Errorf("new user after the term: %s", a.Status)
	}
	if c := s.orgShow(org)["Standard"]; c.Total != 0 || c.Used != 1 {
		t.Errorf("seats after the term: %+v", c)
	}
}

func TestLeaseLengthAndStatuses(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	s := start(t, "", clk, "--lease-duration", "36h", "--public-url", "https://licet.example.com")
	org := s.newOrg(1, 3)
	a := s.check(org, guid('u', 1))
	l := s.lease(a)
	want := licet.Lease{Version: 1, Org: org, User: guid('u', 1), Device: "dev-" + guid('u', 1), LicenseType: "Standard",
		Status: licet.StatusLicensed, IssuedAt: "2026-03-01T08:00:00Z", ExpiresAt: "2026-03-02T20:00:00Z", KeyID: a.KeyID,
		Role: licet.RolePrimary, Server: "https://licet.example.com"}
	if l != want {
		t.Errorf("lease\n got %+v\nwant %+v", l, want)
	}
	// The same user in any case and with braces is the same user.
	if a := s.check("{"+strings.ToLower(org)+"}", strings.ToLower(guid('u', 1))); a.Status != licet.StatusLicensed {
		t.Errorf("lower case GUIDs: %s", a.Status)
	}
	if c := s.orgShow(org)["Standard"]; c.Used != 1 {
		t.Errorf("case-insensitive GUIDs took a second seat: %+v", c)
	}
	s.mustLicet("user", "disable", "--org", org, "--user", guid('u', 1))
	if a := s.check(org, guid('u', 1)); a.Status != licet.StatusUserDisabled || a.Licensed {
		t.Errorf("disabled: %+v", a)
	}
	if a := s.check(guid('o', 99), guid('u', 1)); a.Status != licet.StatusUnknownOrganization || a.HTTP != 200 {
		t.Errorf("unknown org: %+v", a)
	}
	s.mustLicet("type", "set", "--name", "Inspections", "--includes", "Standard")
	org2 := s.newOrg(2, 0)
	s.mustLicet("pool", "add", "--org", org2, "--type", "Inspections", "--seats", "1")
	body := fmt.Sprintf(`{"organizationId":%q,"userId":%q,"deviceId":"d","edition":"Standard"}`, org2, guid('u', 1))
	if a := s.post("application/json", []byte(body)); a.Status != licet.StatusLicensed || a.LicenseType != "Inspections" {
		t.Errorf("an Inspections seat serves a Standard app: %s %s", a.Status, a.LicenseType)
	}
	s.mustLicet("org", "set", "--org", org2, "--assign-type", "Premium")
	if a := s.check(org2, guid('u', 2)); a.Status != licet.StatusNoLicenseAvailable {
		t.Errorf("a type no pool sells: %s", a.Status)
	}
}

// dump reads every stored row, so a test can tell that nothing changed.
func dump(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, tbl := range tables {
		rows, err := db.Query(`SELECT * FROM "` + tbl + `" ORDER BY rowid`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			fmt.Fprintf(&b, "%s %v\n", tbl, vals)
		}
		rows.Close()
	}
	return b.String()
}

func TestMalformedAndHostileChecks(t *testing.T) {
	s := start(t, "", nil, "--flush-interval", "10ms")
	org := s.newOrg(1, 1)
	user := guid('u', 1)
	xmlDoc := func(inner string) string {
		return "<MobileClient><DeviceId>d</DeviceId><OrganizationId>" + org + "</OrganizationId><UserId>" + user + "</UserId>" + inner + "</MobileClient>"
	}
	tests := []struct {
		name, ctype, body string
		status            int
		says              string
	}{
		{"no content type", "", xmlDoc(""), 415, "Content-Type"},
		{"plain text", "text/plain", xmlDoc(""), 415, "not supported"},
		{"form", "application/x-www-form-urlencoded", "a=b", 415, "not supported"},
		{"too large", "application/xml", xmlDoc(strings.Repeat("<X>aaaaaaaa</X>", 5000)), 413, "larger"},
		{"empty", "application/xml", "", 400, "XML"},
		{"not XML", "application/xml", "hello", 400, "XML"},
		{"truncated", "application/xml", xmlDoc("")[:60], 400, "XML"},
		{"wrong root", "application/xml", "<Other><UserId>" + user + "</UserId></Other>", 400, "MobileClient"},
		{"doctype", "application/xml", `<!DOCTYPE MobileClient [<!ENTITY x "y">]>` + xmlDoc("<Version>&x;</Version>"), 400, "DOCTYPE"},
		{"billion laughs", "text/xml", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>` + xmlDoc("<Version>&lol2;</Version>"), 400, "DOCTYPE"},
		{"external entity", "application/xml", `<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + xmlDoc("<Version>&e;</Version>"), 400, "DOCTYPE"},
		{"undeclared entity", "application/xml", xmlDoc("<Version>&x;</Version>"), 400, "XML"},
		{"two documents", "application/xml", xmlDoc("") + xmlDoc(""), 400, "more than one"},
		{"text after", "application/xml", xmlDoc("") + "junk", 400, "text after"},
		{"an unknown encoding declared", "application/xml", `<?xml version="1.0" encoding="EBCDIC-US"?>` + xmlDoc(""), 400, "UTF-8, ISO-8859-1 or windows-1252"},
		{"missing user", "application/xml", "<MobileClient><DeviceId>d</DeviceId><OrganizationId>" + org + "</OrganizationId></MobileClient>", 400, "UserId is required"},
		{"missing device", "application/xml", "<MobileClient><OrganizationId>" + org + "</OrganizationId><UserId>" + user + "</UserId></MobileClient>", 400, "DeviceId is required"},
		{"bad org GUID", "application/xml", "<MobileClient><DeviceId>d</DeviceId><OrganizationId>' OR 1=1 --</OrganizationId><UserId>" + user + "</UserId></MobileClient>", 400, "OrganizationId is not a GUID"},
		{"bad user GUID", "application/json", `{"organizationId":"` + org + `","userId":"661BAC34-1128-40B1-9653","deviceId":"d"}`, 400, "UserId is not a GUID"},
		{"device too long", "application/xml", "<MobileClient><DeviceId>" + strings.Repeat("a", 300) + "</DeviceId><OrganizationId>" + org + "</OrganizationId><UserId>" + user + "</UserId></MobileClient>", 400, "DeviceId is longer"},
		{"control characters", "application/json", `{"organizationId":"` + org + `","userId":"` + user + `","deviceId":"a\u0000b"}`, 400, "DeviceId contains"},
		{"info too long", "application/xml", xmlDoc("<DeviceInfo>" + strings.Repeat("i", 600) + "</DeviceInfo>"), 400, "DeviceInfo is longer"},
		{"JSON number", "application/json", `{"organizationId":1,"userId":"` + user + `","deviceId":"d"}`, 400, "must be a string"},
		{"JSON array", "application/json", `[1,2]`, 400, ""},
		{"JSON trailing", "application/json", `{"organizationId":"` + org + `","userId":"` + user + `","deviceId":"d"} {}`, 400, "more than one"},
		{"JSON malformed", "application/json", `{"organizationId":`, 400, "malformed JSON"},
	}
	dbPath := filepath.Join(s.dir, "licet.db")
	before := dump(t, dbPath)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.post(tt.ctype, []byte(tt.body))
			if a.HTTP != tt.status {
				t.Errorf("HTTP %d; want %d", a.HTTP, tt.status)
			}
			if !strings.Contains(a.Error.Message, tt.says) {
				t.Errorf("message %q does not say %q", a.Error.Message, tt.says)
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let any (wrongly) buffered sighting reach the database
	if after := dump(t, dbPath); after != before {
		t.Errorf("a bad request changed the database:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

func TestXMLErrorsAnswerInXMLAndAreNamed(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 1)
	resp, err := http.Post(s.url+"/v1/license/check", "text/xml; charset=utf-8",
		strings.NewReader("<MobileClient><DeviceId>d</DeviceId><OrganizationId>"+org+"</OrganizationId><UserId>nope</UserId></MobileClient>"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "<Message>UserId is not a GUID</Message>") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

func TestTolerantXML(t *testing.T) {
	s := start(t, "", nil)
	org := s.newOrg(1, 5)
	doc := func(user string) string {
		return "\xef\xbb\xbf \n<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- a comment -->\n<MobileClient>\n" +
			"  <UserId>" + strings.ToLower(user) + "</UserId>\n  <Unknown><Nested a=\"1\">x</Nested></Unknown>\n" +
			"  <OrganizationId>{" + org + "}</OrganizationId>\n  <DeviceId> 45d780e4f18354949676f743b0h11633951652bc </DeviceId>\n" +
			"  <DeviceInfo>iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0</DeviceInfo>\n  <Version>6.1.0.0</Version><Edition>Resco</Edition>\n" +
			"  <OrganizationUrl>https://testcrm.example.net</OrganizationUrl><OrganizationName>testcrm</OrganizationName>\n</MobileClient>\n\n"
	}
	resp, err := http.Post(s.url+"/v1/license/check", "application/xml", strings.NewReader(doc(guid('u', 1))))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<Status>Licensed</Status>") || !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var u licet.User
	json.Unmarshal([]byte(s.mustLicet("user", "show", "--org", org, "--user", guid('u', 1))), &u)
	if u.Last.DeviceID != "45d780e4f18354949676f743b0h11633951652bc" || u.Last.Edition != "Resco" || u.Last.OrganizationName != "testcrm" {
		t.Errorf("sighting: %+v", u.Last)
	}
}

func TestLeaseVerifiesWithOpenSSL(t *testing.T) {
	_, err := exec.LookPath("openssl")
	storetest.Require(t, "openssl", err)
	s := start(t, "", nil)
	org := s.newOrg(1, 1)
	a := s.check(org, guid('u', 1))
	dir := t.TempDir()
	lease, _ := base64.StdEncoding.DecodeString(a.Lease)
	sig, _ := base64.StdEncoding.DecodeString(a.Signature)
	os.WriteFile(filepath.Join(dir, "lease.bin"), lease, 0o600)
	os.WriteFile(filepath.Join(dir, "sig.bin"), sig, 0o600)
	os.WriteFile(filepath.Join(dir, "public.pem"), []byte(s.mustLicet("keys", "public")), 0o600)
	verify := func() (string, error) {
		cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public.pem", "-rawin", "-in", "lease.bin", "-sigfile", "sig.bin")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	tampered := strings.Replace(string(lease), `"Standard"`, `"Premium!"`, 1)
	os.WriteFile(filepath.Join(dir, "lease.bin"), []byte(tampered), 0o600)
	if out, err := verify(); err == nil {
		t.Fatalf("openssl accepted a tampered lease: %s", out)
	}
}
