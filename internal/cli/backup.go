package cli

import (
	"context"
	"fmt"
	"net/http"

	"github.com/licet/licet/internal/atomicfile"
)

// backup downloads a consistent snapshot from a running server and writes
// it whole (temporary file, sync, rename) with mode 0600.
func (p *Program) backup(ctx context.Context, args []string) error {
	c := p.opCmd("backup", 0)
	out := c.String("out", "", "the file to write the snapshot to")
	if err := c.parseArgs(args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if err := c.connect(); err != nil {
		return err
	}
	resp, err := c.api.get(ctx, "/v1/backup")
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

// writeAtomic writes a downloaded body whole with mode 0600; a cut-off
// download leaves no file.
func writeAtomic(path string, resp *http.Response) error {
	if err := atomicfile.Write(path, resp.Body, resp.ContentLength); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}
