package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an output the flusher and the test may use at once.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLinesWaitForFlush(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour)
	defer w.Close()
	fmt.Fprintln(w, "one")
	fmt.Fprintln(w, "two")
	if got := out.String(); got != "" {
		t.Fatalf("before a flush the output holds %q", got)
	}
	w.Flush()
	if got := out.String(); got != "one\ntwo\n" {
		t.Fatalf("after Flush the output holds %q", got)
	}
	if out.writes != 1 {
		t.Errorf("two lines took %d writes, want 1", out.writes)
	}
}

func TestFlushedWithinThePeriod(t *testing.T) {
	var out syncBuffer
	w := New(&out, 10*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "line")
	for deadline := time.Now().Add(10 * time.Second); out.String() != "line\n"; {
		if time.Now().After(deadline) {
			t.Fatalf("the line did not reach the output in 10s: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCloseFlushes(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour)
	fmt.Fprintln(w, "last words")
	w.Close()
	if got := out.String(); got != "last words\n" {
		t.Fatalf("after Close the output holds %q", got)
	}
}

func TestFullBufferWritesAtOnce(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour)
	defer w.Close()
	w.Write(bytes.Repeat([]byte("x"), 64<<10))
	w.Write([]byte("y"))
	if got := len(out.String()); got != 64<<10 {
		t.Fatalf("a full buffer wrote %d bytes, want %d", got, 64<<10)
	}
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				fmt.Fprintf(w, "writer %d line %03d %s\n", g, i, strings.Repeat("-", 100))
			}
		})
	}
	wg.Wait()
	w.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*200 {
		t.Fatalf("%d lines, want %d", len(lines), 8*200)
	}
	for _, l := range lines {
		if len(l) != len("writer 0 line 000 ")+100 {
			t.Fatalf("a line was cut or mixed: %q", l)
		}
	}
}
