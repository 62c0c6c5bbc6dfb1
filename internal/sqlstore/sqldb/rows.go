package sqldb

import (
	"context"
	"strings"
	"time"

	"github.com/licet/licet"
)

// Scanner is a *sql.Row or *sql.Rows.
type Scanner interface{ Scan(...any) error }

// MS stores times as Unix milliseconds; the zero time is 0.
func MS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMS reads a time MS stored.
func FromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Audit records an audit event in tx.
func Audit(ctx context.Context, tx *Tx, at time.Time, orgID, actor, action, userID, detail string) error {
	return tx.ExecLater(ctx, `INSERT INTO audit (at, org_id, actor, action, user_id, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		MS(at), orgID, actor, action, userID, detail)
}

// OrgCols are the columns ScanOrg reads, in its order.
const OrgCols = `id, name, url, auto_assign, assign_type, temporary_days, free_unused_days, offline, notifications, notification_emails, created_at, notify_window_minutes,
	temporary_max, temporary_max_days, admissions_per_minute, bind_url`

// ScanOrg reads an organization.
func ScanOrg(r Scanner) (*licet.Organization, error) {
	var o licet.Organization
	var emails string
	var created int64
	err := r.Scan(&o.ID, &o.Name, &o.URL, &o.Settings.AutoAssign, &o.Settings.AssignType, &o.Settings.TemporaryDays,
		&o.Settings.FreeUnusedDays, &o.Settings.Offline, &o.Settings.Notifications, &emails, &created, &o.Settings.NotifyWindow,
		&o.Settings.TemporaryMax, &o.Settings.TemporaryMaxDays, &o.Settings.AdmissionsPerMinute, &o.Settings.BindURL)
	if err != nil {
		return nil, err
	}
	o.CreatedAt = FromMS(created)
	o.Settings.NotificationEmails = []string{}
	if emails != "" {
		o.Settings.NotificationEmails = strings.Split(emails, ",")
	}
	return &o, nil
}

// FindOrg reads an organization; an unknown one is ENOTFOUND.
func FindOrg(ctx context.Context, tx *Tx, id string) (*licet.Organization, error) {
	return queryOrg(ctx, tx, id, "")
}

// LockOrg reads an organization and locks it until the transaction ends.
// Every change that takes a seat locks the organization first, so that no
// two transactions, in this process or another, count the same free seat.
func LockOrg(ctx context.Context, tx *Tx, id string) (*licet.Organization, error) {
	return queryOrg(ctx, tx, id, tx.d.ForUpdate)
}

func queryOrg(ctx context.Context, tx *Tx, id, suffix string) (*licet.Organization, error) {
	var o *licet.Organization
	if err := tx.Batch(ctx, readOrg(id, suffix, &o)); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, licet.Errorf(licet.ENOTFOUND, "organization %s not found", id)
	}
	return o, nil
}

// LockOrgRead is LockOrg for a Batch: it sets *out to the organization,
// locked, and leaves it nil when there is none.
func LockOrgRead(tx *Tx, id string, out **licet.Organization) Queued {
	return readOrg(id, tx.d.ForUpdate, out)
}

func readOrg(id, suffix string, out **licet.Organization) Queued {
	return Read(func(r Scanner) (err error) {
		*out, err = ScanOrg(r)
		return err
	}, `SELECT `+OrgCols+` FROM organizations WHERE id = ?`+suffix, id)
}

// Column reads a one-column query's strings.
func Column(ctx context.Context, tx *Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// LikeEscape makes s match literally in a LIKE pattern with ESCAPE '\'.
func LikeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
