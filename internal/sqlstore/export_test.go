package sqlstore

import (
	"context"
	"slices"

	"github.com/licet/licet"
)

// PrefetchSQL is the group's read of its users, for a test of its plan.
const PrefetchSQL = prefetchSQL

// AdmitTogether runs admissions as one group of the group commit, as when
// they arrive together, and returns their decisions in their order.
func (s *Store) AdmitTogether(ctx context.Context, reqs []licet.AdmitRequest) ([]*licet.Decision, error) {
	if _, err := s.idKey(ctx); err != nil {
		return nil, err
	}
	jobs := make([]*admitJob, len(reqs))
	for i, r := range reqs {
		jobs[i] = &admitJob{ctx: ctx, req: r, done: make(chan struct{})}
	}
	s.group.commit(slices.Clone(jobs)) // commit sorts its batch
	out := make([]*licet.Decision, len(jobs))
	for i, j := range jobs {
		if j.err != nil {
			return nil, j.err
		}
		out[i] = j.d
	}
	return out, nil
}
