// Package sightings writes the sightings of licensed users that the
// check buffers (last seen, device, version…), in bulk: on a database where
// each statement is a round trip, many users a statement.
package sightings

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// Record writes a batch of sightings in one transaction: per user its
// newest sighting, first seen at its earliest. A sighting older than the
// user's last, or of a user deleted meanwhile, changes nothing.
func Record(ctx context.Context, db *sqldb.DB, batch []licet.Sighting) error {
	if len(batch) == 0 {
		return nil
	}
	// One row per user: the newest sighting, and the earliest as the
	// first, as writing them one after another would leave it.
	type seen struct {
		licet.Sighting
		first time.Time
	}
	newest := make(map[[2]string]int, len(batch))
	rows := make([]seen, 0, len(batch))
	for _, x := range batch {
		k := [2]string{x.OrgID, x.UserID}
		i, ok := newest[k]
		switch {
		case !ok:
			newest[k] = len(rows)
			rows = append(rows, seen{x, x.At})
		case x.At.After(rows[i].At):
			rows[i].Sighting = x
		case x.At.Before(rows[i].first):
			rows[i].first = x.At
		}
	}
	// In key order: the rows are found in one pass through the table's
	// pages, and two processes flushing the same users lock them in one
	// order.
	slices.SortFunc(rows, func(a, b seen) int {
		return cmp.Or(strings.Compare(a.OrgID, b.OrgID), strings.Compare(a.UserID, b.UserID))
	})
	per := max(1, db.D.RowsPerStatement)
	// Where each statement is one row (SQLite, in process), a statement
	// takes microseconds and the flush stops between rows once ctx is
	// done; a cancellable context would make the driver start a watcher
	// goroutine for every row.
	ectx := ctx
	if per == 1 {
		ectx = context.WithoutCancel(ctx)
	}
	return db.Write(ctx, func(tx *sqldb.Tx) error {
		// Up to per users a statement; the statement for a full chunk is
		// prepared once per flush.
		var full *sql.Stmt
		args := make([]any, 0, min(len(rows), per)*11)
		for len(rows) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(len(rows), per)
			args = args[:0]
			for _, x := range rows[:n] {
				args = append(args, sqldb.MS(x.At), sqldb.MS(x.first), x.DeviceID, x.DeviceInfo, x.Version, x.Edition,
					x.OrganizationURL, x.OrganizationName, x.OrgID, x.UserID)
				if per == 1 {
					args = append(args, sqldb.MS(x.At))
				}
			}
			rows = rows[n:]
			var err error
			if n == per {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, updateSQL(n, per)); err != nil {
						return err
					}
					defer full.Close()
				}
				_, err = full.ExecContext(ectx, args...)
			} else {
				_, err = tx.ExecContext(ectx, updateSQL(n, per), args...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// updateSQL updates n users; a sighting older than the user's last,
// or of a user deleted meanwhile, changes nothing. Where the dialect
// writes one row per statement, it is a plain UPDATE of one row.
func updateSQL(n, per int) string {
	if per == 1 {
		return `UPDATE users SET last_seen = ?, first_seen = CASE WHEN first_seen = 0 THEN ? ELSE first_seen END,
			device_id = ?, device_info = ?, version = ?, edition = ?, org_url = ?, org_name = ?
			WHERE org_id = ? AND user_id = ? AND last_seen < ?`
	}
	var b strings.Builder
	b.WriteString(`UPDATE users SET
		first_seen = CASE WHEN users.first_seen = 0 THEN v.column2 ELSE users.first_seen END,
		last_seen = v.column1, device_id = v.column3, device_info = v.column4, version = v.column5, edition = v.column6,
		org_url = v.column7, org_name = v.column8
		FROM (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`(CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, ?, ?, ?, ?, ?, ?)`)
	}
	b.WriteString(`) AS v
		WHERE users.org_id = v.column9 AND users.user_id = v.column10 AND users.last_seen < v.column1`)
	return b.String()
}
