package cli_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/licet/licet/internal/cli"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes "licet" a command of the scripts: testscript runs the test
// binary itself as that command, so each "licet …" line is a real process
// with its own environment, streams and exit code.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"licet": func() {
			p := &cli.Program{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
			os.Exit(p.Run(context.Background(), os.Args[1:]))
		},
	})
}

// TestScripts runs testdata/*.txtar. Each script gets its own server,
// started in-process on a free port with an empty data folder, and these
// variables (it names https://licensing.vendor.example and
// https://backup.vendor.example as its public URLs):
//
//	LICET_SERVER      the server's URL
//	LICET_TOKEN_FILE  its operator-token file
//	DATA              its data folder
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata",
		Setup: setupScriptServer,
	})
}

// setupScriptServer runs "licet serve" for one script and stops it when the
// script ends.
func setupScriptServer(env *testscript.Env) error {
	dataDir := filepath.Join(env.WorkDir, "licet-data")
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	done := make(chan int, 1)
	p := &cli.Program{
		Stdout:   io.Discard,
		Stderr:   io.Discard,
		Getenv:   func(string) string { return "" },
		OnListen: func(addr string) { listening <- addr },
	}
	go func() {
		done <- p.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data", dataDir, "--log-format", "text",
			"--public-url", "https://licensing.vendor.example", "--backup-url", "https://backup.vendor.example"})
	}()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			env.T().Fatal("licet serve did not stop within 30s")
		}
	}

	var addr string
	select {
	case addr = <-listening:
	case code := <-done:
		cancel()
		return fmt.Errorf("licet serve exited with code %d before listening", code)
	case <-time.After(30 * time.Second):
		stop()
		return fmt.Errorf("licet serve did not listen within 30s")
	}
	env.Defer(stop)
	env.Setenv("LICET_SERVER", "http://"+addr)
	env.Setenv("LICET_TOKEN_FILE", filepath.Join(dataDir, "operator-token"))
	env.Setenv("DATA", dataDir)
	return nil
}
