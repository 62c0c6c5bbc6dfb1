package offline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/licet/licet"
)

// Automatic Update: where the vendor allows it and the administrator
// switched it on, the file is reissued and saved by itself, with the same
// history and audit as a pressed Update (by "automatic").
const (
	// AutoQuiet is how long the changes must stay the same before an
	// automatic Update: a rollout's assignments go into one file.
	AutoQuiet = 5 * time.Minute
	// AutoMinGap is the least time between two automatic Updates.
	AutoMinGap = time.Hour
	// AutoBeforeExpiry: a file with less validity left than this (or than
	// half its validity, when shorter) is reissued, changes or not.
	AutoBeforeExpiry = 24 * time.Hour
)

var errIssuedMeanwhile = licet.Errorf(licet.ECONFLICT, "another Update was issued meanwhile")

// Auto runs automatic Updates. It keeps in memory only when each
// organization's pending changes were first seen as they are now.
type Auto struct {
	*Service
	mu   sync.Mutex
	seen map[string]pending
}

type pending struct {
	sig          string
	since, first time.Time // the changes as they are now, and any pending
}

// NewAuto makes the automatic Update loop of s.
func NewAuto(s *Service) *Auto { return &Auto{Service: s, seen: map[string]pending{}} }

// Run checks every interval until ctx ends.
func (a *Auto) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.Tick(ctx)
		}
	}
}

// Tick makes the automatic Updates that are due now.
func (a *Auto) Tick(ctx context.Context) {
	orgs, err := a.Store.OfflineAutoOrgs(ctx)
	if err != nil {
		a.Logger.Warn("automatic offline Update: listing organizations", "err", err)
		return
	}
	for _, org := range orgs {
		if ctx.Err() != nil {
			return
		}
		due, last, why, err := a.due(ctx, org)
		if err != nil {
			a.Logger.Warn("automatic offline Update: reading the changes", "org", org, "err", err)
			continue
		}
		if !due {
			continue
		}
		res, err := a.issue(ctx, org, licet.ActorAutomatic, last)
		if err == nil {
			a.mu.Lock()
			delete(a.seen, org)
			a.mu.Unlock()
		}
		switch {
		case errors.Is(err, errIssuedMeanwhile):
		case err != nil:
			a.Logger.Warn("automatic offline Update failed", "org", org, "err", err)
		default:
			a.Logger.Info("automatic offline Update", "org", org, "serial", res.Serial, "users", res.Users, "why", why, "upload", res.UploadStatus)
		}
	}
}

// due says whether org's file should be reissued now, and after which
// serial.
func (a *Auto) due(ctx context.Context, org string) (bool, int64, string, error) {
	now := a.Clock.Now()
	c, err := a.Changes(ctx, org)
	if err != nil {
		return false, 0, "", err
	}
	// How long the changes have been as they are now counts from when they
	// were first seen, also while the hour since the last Update runs.
	a.mu.Lock()
	p, seen := a.seen[org]
	if c.Total() == 0 {
		delete(a.seen, org)
	} else {
		sig := fmt.Sprint(c.Serial, c.Licensed, c.Unassigned, c.Disabled)
		if !seen {
			p.first = now
		}
		if !seen || p.sig != sig {
			p.sig, p.since = sig, now
		}
		a.seen[org] = p
	}
	a.mu.Unlock()
	if c.Serial > 0 {
		h, err := a.Store.OfflineHistory(ctx, org, 1)
		if err != nil || len(h) == 0 {
			return false, 0, "", err
		}
		last := h[0]
		if now.Sub(last.IssuedAt) < AutoMinGap {
			return false, 0, "", nil
		}
		left, validity := last.ValidUntil.Sub(now), last.ValidUntil.Sub(last.IssuedAt)
		if left < min(AutoBeforeExpiry, validity/2) {
			return true, c.Serial, "before expiry", nil
		}
		if last.UploadStatus == "failed" {
			return true, c.Serial, "the last upload failed", nil
		}
	}
	// Quiet for a while, or changing without pause for an hour.
	if c.Total() == 0 || (now.Sub(p.since) < AutoQuiet && now.Sub(p.first) < AutoMinGap) {
		return false, 0, "", nil
	}
	return true, c.Serial, "changes", nil
}
