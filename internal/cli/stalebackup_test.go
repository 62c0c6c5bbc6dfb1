package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

// A backup whose data is older than --max-lag stops vouching: checks get
// 503 with Retry-After (devices fall back to their stored lease), and the
// leases a backup signs last at most --backup-lease. The real binary, on a
// SQLite snapshot whose lag is its age.
func TestStaleBackupStopsVouching(t *testing.T) {
	licetBinary(t) // built before the snapshot, so that its age is ours to control
	primary := start(t, "", storetest.NewClock(time.Now().UTC()))
	org := primary.newOrg(1, 5)
	a := guid('u', 1)
	if st := primary.check(org, a).Status; st != licet.StatusLicensed {
		t.Fatal(st)
	}
	snap := filepath.Join(t.TempDir(), "snap.db")
	primary.mustLicet("backup", "--out", snap)
	taken := time.Now()

	short := startProcess(t, provisionKeys(t, primary), snap, "--read-only", "--backup-lease", "2h")
	got := short.check(org, a)
	if got.Status != licet.StatusLicensed {
		t.Fatalf("backup: %+v", got)
	}
	if l := backupLease(t, primary, got); leaseLength(t, l) != 2*time.Hour {
		t.Errorf("--backup-lease 2h: a lease of %s", leaseLength(t, l))
	}
	short.stop()

	backup := startProcess(t, provisionKeys(t, primary), snap, "--read-only", "--max-lag", "4s")
	if time.Since(taken) < 4*time.Second {
		got = backup.check(org, a)
		if got.Status != licet.StatusLicensed {
			t.Fatalf("a fresh backup: %+v", got)
		}
		if l := backupLease(t, primary, got); leaseLength(t, l) != 24*time.Hour {
			t.Errorf("the default backup lease: %s, want 24h", leaseLength(t, l))
		}
	}
	time.Sleep(time.Until(taken.Add(5 * time.Second)))
	body, _ := json.Marshal(map[string]string{"organizationId": org, "userId": a, "deviceId": "dev-" + a})
	resp, err := http.Post(backup.url+"/v1/license/check", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 503 || ra < 1 {
		t.Errorf("a backup 5 s behind with --max-lag 4s: %d, Retry-After %q; want 503 and a Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := backup.check(org, a); got.HTTP != 503 || got.Error.Code != "unavailable" {
		t.Errorf("stale backup, JSON answer: %+v", got)
	}
}

func leaseLength(t *testing.T, l licet.Lease) time.Duration {
	iat, err1 := time.Parse(time.RFC3339, l.IssuedAt)
	exp, err2 := time.Parse(time.RFC3339, l.ExpiresAt)
	if err1 != nil || err2 != nil {
		t.Fatalf("lease times %q %q", l.IssuedAt, l.ExpiresAt)
	}
	return exp.Sub(iat)
}
