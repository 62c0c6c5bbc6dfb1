package cli_test

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licet/licet/internal/mail"
)

// metaValue reads one row of the meta table of an SQLite file.
func metaValue(t *testing.T, path, key string) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v []byte
	if err := db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// filesHold reports whether any of the database's files (with its WAL)
// holds secret.
func filesHold(t *testing.T, db, secret string) bool {
	for _, f := range []string{db, db + "-wal"} {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(secret)) {
			return true
		}
	}
	return false
}

// Neither the database nor a snapshot holds a backend credential or the
// mail-link secret in a usable form: they are sealed with a key kept in
// <data>/secrets.key (0600), which is never stored in the database.
func TestSecretsAtRest(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := start(t, "", nil, append(mailFlags(sk.addr), "--offline-allow-private")...)
	org := s.newOrg(1, 5, "--offline=true")
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("dav-password-7b1f0c\n"), 0o600)
	s.mustLicet("offline", "set", "--org", org, "--backend", "https://dav.customer.example/crm/licet-offline.lic", "--backend-user", "crm", "--backend-password-file", pass)
	db := filepath.Join(s.dir, "licet.db")
	snap := filepath.Join(t.TempDir(), "snap.db")
	s.mustLicet("backup", "--out", snap)

	fi, err := os.Stat(filepath.Join(s.dir, "secrets.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets.key: %v %v; want a file of mode 0600", fi, err)
	}
	key, _ := os.ReadFile(filepath.Join(s.dir, "secrets.key"))
	for _, f := range []string{db, snap} {
		if filesHold(t, f, "dav-password-7b1f0c") {
			t.Errorf("%s holds the backend password", filepath.Base(f))
		}
		for _, line := range strings.Split(strings.TrimSpace(string(key)), "\n") {
			if fields := strings.Fields(line); len(fields) == 2 && filesHold(t, f, fields[1]) {
				t.Errorf("%s holds the secrets key", filepath.Base(f))
			}
		}
	}
	// Whoever holds a snapshot cannot forge a subscriptions link with what
	// it stores.
	stored := metaValue(t, snap, "secret:mail-links")
	forged := (&mail.Links{Base: s.url, Secret: stored}).SubscriptionsURL("victim@customer.example")
	if code := getCode(t, forged); code != 403 {
		t.Errorf("a link signed with the snapshot's stored secret: %d; want 403", code)
	}
	// The server itself still uses both.
	if show := s.mustLicet("offline", "show", "--org", org); !strings.Contains(show, "credentials: set") {
		t.Errorf("offline show:\n%s", show)
	}
}
