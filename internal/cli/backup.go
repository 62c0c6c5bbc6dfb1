package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// backup downloads a consistent snapshot from a running server and writes
// it whole (temporary file, sync, rename) with mode 0600.
func (p *Program) backup(ctx context.Context, args []string) error {
	fs := p.flags("backup")
	o := fs.operator()
	out := fs.String("out", "", "the file to write the snapshot to")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	a, err := o.client(true)
	if err != nil {
		return err
	}
	resp, err := a.get(ctx, "/v1/backup")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := writeAtomic(*out, resp); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "wrote a snapshot to %s\n", *out)
	return nil
}

// writeAtomic writes a downloaded body whole (temporary file, sync,
// rename) with mode 0600; a cut-off download leaves no file.
func writeAtomic(path string, resp *http.Response) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("the download was cut off after %d of %d bytes", n, resp.ContentLength)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}
