package retention

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock time.Time

func (c clock) Now() time.Time { return time.Time(c) }

// store records the cut-offs it is given and answers n and err.
type store struct {
	mu          sync.Mutex
	mail, audit []time.Time
	offline     []time.Time
	batches     []int64 // what PruneOfflineDocuments answers in turn
	max         int
	n           int64
	err         error
}

func (s *store) PruneMail(_ context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mail = append(s.mail, before)
	return s.n, s.err
}

func (s *store) PruneAudit(_ context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit = append(s.audit, before)
	return s.n, s.err
}

// PruneOfflineDocuments answers the next of batches (then 0), or err.
func (s *store) PruneOfflineDocuments(_ context.Context, before time.Time, max int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offline = append(s.offline, before)
	s.max = max
	if s.err != nil {
		return 0, s.err
	}
	if len(s.batches) == 0 {
		return 0, nil
	}
	n := s.batches[0]
	s.batches = s.batches[1:]
	return n, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var now = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func pruner(st *store, mailAge, auditAge time.Duration) (*Pruner, *syncBuffer) {
	log := &syncBuffer{}
	return &Pruner{Store: st, Clock: clock(now), Logger: slog.New(slog.NewTextHandler(log, nil)), MailAge: mailAge, AuditAge: auditAge}, log
}

func TestOnceCutsAtEachAge(t *testing.T) {
	st := &store{n: 3}
	p, log := pruner(st, 90*24*time.Hour, 365*24*time.Hour)
	p.Once(context.Background())
	if len(st.mail) != 1 || !st.mail[0].Equal(now.Add(-90*24*time.Hour)) {
		t.Errorf("mail cut-offs %v", st.mail)
	}
	if len(st.audit) != 1 || !st.audit[0].Equal(now.Add(-365*24*time.Hour)) {
		t.Errorf("audit cut-offs %v", st.audit)
	}
	for _, want := range []string{`msg="old mail pruned" mails=3`, `msg="old audit entries pruned" entries=3`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
}

func TestZeroAgeKeeps(t *testing.T) {
	st := &store{}
	p, log := pruner(st, 0, 24*time.Hour)
	p.Once(context.Background())
	if len(st.mail) != 0 || len(st.audit) != 1 {
		t.Fatalf("mail pruned %d times, audit %d times", len(st.mail), len(st.audit))
	}
	if log.String() != "" {
		t.Errorf("nothing pruned, yet logged:\n%s", log)
	}
}

func TestFailuresAreLoggedUnlessStopping(t *testing.T) {
	st := &store{err: errors.New("database is locked")}
	p, log := pruner(st, time.Hour, 24*time.Hour)
	p.Once(context.Background())
	p.Offline(context.Background())
	for _, want := range []string{`level=WARN msg="cannot prune old mail" err="database is locked"`, `level=WARN msg="cannot prune the audit log" err="database is locked"`,
		`level=WARN msg="cannot prune replaced offline licenses" err="database is locked"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	p, log = pruner(st, time.Hour, 24*time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.Once(ctx)
	p.Offline(ctx)
	if log.String() != "" {
		t.Errorf("a failure while stopping was logged:\n%s", log)
	}
}

// A backlog of offline documents goes a batch a transaction until a batch
// comes back short; the cut-off is a day before now (devices allow for
// clock drift); whatever the ages of mail and audit entries.
func TestOfflinePrunesABacklogInBatches(t *testing.T) {
	st := &store{batches: []int64{OfflineBatch, OfflineBatch, 5, OfflineBatch}}
	p, log := pruner(st, 0, 0)
	p.Offline(context.Background())
	if len(st.offline) != 3 || st.max != OfflineBatch {
		t.Fatalf("%d batches of at most %d; want 3 of %d", len(st.offline), st.max, OfflineBatch)
	}
	for _, c := range st.offline {
		if !c.Equal(now.Add(-24 * time.Hour)) {
			t.Errorf("offline cut-off %v; want a day before %v", c, now)
		}
	}
	if want := fmt.Sprintf(`msg="replaced offline licenses pruned: their documents expired" documents=%d`, 2*OfflineBatch+5); !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, log)
	}
	st = &store{}
	p, log = pruner(st, 0, 0)
	p.Offline(context.Background())
	if len(st.offline) != 1 || log.String() != "" {
		t.Errorf("nothing to prune: %d batches, logged %q", len(st.offline), log)
	}
}

func TestRunPrunesEveryPeriodUntilStopped(t *testing.T) {
	st := &store{}
	p, _ := pruner(st, time.Hour, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx, time.Millisecond) }()
	waitFor(t, st, func(st *store) bool { return len(st.mail) >= 3 }, "three rounds")
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.audit) != 0 {
		t.Errorf("audit pruned with age 0")
	}
	// At the start and in each round after mail (a round stopped between
	// the two may miss its offline pass).
	if len(st.offline) < len(st.mail) {
		t.Errorf("offline documents pruned %d times in %d rounds; want at the start and each round", len(st.offline), len(st.mail))
	}
}

// Run starts with the offline documents, not after the first period.
func TestRunPrunesOfflineDocumentsAtOnce(t *testing.T) {
	st := &store{}
	p, _ := pruner(st, 0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx, time.Hour) }()
	waitFor(t, st, func(st *store) bool { return len(st.offline) == 1 }, "offline documents pruned before the first period")
	cancel()
	<-done
}

// waitFor waits up to 10 s until ok holds of st.
func waitFor(t *testing.T, st *store, ok func(*store) bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		st.mu.Lock()
		done := ok(st)
		st.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
	}
}
