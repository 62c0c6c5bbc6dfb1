package cli

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// bufferedLog batches log lines into few writes: one write per request
// line cost the hot path a system call. Lines reach the output within
// flushEvery, and at once when the buffer fills or the server stops.
type bufferedLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newBufferedLog(out io.Writer, flushEvery time.Duration) *bufferedLog {
	l := &bufferedLog{w: bufio.NewWriterSize(out, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
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

func (l *bufferedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Flush writes what is buffered.
func (l *bufferedLog) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
}

// Close flushes and stops the flusher.
func (l *bufferedLog) Close() {
	close(l.stop)
	<-l.done
}
