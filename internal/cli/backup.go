package cli

import (
	"context"
	"fmt"
	"io"
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
	f, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("the snapshot was cut off after %d of %d bytes", n, resp.ContentLength)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), *out)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %v", *out, err)
	}
	fmt.Fprintf(p.Stdout, "wrote a snapshot of %d bytes to %s\n", n, *out)
	return nil
}
