package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// licet serve refuses a data folder that is not the operator's: the real
// binary, on folders and files another user could have planted.
func TestServeRefusesADataFolderItDoesNotOwn(t *testing.T) {
	bin := licetBinary(t)
	refused := func(t *testing.T, dir, want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--data", dir).CombinedOutput()
		line := strings.TrimSpace(string(out))
		if err == nil || ctx.Err() != nil || !strings.Contains(line, want) || strings.Contains(line, "\n") {
			t.Errorf("want a refusal in one line naming %q; got %v:\n%s", want, err, out)
		}
	}
	// A folder made by licet itself starts, and is the model for the rest.
	good := filepath.Join(t.TempDir(), "data")
	startProcess(t, good, "").stop()
	kid := ""
	if m, _ := filepath.Glob(filepath.Join(good, "keys", "*.pem")); len(m) == 1 {
		kid = m[0]
	} else {
		t.Fatalf("keys: %v", m)
	}
	mutate := func(t *testing.T, undo func(), do func() error) {
		t.Helper()
		if err := do(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(undo)
	}

	t.Run("folder writable by others", func(t *testing.T) {
		mutate(t, func() { os.Chmod(good, 0o700) }, func() error { return os.Chmod(good, 0o777) })
		refused(t, good, "writable by group or others")
	})
	t.Run("token readable by others", func(t *testing.T) {
		tok := filepath.Join(good, "operator-token")
		mutate(t, func() { os.Chmod(tok, 0o600) }, func() error { return os.Chmod(tok, 0o644) })
		refused(t, good, tok+" is readable by group or others")
	})
	t.Run("database writable by group", func(t *testing.T) {
		db := filepath.Join(good, "licet.db")
		mutate(t, func() { os.Chmod(db, 0o600) }, func() error { return os.Chmod(db, 0o660) })
		refused(t, good, db+" is writable by group or others")
	})
	t.Run("database a symbolic link", func(t *testing.T) {
		db := filepath.Join(good, "licet.db")
		other := filepath.Join(t.TempDir(), "planted.db")
		mutate(t, func() { os.Remove(db); os.Rename(other, db) }, func() error {
			if err := os.Rename(db, other); err != nil {
				return err
			}
			return os.Symlink(other, db)
		})
		refused(t, good, "symbolic link")
	})
	t.Run("signing key a symbolic link", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "planted.pem")
		mutate(t, func() { os.Remove(kid); os.Rename(other, kid) }, func() error {
			if err := os.Rename(kid, other); err != nil {
				return err
			}
			return os.Symlink(other, kid)
		})
		refused(t, good, "symbolic link")
	})
	t.Run("secrets key a symbolic link", func(t *testing.T) {
		sk := filepath.Join(good, "secrets.key")
		other := filepath.Join(t.TempDir(), "planted.key")
		mutate(t, func() { os.Remove(sk); os.Rename(other, sk) }, func() error {
			if err := os.Rename(sk, other); err != nil {
				return err
			}
			return os.Symlink(other, sk)
		})
		refused(t, good, sk+" is a symbolic link")
	})
	t.Run("secrets key readable by group", func(t *testing.T) {
		sk := filepath.Join(good, "secrets.key")
		mutate(t, func() { os.Chmod(sk, 0o600) }, func() error { return os.Chmod(sk, 0o640) })
		refused(t, good, sk+" is readable by group or others")
	})
	if os.Geteuid() == 0 {
		// Only root can make files that belong to another user.
		t.Run("signing key of another user", func(t *testing.T) {
			mutate(t, func() { os.Chown(kid, 0, 0) }, func() error { return os.Chown(kid, 65534, 65534) })
			refused(t, good, kid+" belongs to uid 65534")
		})
		t.Run("folder of another user", func(t *testing.T) {
			mutate(t, func() { os.Chown(good, 0, 0) }, func() error { return os.Chown(good, 65534, 65534) })
			refused(t, good, good+" belongs to uid 65534")
		})
	} else {
		t.Logf("not root: the cases of files owned by another user need root to set up")
	}
	// Everything put back: it starts again.
	startProcess(t, good, "").stop()
}
