// Package datadir is licet's data folder: the check that it is the
// operator's before anything in it is trusted, and the operator token it
// holds.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Check refuses a data folder that is not the operator's: the
// folder, everything under keys/, the operator token, secrets.key and the SQLite
// database must belong to the user licet runs as and be writable by no one
// else; signing keys and the token readable by no one else either; and no
// entry may be a symbolic link. A folder pre-created by another local user,
// holding that user's key, token or database, would let that user forge
// leases or call the operator API. The folder itself may be a link (systemd's
// DynamicUser makes /var/lib/NAME one); what it points to is checked.
//
// Once the folder is ours and writable by no one else, no one else can put
// a link or a file into it after this check either.
func Check(data, sqliteFile string) error {
	uid := os.Geteuid()
	fi, err := os.Stat(data)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a read-only server on a database elsewhere, without keys: it says so next
	} else if err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data folder %s is not a folder", data)
	}
	if err := ownedBy(data, fi, uid, 0o022); err != nil {
		return err
	}
	check := func(path string, secret bool) error {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return fmt.Errorf("data folder: %w", err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link: licet does not follow links in its data folder; put the file itself there", path)
		case !fi.IsDir() && !fi.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file", path)
		}
		forbidden := fs.FileMode(0o022)
		if secret && !fi.IsDir() {
			forbidden = 0o077
		}
		return ownedBy(path, fi, uid, forbidden)
	}
	keysDir := filepath.Join(data, "keys")
	if err := check(keysDir, true); err != nil {
		return err
	}
	if _, err := os.Lstat(keysDir); err == nil {
		err := filepath.WalkDir(keysDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return check(path, true)
		})
		if err != nil {
			return err
		}
	}
	for _, name := range []string{"operator-token", "secrets.key"} {
		if err := check(filepath.Join(data, name), true); err != nil {
			return err
		}
	}
	if sqliteFile != "" {
		for _, p := range []string{sqliteFile, sqliteFile + "-wal", sqliteFile + "-shm"} {
			if err := check(p, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// ownedBy refuses a file not owned by uid or with any of the forbidden
// permission bits.
func ownedBy(path string, fi fs.FileInfo, uid int, forbidden fs.FileMode) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != uid {
		return fmt.Errorf("%s belongs to uid %d, not to uid %d that runs licet: another user could have planted it; chown it (or use another --data)", path, st.Uid, uid)
	}
	if bad := fi.Mode().Perm() & forbidden; bad != 0 {
		what := "writable by group or others"
		if bad&0o022 == 0 {
			what = "readable by group or others"
		}
		return fmt.Errorf("%s is %s (mode %04o): chmod %s %s", path, what, fi.Mode().Perm(), modeFix(fi), path)
	}
	return nil
}

func modeFix(fi fs.FileInfo) string {
	if fi.IsDir() {
		return "700"
	}
	return "600"
}
