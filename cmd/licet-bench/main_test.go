package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestMain lets the test binary stand in for licet-bench when spawnBare
// starts it again with --bare-listen.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "--bare-listen" {
		if err := serveBare(os.Args[2]); err != nil {
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// The baseline runs in a process of its own, as the servers it is
// compared with do, and answers its fixed document there.
func TestBaselineRunsInItsOwnProcess(t *testing.T) {
	base, stop, err := spawnBare()
	if err != nil {
		t.Fatal(err)
	}
	if base.pid == 0 || base.pid == os.Getpid() {
		t.Fatalf("baseline pid %d; this process is %d", base.pid, os.Getpid())
	}
	resp, err := http.Post(base.url+"/v1/license/check", "application/json", strings.NewReader(`{"userId":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<Licensed>true</Licensed>") {
		t.Errorf("baseline answered %d %q", resp.StatusCode, body)
	}
	if rss, _ := memory(base.pid); rss == 0 {
		t.Error("no RSS read for the baseline's process")
	}
	stop()
	if err := syscall.Kill(base.pid, 0); err == nil {
		t.Error("the baseline's process outlived stop")
	}
}
