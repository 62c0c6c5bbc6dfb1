// Package logbuf batches log lines into few writes: one write per request
// line cost the hot path a system call. Lines reach the output within the
// flush period, and at once when the buffer fills or the writer closes.
// Its Handler writes the lines a server writes most (the request line) by
// appending, byte for byte what slog's own handler writes.
package logbuf

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Writer buffers what is written to it for its output; it is safe for
// concurrent use.
type Writer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// New starts a writer that flushes to out every flushEvery; Close stops it.
func New(out io.Writer, flushEvery time.Duration) *Writer {
	l := &Writer{w: bufio.NewWriterSize(out, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.Flush()
			case <-l.stop:
				l.Flush()
				return
			}
		}
	}()
	return l
}

func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Flush writes what is buffered.
func (l *Writer) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
}

// Close flushes and stops the flusher.
func (l *Writer) Close() {
	close(l.stop)
	<-l.done
}
