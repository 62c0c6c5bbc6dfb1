package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// groupCommit runs the admissions that arrive together in one transaction
// with one durable commit; if that transaction fails, each runs again
// alone. An answer is sent only after its commit. Decisions stay
// serialized: each sees the seats the ones before it took.
type groupCommit struct {
	s    *Store
	jobs chan *admitJob
	stop chan struct{}
	done chan struct{}
}

type admitJob struct {
	ctx  context.Context
	req  licet.AdmitRequest
	d    *licet.Decision
	err  error
	done chan struct{}
}

// maxGroup bounds one group's transaction.
const maxGroup = 256

func newGroupCommit(s *Store) *groupCommit {
	g := &groupCommit{s: s, jobs: make(chan *admitJob, 4*maxGroup), stop: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

func (g *groupCommit) admit(ctx context.Context, req licet.AdmitRequest) (*licet.Decision, error) {
	j := &admitJob{ctx: ctx, req: req, done: make(chan struct{})}
	select {
	case g.jobs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-g.stop:
		return nil, licet.Errorf(licet.EUNAVAILABLE, "the server is shutting down")
	}
	// Once queued, the job runs and is answered even if the caller gives
	// up: the answer tells whether the seat was taken.
	<-j.done
	return j.d, j.err
}

func (g *groupCommit) close() {
	close(g.stop)
	<-g.done
}

func (g *groupCommit) run() {
	defer close(g.done)
	for {
		var first *admitJob
		select {
		case first = <-g.jobs:
		case <-g.stop:
			return
		}
		batch := []*admitJob{first}
	drain:
		for len(batch) < maxGroup {
			select {
			case j := <-g.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		g.commit(batch)
	}
}

// commit runs a batch in one transaction. If that fails, each job runs
// again alone, so one bad admission costs only itself.
func (g *groupCommit) commit(batch []*admitJob) {
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(g.s.WriteTimeout, 30*time.Second))
	defer cancel()
	// Organizations are locked in one order in every batch, so two
	// processes' batches cannot deadlock each other.
	slices.SortStableFunc(batch, func(a, b *admitJob) int { return strings.Compare(a.req.OrgID, b.req.OrgID) })
	changed := map[string][]string{}
	err := g.s.db.WriteCached(ctx, func(tx *sqldb.Tx) error {
		memo := admitMemo{s: g.s, want: map[string][]string{}}
		for _, j := range batch {
			memo.want[j.req.OrgID] = append(memo.want[j.req.OrgID], j.req.UserID)
		}
		for _, j := range batch {
			j.d, j.err = nil, j.ctx.Err()
			if j.err != nil {
				continue
			}
			d, ch, err := g.s.admit(ctx, tx, j.req, &memo)
			if err != nil {
				return err
			}
			j.d = d
			changed[j.req.OrgID] = append(changed[j.req.OrgID], ch...)
		}
		now := g.s.db.Clock.Now()
		for org, ids := range changed {
			if err := usersChanged(ctx, tx, org, now, ids...); err != nil {
				return err
			}
		}
		return nil
	})
	// A batch that failed for want of the database is not run again: its
	// commit may have happened on a node that is being lost, and a second
	// run could read that commit's rows there and report them as done.
	if err != nil && len(batch) > 1 && licet.ErrorCode(err) != licet.EUNAVAILABLE {
		for _, j := range batch {
			// What the failed transaction decided was rolled back: a job
			// not run again gets an error, never that decision.
			j.d, j.err = nil, err
			if cerr := j.ctx.Err(); cerr != nil {
				j.err = cerr
			} else {
				j.d, j.err = g.s.admitAlone(ctx, j.req)
			}
			close(j.done)
		}
		return
	}
	if err == nil {
		for org, ids := range changed {
			g.s.tellUsersChanged(org, ids)
		}
	}
	for _, j := range batch {
		if err != nil {
			j.d, j.err = nil, err
		}
		close(j.done)
	}
}
