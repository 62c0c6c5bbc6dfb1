package check

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/server/web"
	"golang.org/x/time/rate"
)

// The check is unauthenticated: whoever knows an organization's ID can send
// one. So devices that hold a license are never held back by the limits
// below; everything else (new users, known users on new devices, users
// without a license, unknown organizations) is limited per source address
// and per organization, and checks that would write are limited per
// organization again. A burst of refusals alerts the organization
// (docs/OPERATIONS.md, "Abuse and limits").

// gate returns the check's gate: the limits for checks from pairs that
// hold no license, answered 429 with Retry-After.
func (h *Handler) gate(w http.ResponseWriter, r *http.Request, orgID string, now time.Time) licensing.Gate {
	if h.newByIP == nil && h.orgLimit == nil && h.admissions == nil {
		return nil
	}
	return func(a licensing.Admission) error {
		if a.Known {
			return nil
		}
		src := web.Source(web.ClientIP(r))
		refuse := func(limit, what string, wait time.Duration) error {
			w.Header().Set("Retry-After", web.RetryAfter(wait))
			h.limited.WithLabelValues(limit).Inc()
			if a.Org != nil {
				h.activity.refused(h, a.Org, src, now)
			}
			return licet.Errorf(licet.ERATE, "too many license checks from new devices %s; retry after %s seconds", what, web.RetryAfter(wait))
		}
		if ok, wait := h.newByIP.Allow(src, now); !ok {
			return refuse("new_ip", "from this address", wait)
		}
		if a.Org == nil {
			// An unknown organization has nothing to protect, and random
			// IDs must not fill the per-organization buckets.
			return nil
		}
		if ok, wait := h.orgLimit.Allow(orgID, now); !ok {
			return refuse("organization", "for this organization", wait)
		}
		if a.Writes {
			r, burst := h.admissionRate(a.Org)
			if ok, wait := h.admissions.AllowRate(orgID, now, r, burst); !ok {
				return refuse("admissions", "for this organization (admissions)", wait)
			}
			h.activity.admitted(a.Org.ID, src, now)
		}
		return nil
	}
}

// admissionRate is an organization's admissions limit: its own setting,
// else the server's default.
func (h *Handler) admissionRate(o *licet.Organization) (rate.Limit, int) {
	switch n := o.Settings.AdmissionsPerMinute; {
	case n == 0:
		return rate.Inf, 0
	case n > 0:
		return rate.Limit(float64(n) / 60), max(1, n*10/3) // bursts of 200 for 60 a minute, as the default
	}
	return h.limits.AdmissionRate, h.limits.AdmissionBurst
}

// activity counts, per organization and minute, the checks from new
// devices that were refused and admitted, with their busiest sources, and
// sends the "unusual license activity" alert when refusals pass the
// threshold. Only counts and addresses are kept, in memory, for the
// current minute.
type activity struct {
	mu   sync.Mutex
	orgs map[string]*orgActivity
}

type orgActivity struct {
	minute            time.Time
	refused, admitted int
	sources           map[string]int // refusals and admissions by source, at most maxSources
	alerted           time.Time      // last alert this process triggered
}

const maxSources = 256

func (a *activity) get(orgID string, now time.Time) *orgActivity {
	if a.orgs == nil {
		a.orgs = map[string]*orgActivity{}
	}
	o := a.orgs[orgID]
	if o == nil {
		if len(a.orgs) > 100_000 { // a flood of unknown organizations cannot reach here; bound it anyway
			clear(a.orgs)
		}
		o = &orgActivity{}
		a.orgs[orgID] = o
	}
	if m := now.Truncate(time.Minute); !m.Equal(o.minute) {
		o.minute, o.refused, o.admitted, o.sources = m, 0, 0, nil
	}
	return o
}

func (o *orgActivity) count(src string) {
	if o.sources == nil {
		o.sources = map[string]int{}
	}
	if _, ok := o.sources[src]; ok || len(o.sources) < maxSources {
		o.sources[src]++
	}
}

func (a *activity) admitted(orgID, src string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.get(orgID, now)
	o.admitted++
	o.count(src)
}

// refused counts a refusal and, the first time in an hour that an
// organization passes the threshold within a minute, queues the alert.
func (a *activity) refused(h *Handler, org *licet.Organization, src string, now time.Time) {
	a.mu.Lock()
	o := a.get(org.ID, now)
	o.refused++
	o.count(src)
	if h.limits.AlertRefusals <= 0 || o.refused <= h.limits.AlertRefusals || now.Sub(o.alerted) < time.Hour {
		a.mu.Unlock()
		return
	}
	o.alerted = now
	rep := licet.ActivityReport{Minute: o.minute, Refused: o.refused, Admitted: o.admitted, Threshold: h.limits.AlertRefusals}
	for src, n := range o.sources {
		rep.Sources = append(rep.Sources, licet.SourceCount{Address: src, Checks: n})
	}
	a.mu.Unlock()
	slices.SortFunc(rep.Sources, func(x, y licet.SourceCount) int { return y.Checks - x.Checks })
	rep.Sources = rep.Sources[:min(len(rep.Sources), 10)]
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sent, err := h.store.AlertActivity(ctx, org.ID, rep, now)
		switch {
		case err != nil:
			h.logger.Warn("unusual license activity: the alert could not be queued", "org", org.ID, "err", err)
		case sent:
			h.logger.Warn("unusual license activity: alert queued", "org", org.ID, "refused", rep.Refused, "admitted", rep.Admitted)
		}
	}()
}
