package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/outbox"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// CreateOrganization stores a new organization.
func (s *Store) CreateOrganization(ctx context.Context, o *licet.Organization, actor string) (err error) {
	defer sqldb.Failed(&err, "create an organization")
	if err := o.CheckSettings(); err != nil {
		return err
	}
	return s.writeChange(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		st := o.Settings
		res, err := tx.ExecContext(ctx, `INSERT INTO organizations (`+sqldb.OrgCols+`, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			o.ID, o.Name, o.URL, st.AutoAssign, st.AssignType, st.TemporaryDays, st.FreeUnusedDays, st.Offline,
			st.Notifications, strings.Join(st.NotificationEmails, ","), sqldb.MS(now), st.NotifyWindow,
			st.TemporaryMax, st.TemporaryMaxDays, st.AdmissionsPerMinute, st.BindURL, sqldb.MS(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return licet.Errorf(licet.ECONFLICT, "organization %s exists already", o.ID)
		}
		o.CreatedAt = sqldb.FromMS(sqldb.MS(now))
		if err := outbox.ConsentNewAddresses(ctx, tx, o, nil, actor, now); err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, now, o.ID, actor, "organization.create", "", fmt.Sprintf("name=%q url=%q", o.Name, o.URL))
	})
}

// Organization returns one organization.
func (s *Store) Organization(ctx context.Context, id string) (o *licet.Organization, err error) {
	defer sqldb.Failed(&err, "fetch an organization")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		o, err = sqldb.FindOrg(ctx, tx, id)
		return err
	})
	return o, err
}

// Organizations returns every organization by name.
func (s *Store) Organizations(ctx context.Context) (out []*licet.Organization, err error) {
	defer sqldb.Failed(&err, "list organizations")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+sqldb.OrgCols+` FROM organizations ORDER BY name, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := sqldb.ScanOrg(rows)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}

// UpdateOrganization applies a settings patch and audits what changed.
func (s *Store) UpdateOrganization(ctx context.Context, id string, p licet.SettingsPatch, actor string) (o *licet.Organization, err error) {
	defer sqldb.Failed(&err, "update an organization")
	err = s.writeChange(ctx, func(tx *sqldb.Tx) error {
		if o, err = sqldb.LockOrg(ctx, tx, id); err != nil {
			return err
		}
		before := o.Settings.NotificationEmails
		changes := licet.ApplyPatch(o, p)
		if len(changes) == 0 {
			return nil
		}
		if err := o.CheckSettings(); err != nil {
			return err
		}
		if err := outbox.ConsentNewAddresses(ctx, tx, o, before, actor, s.db.Clock.Now()); err != nil {
			return err
		}
		st := o.Settings
		_, err := tx.ExecContext(ctx, `UPDATE organizations SET name = ?, url = ?, auto_assign = ?, assign_type = ?,
			temporary_days = ?, free_unused_days = ?, offline = ?, notifications = ?, notification_emails = ?, notify_window_minutes = ?,
			temporary_max = ?, temporary_max_days = ?, admissions_per_minute = ?, bind_url = ?,
			updated_at = ? WHERE id = ?`, o.Name, o.URL, st.AutoAssign, st.AssignType, st.TemporaryDays, st.FreeUnusedDays, st.Offline,
			st.Notifications, strings.Join(st.NotificationEmails, ","), st.NotifyWindow,
			st.TemporaryMax, st.TemporaryMaxDays, st.AdmissionsPerMinute, st.BindURL, sqldb.MS(s.db.Clock.Now()), id)
		if err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, s.db.Clock.Now(), id, actor, "organization.update", "", strings.Join(changes, " "))
	})
	return o, err
}
