package cli_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/licet/licet"
	"github.com/licet/licet/internal/cli"
	"github.com/licet/licet/internal/storetest"
)

// provisionKeys copies the primary's signing keys and secrets key into a new data folder
// for a backup, as docs/OPERATIONS.md tells operators to.
func provisionKeys(t *testing.T, primary *server) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join(primary.dir, "keys"), filepath.Join(primary.dir, "secrets.key"), dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	return dir
}

// backupLease checks a backup's answer: a lease from the backup, signed
// with a key the primary publishes (the key devices trust).
func backupLease(t *testing.T, primary *server, a answer) licet.Lease {
	t.Helper()
	l := primary.lease(a)
	if l.Role != licet.RoleBackup {
		t.Errorf("lease role %q; want backup", l.Role)
	}
	return l
}

func fileHash(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestSQLiteSnapshotServedReadOnly(t *testing.T) {
	primary := start(t, "", nil)
	org := primary.newOrg(1, 100_000)
	for i := range 20 {
		primary.check(org, guid('u', i))
	}
	// Take the snapshot while new users keep taking seats.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1000; ; i++ {
			select {
			case <-stop:
				return
			default:
				primary.check(org, guid('u', i))
			}
		}
	})
	time.Sleep(100 * time.Millisecond)
	snap := filepath.Join(t.TempDir(), "snapshot.db")
	out := primary.mustLicet("backup", "--out", snap)
	close(stop)
	wg.Wait()
	if !strings.Contains(out, "wrote a snapshot") {
		t.Errorf("backup said %q", out)
	}
	if fi, err := os.Stat(snap); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot: %v %v", fi, err)
	}
	before := fileHash(t, snap)

	backup := start(t, provisionKeys(t, primary), nil, "--read-only", "--database", snap, "--lease-duration", "24h")
	backup.dir = primary.dir // the operator token is the primary's, and the snapshot holds its hash
	var users []licet.User
	if err := json.Unmarshal([]byte(backup.mustLicet("user", "list", "--org", org, "--state", "licensed", "--json")), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) < 20 {
		t.Fatalf("the snapshot holds %d licensed users; want at least the 20 licensed before it", len(users))
	}
	for _, u := range users {
		a, p := backup.check(org, u.ID), primary.check(org, u.ID)
		if a.Status != p.Status || a.LicenseType != p.LicenseType {
			t.Fatalf("%s: backup says %s %s, primary %s %s", u.ID, a.Status, a.LicenseType, p.Status, p.LicenseType)
		}
		if l := backupLease(t, primary, a); l.ExpiresAt > time.Now().Add(24*time.Hour+time.Minute).UTC().Format(licet.TimeFormat) {
			t.Errorf("backup lease until %s; want at most 24h", l.ExpiresAt)
		}
	}
	if a := backup.check(org, guid('u', 999_999)); a.Status != licet.StatusReadOnlyServer || a.Licensed || !strings.Contains(a.Message, "primary") {
		t.Errorf("new user on the backup: %+v", a)
	}
	if a := backup.check(guid('o', 77), guid('u', 1)); a.Status != licet.StatusUnknownOrganization {
		t.Errorf("unknown org on the backup: %s", a.Status)
	}
	for _, args := range [][]string{
		{"org", "set", "--org", org, "--auto-assign=false"},
		{"user", "disable", "--org", org, "--user", users[0].ID},
		{"pool", "add", "--org", org, "--type", "Standard", "--seats", "1"},
		{"keys", "rotate"},
	} {
		if _, err := backup.licet(args...); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("licet %v on the backup: %v; want a read-only refusal", args, err)
		}
	}
	backup.stop()
	if fileHash(t, snap) != before {
		t.Error("serving the snapshot changed it")
	}

	// The snapshot's age is its lag.
	later := storetest.NewClock(primary.clock.Now().Add(2 * time.Minute))
	b2 := start(t, provisionKeys(t, primary), later, "--read-only", "--database", snap, "--max-lag", "1m")
	if code := get(t, b2.url+"/readyz"); code != 503 {
		t.Errorf("/readyz past the lag bound: %d; want 503", code)
	}
}

