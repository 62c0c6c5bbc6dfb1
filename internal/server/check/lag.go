package check

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// lagGuard decides whether a read-only server's data is too old to vouch
// for licenses. The lag is measured at most once a second (on PostgreSQL it
// is a query; on a SQLite snapshot a read of its meta table), so the hot
// path pays one mutex, not a database round trip, per check. A change of
// verdict is logged once.
type lagGuard struct {
	store  Store
	max    time.Duration // 0: no bound (or not a read-only server)
	retry  time.Duration // what Retry-After says
	logger *slog.Logger

	mu       sync.Mutex
	measured time.Time
	lag      time.Duration // -1 when it could not be measured
	tooOld   bool
}

// stale reports whether checks must be refused, with the lag (-1 when the
// database could not say).
func (g *lagGuard) stale(ctx context.Context) (time.Duration, bool) {
	if g == nil || g.max <= 0 {
		return 0, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.measured) < time.Second {
		return g.lag, g.tooOld
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	lag, known, err := g.store.Lag(ctx)
	tooOld := err != nil || (known && lag > g.max)
	if err != nil {
		lag = -1
	}
	if tooOld != g.tooOld || g.measured.IsZero() && tooOld {
		if tooOld {
			g.logger.Warn("backup data older than --max-lag: refusing license checks with 503 until it catches up", "lag", lag.String(), "maxLag", g.max.String(), "err", err)
		} else {
			g.logger.Info("backup data within --max-lag again: confirming licenses", "lag", lag.String(), "maxLag", g.max.String())
		}
	}
	g.measured, g.lag, g.tooOld = time.Now(), lag, tooOld
	return lag, tooOld
}
