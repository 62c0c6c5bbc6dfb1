package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// AddPool sells seats to an organization. An unknown license type is created
// without inclusions.
func (s *Store) AddPool(ctx context.Context, p *licet.Pool, actor string) (err error) {
	defer sqldb.Failed(&err, "add a pool")
	return s.writeChange(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.LockOrg(ctx, tx, p.OrgID); err != nil {
			return err
		}
		now := s.db.Clock.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO license_types (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			p.LicenseType, sqldb.MS(now)); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO pools (org_id, license_type, seats, valid_from, valid_until, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, p.OrgID, p.LicenseType, p.Seats, sqldb.MS(p.From), sqldb.MS(p.Until), sqldb.MS(now)).Scan(&p.ID)
		if err != nil {
			return err
		}
		p.CreatedAt = sqldb.FromMS(sqldb.MS(now))
		return sqldb.Audit(ctx, tx, now, p.OrgID, actor, "pool.add", "",
			fmt.Sprintf("pool=%d type=%q seats=%d from=%s until=%s", p.ID, p.LicenseType, p.Seats, p.From.UTC().Format(time.RFC3339), fmtEnd(p.Until)))
	})
}

// Pools lists an organization's pools, oldest first.
func (s *Store) Pools(ctx context.Context, orgID string) (out []licet.Pool, err error) {
	defer sqldb.Failed(&err, "list pools")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		out, err = pools(ctx, tx, orgID)
		return err
	})
	return out, err
}

func pools(ctx context.Context, tx *sqldb.Tx, orgID string) (out []licet.Pool, err error) {
	err = tx.Batch(ctx, readPools(orgID, &out))
	return out, err
}

// readPools reads orgID's pools into *out.
func readPools(orgID string, out *[]licet.Pool) sqldb.Queued {
	return sqldb.Read(func(r sqldb.Scanner) error {
		var p licet.Pool
		var from, until, created int64
		if err := r.Scan(&p.ID, &p.OrgID, &p.LicenseType, &p.Seats, &from, &until, &created); err != nil {
			return err
		}
		p.From, p.Until, p.CreatedAt = sqldb.FromMS(from), sqldb.FromMS(until), sqldb.FromMS(created)
		*out = append(*out, p)
		return nil
	}, `SELECT id, org_id, license_type, seats, valid_from, valid_until, created_at FROM pools WHERE org_id = ? ORDER BY id`, orgID)
}

// used counts an organization's licensed users per license type.
func used(ctx context.Context, tx *sqldb.Tx, orgID string) (map[string]int, error) {
	out := map[string]int{}
	return out, tx.Batch(ctx, readUsed(orgID, out))
}

// readUsed reads into out orgID's licensed users per license type.
func readUsed(orgID string, out map[string]int) sqldb.Queued {
	return sqldb.Read(func(r sqldb.Scanner) error {
		var t string
		var n int
		if err := r.Scan(&t, &n); err != nil {
			return err
		}
		out[t] = n
		return nil
	}, `SELECT license_type, used FROM seat_usage WHERE org_id = ? AND used > 0`, orgID)
}

// SeatCounts returns, per license type the organization has or had, the
// seats of its active pools, how many are used, and how many are free.
func (s *Store) SeatCounts(ctx context.Context, orgID string) (out []licet.SeatCount, err error) {
	defer sqldb.Failed(&err, "count seats")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		ps, err := pools(ctx, tx, orgID)
		if err != nil {
			return err
		}
		u, err := used(ctx, tx, orgID)
		if err != nil {
			return err
		}
		out = licet.CountSeats(s.db.Clock.Now(), ps, u)
		return nil
	})
	return out, err
}

// PutLicenseType creates or changes a license type.
func (s *Store) PutLicenseType(ctx context.Context, t licet.LicenseType, actor string) (err error) {
	defer sqldb.Failed(&err, "store a license type")
	return s.writeChange(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		_, err := tx.ExecContext(ctx, `INSERT INTO license_types (name, includes, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET includes = excluded.includes`, t.Name, strings.Join(t.Includes, ","), sqldb.MS(now))
		if err != nil {
			return err
		}
		for _, inc := range t.Includes { // an included type exists from now on
			if _, err := tx.ExecContext(ctx, `INSERT INTO license_types (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, inc, sqldb.MS(now)); err != nil {
				return err
			}
		}
		return sqldb.Audit(ctx, tx, now, "", actor, "license_type.put", "", fmt.Sprintf("type=%q includes=%q", t.Name, strings.Join(t.Includes, ",")))
	})
}

// LicenseTypes lists every license type by name.
func (s *Store) LicenseTypes(ctx context.Context) (out []licet.LicenseType, err error) {
	defer sqldb.Failed(&err, "list license types")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		out, err = licenseTypes(ctx, tx)
		return err
	})
	return out, err
}

func licenseTypes(ctx context.Context, tx *sqldb.Tx) (out []licet.LicenseType, err error) {
	err = tx.Batch(ctx, readLicenseTypes(&out))
	return out, err
}

// readLicenseTypes reads the license types into *out.
func readLicenseTypes(out *[]licet.LicenseType) sqldb.Queued {
	return sqldb.Read(func(r sqldb.Scanner) error {
		var t licet.LicenseType
		var inc string
		if err := r.Scan(&t.Name, &inc); err != nil {
			return err
		}
		t.Includes = []string{}
		if inc != "" {
			t.Includes = strings.Split(inc, ",")
			sort.Strings(t.Includes)
		}
		*out = append(*out, t)
		return nil
	}, `SELECT name, includes FROM license_types ORDER BY name`)
}

// UpdatePool changes a pool's seats or end. Users already licensed keep
// their seats when seats shrink below use; new assignments wait for room.
func (s *Store) UpdatePool(ctx context.Context, orgID string, poolID int64, c licet.PoolChange, actor string) (p *licet.Pool, err error) {
	defer sqldb.Failed(&err, "update a pool")
	err = s.writeChange(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.LockOrg(ctx, tx, orgID); err != nil {
			return err
		}
		ps, err := pools(ctx, tx, orgID)
		if err != nil {
			return err
		}
		for i := range ps {
			if ps[i].ID == poolID {
				p = &ps[i]
			}
		}
		if p == nil {
			return licet.Errorf(licet.ENOTFOUND, "pool %d not found in organization %s", poolID, orgID)
		}
		var changes []string
		if c.Seats != nil && *c.Seats != p.Seats {
			changes = append(changes, fmt.Sprintf("seats=%d->%d", p.Seats, *c.Seats))
			p.Seats = *c.Seats
		}
		if c.Until != nil && !c.Until.Equal(p.Until) {
			if !c.Until.IsZero() && !c.Until.After(p.From) {
				return licet.Errorf(licet.EINVALID, "the pool cannot end before it starts")
			}
			changes = append(changes, fmt.Sprintf("until=%s", fmtEnd(*c.Until)))
			p.Until = *c.Until
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pools SET seats = ?, valid_until = ? WHERE id = ?`, p.Seats, sqldb.MS(p.Until), p.ID); err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, s.db.Clock.Now(), orgID, actor, "pool.update", "", fmt.Sprintf("pool=%d %s", p.ID, strings.Join(changes, " ")))
	})
	return p, err
}

func fmtEnd(t time.Time) string {
	if t.IsZero() {
		return "no end"
	}
	return t.UTC().Format(time.RFC3339)
}