func TestBackupWithoutKeysRefusesToStart(t *testing.T) {
	primary := start(t, "", nil)
	snap := filepath.Join(t.TempDir(), "s.db")
	primary.mustLicet("backup", "--out", snap)
	var stderr syncBuffer
	p := &cli.Program{Stdout: &stderr, Stderr: &stderr}
	code := p.Run(t.Context(), []string{"serve", "--read-only", "--database", snap, "--data", t.TempDir(), "--listen", "127.0.0.1:0"})
	if code == 0 || !strings.Contains(stderr.String(), "copy the primary's keys folder") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

func TestPostgresHotStandbyBackup(t *testing.T) {
	cluster := storetest.NewPrimary(t)
	standby := cluster.NewStandby()
	primary := start(t, "", nil, "--database", cluster.URL())
	org := primary.newOrg(1, 5)
	a := guid('u', 1)
	if st := primary.check(org, a).Status; st != licet.StatusLicensed {
		t.Fatalf("primary: %s", st)
	}
	// The standby replays the primary's schema and operator token hash
	// asynchronously: wait for them before a read-only licet opens it
	// (it reads the token hash once, at start).
	if sdb, err := sql.Open("pgx", standby.URL()); err == nil {
		replayed := func() bool {
			var n int
			return sdb.QueryRow(`SELECT count(*) FROM meta WHERE key = 'operator_token_sha256'`).Scan(&n) == nil && n == 1
		}
		for deadline := time.Now().Add(10 * time.Second); !replayed() && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		sdb.Close()
	}
	backup := start(t, provisionKeys(t, primary), nil, "--read-only", "--database", standby.URL(),
		"--lease-duration", "24h", "--max-lag", "1s", "--public-url", "https://backup.example.com")
	backup.dir = primary.dir

	var got answer
	deadline := time.Now().Add(10 * time.Second)
	for got = backup.check(org, a); got.Status != licet.StatusLicensed && time.Now().Before(deadline); got = backup.check(org, a) {
		time.Sleep(50 * time.Millisecond)
	}
	if got.Status != licet.StatusLicensed {
		t.Fatalf("the standby's licet did not confirm the primary's assignment: %+v", got)
	}
	if l := backupLease(t, primary, got); l.Server != "https://backup.example.com" {
		t.Errorf("backup lease names %q", l.Server)
	}

	// A user assigned on the primary now shows up on the backup too.
	b := guid('u', 2)
	primary.mustLicet("user", "assign", "--org", org, "--user", b)
	deadline = time.Now().Add(5 * time.Second)
	for backup.check(org, b).Status != licet.StatusLicensed {
		if time.Now().After(deadline) {
			t.Fatal("an assignment on the primary did not reach the backup within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	if st := backup.check(org, guid('u', 3)).Status; st != licet.StatusReadOnlyServer {
		t.Errorf("new user on the backup: %s", st)
	}
	if _, err := backup.licet("user", "assign", "--org", org, "--user", guid('u', 3)); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("operator write on the backup: %v", err)
	}
	if c := primary.orgShow(org)["Standard"]; c.Used != 2 {
		t.Errorf("the backup changed seats: %+v", c)
	}
	var all []licet.User
	if err := json.Unmarshal([]byte(primary.mustLicet("user", "list", "--org", org, "--json")), &all); err != nil || len(all) != 2 {
		t.Errorf("%d users on the primary (%v); want 2: the backup records no one", len(all), err)
	}

	// The primary licet goes away: the backup still answers.
	primary.stop()
	if st := backup.check(org, a).Status; st != licet.StatusLicensed {
		t.Errorf("backup with the primary licet stopped: %s", st)
	}

	// Lag: with replay paused on the standby and a change on the primary,
	// the backup reports the lag and, past its bound, is not ready.
	if code := get(t, backup.url+"/readyz"); code != 200 {
		t.Fatalf("/readyz before lag: %d", code)
	}
	sdb, err := sql.Open("pgx", standby.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	pdb, err := sql.Open("pgx", cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	if _, err := sdb.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	if _, err := pdb.Exec(`INSERT INTO audit (at, actor, action) VALUES (0, 'test', 'lag')`); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for get(t, backup.url+"/readyz") != 503 {
		if time.Now().After(deadline) {
			t.Fatal("the backup stayed ready with replay paused past its lag bound")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(metrics(t, backup), "licet_replication_lag_seconds ") {
		t.Error("no lag metric")
	}
	if _, err := sdb.Exec(`SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for get(t, backup.url+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the backup did not become ready again after replay resumed")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The primary's database goes away: the standby no longer streams and
	// cannot know what it misses, so its lag grows past the bound and it
	// stops confirming licenses (devices fall back to their stored lease).
	cluster.Stop()
	deadline = time.Now().Add(15 * time.Second)
	for backup.check(org, a).HTTP != 503 {
		if time.Now().After(deadline) {
			t.Fatal("a standby cut off from its primary kept confirming licenses past --max-lag")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code := get(t, backup.url+"/readyz"); code != 503 {
		t.Errorf("/readyz of a standby cut off from its primary: %d", code)
	}
}

// metrics scrapes the main listener with the operator token.
func metrics(t *testing.T, s *server) string {
	code, body := s.op("GET", "/metrics", s.token(), "", "")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	return body
}
