package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/licet/licet"
)

const orgCols = `id, name, url, auto_assign, assign_type, temporary_days, free_unused_days, offline, notifications, notification_emails, created_at, notify_window_minutes,
	temporary_max, temporary_max_days, admissions_per_minute, bind_url`

type scanner interface{ Scan(...any) error }

func scanOrg(r scanner) (*licet.Organization, error) {
	var o licet.Organization
	var emails string
	var created int64
	err := r.Scan(&o.ID, &o.Name, &o.URL, &o.Settings.AutoAssign, &o.Settings.AssignType, &o.Settings.TemporaryDays,
		&o.Settings.FreeUnusedDays, &o.Settings.Offline, &o.Settings.Notifications, &emails, &created, &o.Settings.NotifyWindow,
		&o.Settings.TemporaryMax, &o.Settings.TemporaryMaxDays, &o.Settings.AdmissionsPerMinute, &o.Settings.BindURL)
	if err != nil {
		return nil, err
	}
	o.CreatedAt = fromMS(created)
	o.Settings.NotificationEmails = []string{}
	if emails != "" {
		o.Settings.NotificationEmails = strings.Split(emails, ",")
	}
	return &o, nil
}

func findOrg(ctx context.Context, tx *Tx, id string) (*licet.Organization, error) {
	return queryOrg(ctx, tx, id, "")
}

// lockOrg reads an organization and locks it until the transaction ends.
// Every change that takes a seat locks the organization first, so that no
// two transactions, in this process or another, count the same free seat.
func lockOrg(ctx context.Context, tx *Tx, id string) (*licet.Organization, error) {
	return queryOrg(ctx, tx, id, tx.d.ForUpdate)
}

func queryOrg(ctx context.Context, tx *Tx, id, suffix string) (*licet.Organization, error) {
	o, err := scanOrg(tx.QueryRowContext(ctx, `SELECT `+orgCols+` FROM organizations WHERE id = ?`+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, licet.Errorf(licet.ENOTFOUND, "organization %s not found", id)
	}
	return o, err
}

// CreateOrganization stores a new organization.
func (s *Store) CreateOrganization(ctx context.Context, o *licet.Organization, actor string) (err error) {
	defer failed(&err, "create an organization")
	if err := o.CheckSettings(); err != nil {
		return err
	}
	return s.writeChange(ctx, func(tx *Tx) error {
		now := s.clock.Now()
		st := o.Settings
		res, err := tx.ExecContext(ctx, `INSERT INTO organizations (`+orgCols+`, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			o.ID, o.Name, o.URL, st.AutoAssign, st.AssignType, st.TemporaryDays, st.FreeUnusedDays, st.Offline,
			st.Notifications, strings.Join(st.NotificationEmails, ","), ms(now), st.NotifyWindow,
			st.TemporaryMax, st.TemporaryMaxDays, st.AdmissionsPerMinute, st.BindURL, ms(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return licet.Errorf(licet.ECONFLICT, "organization %s exists already", o.ID)
		}
		o.CreatedAt = fromMS(ms(now))
		if err := consentNewAddresses(ctx, tx, o, nil, actor, now); err != nil {
			return err
		}
		return audit(ctx, tx, now, o.ID, actor, "organization.create", "", fmt.Sprintf("name=%q url=%q", o.Name, o.URL))
	})
}

// Organization returns one organization.
func (s *Store) Organization(ctx context.Context, id string) (o *licet.Organization, err error) {
	defer failed(&err, "fetch an organization")
	err = s.read(ctx, func(tx *Tx) error {
		o, err = findOrg(ctx, tx, id)
		return err
	})
	return o, err
}

// Organizations returns every organization by name.
func (s *Store) Organizations(ctx context.Context) (out []*licet.Organization, err error) {
	defer failed(&err, "list organizations")
	err = s.read(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+orgCols+` FROM organizations ORDER BY name, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOrg(rows)
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
	defer failed(&err, "update an organization")
	err = s.writeChange(ctx, func(tx *Tx) error {
		if o, err = lockOrg(ctx, tx, id); err != nil {
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
		if err := consentNewAddresses(ctx, tx, o, before, actor, s.clock.Now()); err != nil {
			return err
		}
		st := o.Settings
		_, err := tx.ExecContext(ctx, `UPDATE organizations SET name = ?, url = ?, auto_assign = ?, assign_type = ?,
			temporary_days = ?, free_unused_days = ?, offline = ?, notifications = ?, notification_emails = ?, notify_window_minutes = ?,
			temporary_max = ?, temporary_max_days = ?, admissions_per_minute = ?, bind_url = ?,
			updated_at = ? WHERE id = ?`, o.Name, o.URL, st.AutoAssign, st.AssignType, st.TemporaryDays, st.FreeUnusedDays, st.Offline,
			st.Notifications, strings.Join(st.NotificationEmails, ","), st.NotifyWindow,
			st.TemporaryMax, st.TemporaryMaxDays, st.AdmissionsPerMinute, st.BindURL, ms(s.clock.Now()), id)
		if err != nil {
			return err
		}
		return audit(ctx, tx, s.clock.Now(), id, actor, "organization.update", "", strings.Join(changes, " "))
	})
	return o, err
}
