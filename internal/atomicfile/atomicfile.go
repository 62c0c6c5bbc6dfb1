// Package atomicfile writes files whole: a temporary file beside the
// target, mode 0600, synced, then renamed over it and the folder synced, so
// that a reader or a crash sees the old file or the new one, never a part,
// and the new one once Write returned.
package atomicfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write copies r to path. With size >= 0, a copy of another length (a cut
// download) is an error and leaves path as it was.
func Write(path string, r io.Reader, size int64) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = f.Chmod(0o600)
	var n int64
	if err == nil {
		n, err = io.Copy(f, r)
	}
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("cut off after %d of %d bytes", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// The rename itself is durable only once the folder is synced: without
	// it, a power cut seconds later could bring back the old file while
	// what was done next (a database sealed with a new secrets key, leases
	// signed with a new signing key) was committed.
	return syncDir(filepath.Dir(path))
}

// syncDir syncs a folder's entries to disk (a variable so tests can see
// when it is called).
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// WriteBytes writes b to path.
func WriteBytes(path string, b []byte) error {
	return Write(path, bytes.NewReader(b), int64(len(b)))
}
