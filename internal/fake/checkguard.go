package fake

import (
	"context"
	"sync"
	"time"

	"github.com/licet/licet"
)

// CheckGuardStore is what the check's handler reads besides the licensing
// service (check.Store): a read-only server's lag behind the primary, and
// the queue of "unusual license activity" alerts.
type CheckGuardStore struct {
	mu     sync.Mutex
	lag    time.Duration
	known  bool
	lagErr error
	alerts []licet.ActivityReport
}

// SetLag sets what Lag answers.
func (f *CheckGuardStore) SetLag(lag time.Duration, known bool, err error) {
	f.mu.Lock()
	f.lag, f.known, f.lagErr = lag, known, err
	f.mu.Unlock()
}

func (f *CheckGuardStore) Lag(context.Context) (time.Duration, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lag, f.known, f.lagErr
}

// AlertActivity queues every alert (the SQL store sends one an hour).
func (f *CheckGuardStore) AlertActivity(_ context.Context, _ string, rep licet.ActivityReport, _ time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alerts = append(f.alerts, rep)
	return true, nil
}

// Alerts returns the alerts queued.
func (f *CheckGuardStore) Alerts() []licet.ActivityReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]licet.ActivityReport(nil), f.alerts...)
}
