package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// onlyEntries fails unless the folder holds exactly names: no temporary
// file is left behind.
func onlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("folder holds %v, want %v", got, names)
	}
}

func TestWriteMakesAPrivateFile(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := WriteBytes(path, []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "hello\n" {
		t.Fatalf("file holds %q", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("mode %v, want -rw------- even with umask 0", fi.Mode())
	}
	onlyEntries(t, dir, "secret")
}

func TestWriteReplacesAndTightensTheMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("an old and longer content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, strings.NewReader("new"), 3); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "new" {
		t.Fatalf("file holds %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after replacing a 0644 file, want 0600", fi.Mode())
	}
	onlyEntries(t, dir, "f")
}

func TestWriteReplacesALinkNotItsTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("target"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, target); got != "target" {
		t.Errorf("the link's target was written: %q", got)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the link was not replaced by a file: %v %v", fi, err)
	}
}

func TestCutOffCopyLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Write(path, strings.NewReader("abc"), 10)
	if err == nil || err.Error() != "cut off after 3 of 10 bytes" {
		t.Fatalf("a short copy: %v", err)
	}
	if got := read(t, path); got != "old" {
		t.Fatalf("file holds %q after a failed write", got)
	}
	onlyEntries(t, dir, "snapshot")
	// Longer than announced is as wrong as shorter.
	if err := Write(path, strings.NewReader("abcdef"), 3); err == nil {
		t.Fatal("a long copy succeeded")
	}
	if got := read(t, path); got != "old" {
		t.Fatalf("file holds %q after a failed write", got)
	}
}

// failingReader gives some bytes, then an error: a dropped download.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestReadErrorLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "download")
	if err := Write(path, &failingReader{n: 100}, -1); err == nil || err.Error() != "connection reset" {
		t.Fatalf("a failing reader: %v", err)
	}
	onlyEntries(t, dir)
}

func TestUnknownSizeTakesEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	big := bytes.Repeat([]byte("0123456789"), 100_000)
	if err := Write(path, bytes.NewReader(big), -1); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != string(big) {
		t.Fatalf("file holds %d bytes, want %d", len(got), len(big))
	}
}

func TestMissingFolderFails(t *testing.T) {
	if err := WriteBytes(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x")); err == nil {
		t.Fatal("writing into a missing folder succeeded")
	}
}

// The folder is synced after the rename, so that the rename is on disk
// when Write returns; a failure to sync is Write's failure.
func TestFolderSyncedAfterTheRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	var synced []string
	var sawNew bool
	defer func(orig func(string) error) { syncDir = orig }(syncDir)
	syncDir = func(d string) error {
		synced = append(synced, d)
		b, _ := os.ReadFile(path)
		sawNew = string(b) == "new"
		return errors.New("disk gone")
	}
	if err := WriteBytes(path, []byte("new")); err == nil || err.Error() != "disk gone" {
		t.Fatalf("a failed folder sync: %v", err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Fatalf("synced %v, want [%s]", synced, dir)
	}
	if !sawNew {
		t.Error("the folder was synced before the rename")
	}
}

func TestSyncDir(t *testing.T) {
	if err := syncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := syncDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("syncing a missing folder succeeded")
	}
}

// A reader sees the old file or the new one, never a part of either.
func TestReadersSeeWholeFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	a, b := bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 128<<10)
	if err := WriteBytes(path, a); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Value
	wg.Go(func() {
		for !stop.Load() {
			f, err := os.Open(path)
			if err != nil {
				bad.Store(err.Error())
				return
			}
			got, _ := io.ReadAll(f)
			f.Close()
			if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				bad.Store("read a part: " + string(got[:min(len(got), 10)]) + "…")
				return
			}
		}
	})
	for i := range 20 {
		next := a
		if i%2 == 0 {
			next = b
		}
		if err := WriteBytes(path, next); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
}
