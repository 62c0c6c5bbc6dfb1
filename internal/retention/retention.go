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
	// PruneOfflineDocuments drops the documents of replaced offline
	// licenses that expired before t.
	PruneOfflineDocuments(ctx context.Context, before time.Time) (int64, error)
}

// Pruner deletes sent and failed mails older than MailAge and audit
// entries older than AuditAge (0: keep them), and always the documents of
// replaced offline licenses that have expired.
type Pruner struct {
	Store             Store
	Clock             licet.Clock
	Logger            *slog.Logger
	MailAge, AuditAge time.Duration
}

// Run prunes every period until ctx ends.
func (p *Pruner) Run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.Once(ctx)
	}
}

// Once prunes now; a failure is logged (the next round tries again).
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
	if n, err := p.Store.PruneOfflineDocuments(ctx, p.Clock.Now()); err != nil && ctx.Err() == nil {
		p.Logger.Warn("cannot prune replaced offline licenses", "err", err)
	} else if n > 0 {
		p.Logger.Info("replaced offline licenses pruned: their documents expired", "documents", n)
	}
}
