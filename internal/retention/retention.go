// Package retention deletes what licet keeps only for a while: sent and
// failed mails, and audit log entries, past the ages the operator chose;
// and the documents of replaced offline licenses once they have expired.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/licet/licet"
)

// Store is what pruning needs of the store.
type Store interface {
	// PruneMail deletes sent and failed mails finished before t.
	PruneMail(ctx context.Context, before time.Time) (int64, error)
	// PruneAudit deletes audit entries older than t.
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
	// PruneOfflineDocuments drops the documents of at most max replaced
	// offline licenses that expired before t.
	PruneOfflineDocuments(ctx context.Context, before time.Time, max int) (int64, error)
}

// OfflineBatch is how many offline documents (up to 8 MiB each) one
// transaction drops; OfflineMargin how long after its validity ended a
// replaced document is kept (devices allow for clock drift).
const (
	OfflineBatch  = 20
	OfflineMargin = 24 * time.Hour
)

// Pruner deletes sent and failed mails older than MailAge and audit
// entries older than AuditAge (0: keep them), and always the documents of
// replaced offline licenses a day after they expired.
type Pruner struct {
	Store             Store
	Clock             licet.Clock
	Logger            *slog.Logger
	MailAge, AuditAge time.Duration
}

// Run prunes offline documents at once, then everything every period
// until ctx ends. (Mail and the audit log are pruned before the server
// serves, by Once; a backlog of offline documents is not waited for.)
func (p *Pruner) Run(ctx context.Context, period time.Duration) {
	p.Offline(ctx)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.Once(ctx)
		p.Offline(ctx)
	}
}

// Offline drops the documents of replaced offline licenses that expired
// more than OfflineMargin ago, a batch a transaction, until none is left
// or ctx ends; a failure is logged (the next round tries again).
func (p *Pruner) Offline(ctx context.Context) {
	before := p.Clock.Now().Add(-OfflineMargin)
	var total int64
	for ctx.Err() == nil {
		n, err := p.Store.PruneOfflineDocuments(ctx, before, OfflineBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				p.Logger.Warn("cannot prune replaced offline licenses", "err", err)
			}
			break
		}
		if n < OfflineBatch {
			break
		}
	}
	if total > 0 {
		p.Logger.Info("replaced offline licenses pruned: their documents expired", "documents", total)
	}
}

// Once prunes mail and the audit log now; a failure is logged (the next
// round tries again).
func (p *Pruner) Once(ctx context.Context) {
	if p.MailAge > 0 {
		if n, err := p.Store.PruneMail(ctx, p.Clock.Now().Add(-p.MailAge)); err != nil && ctx.Err() == nil {
			p.Logger.Warn("cannot prune old mail", "err", err)
		} else if n > 0 {
			p.Logger.Info("old mail pruned", "mails", n)
		}
	}
	if p.AuditAge > 0 {
		if n, err := p.Store.PruneAudit(ctx, p.Clock.Now().Add(-p.AuditAge)); err != nil && ctx.Err() == nil {
			p.Logger.Warn("cannot prune the audit log", "err", err)
		} else if n > 0 {
			p.Logger.Info("old audit entries pruned", "entries", n)
		}
	}
}
