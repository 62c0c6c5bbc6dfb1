package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

const userCols = `org_id, user_id, state, disabled, license_type, assigned_at, assigned_by, temporary_until,
	first_seen, last_seen, device_id, device_info, version, edition, org_url, org_name, recorded_at`

func scanUser(r sqldb.Scanner) (*licet.User, error) {
	var u licet.User
	var assigned, temp, first, last, recorded int64
	err := r.Scan(&u.OrgID, &u.ID, &u.State, &u.Disabled, &u.LicenseType, &assigned, &u.AssignedBy, &temp,
		&first, &last, &u.Last.DeviceID, &u.Last.DeviceInfo, &u.Last.Version, &u.Last.Edition,
		&u.Last.OrganizationURL, &u.Last.OrganizationName, &recorded)
	if err != nil {
		return nil, err
	}
	u.AssignedAt, u.TemporaryUntil, u.FirstSeen, u.LastSeen = sqldb.FromMS(assigned), sqldb.FromMS(temp), sqldb.FromMS(first), sqldb.FromMS(last)
	u.RecordedAt = sqldb.FromMS(recorded)
	u.Last.At = u.LastSeen
	return &u, nil
}

// findUser returns the user, nil when there is none.
func findUser(ctx context.Context, tx *sqldb.Tx, orgID, userID string) (*licet.User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE org_id = ? AND user_id = ?`, orgID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return u, err
}

// saveUser writes every field of u, inserting it when new.
func saveUser(ctx context.Context, tx *sqldb.Tx, u *licet.User) error {
	return tx.ExecLater(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, user_id) DO UPDATE SET state = excluded.state, disabled = excluded.disabled,
		license_type = excluded.license_type, assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by,
		temporary_until = excluded.temporary_until, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
		device_id = excluded.device_id, device_info = excluded.device_info, version = excluded.version,
		edition = excluded.edition, org_url = excluded.org_url, org_name = excluded.org_name, recorded_at = excluded.recorded_at`,
		u.OrgID, u.ID, u.State, u.Disabled, u.LicenseType, sqldb.MS(u.AssignedAt), u.AssignedBy, sqldb.MS(u.TemporaryUntil),
		sqldb.MS(u.FirstSeen), sqldb.MS(u.LastSeen), u.Last.DeviceID, u.Last.DeviceInfo, u.Last.Version, u.Last.Edition,
		u.Last.OrganizationURL, u.Last.OrganizationName, sqldb.MS(u.RecordedAt))
}

// User returns one user of an organization.
func (s *Store) User(ctx context.Context, orgID, userID string) (u *licet.User, err error) {
	defer sqldb.Failed(&err, "fetch a user")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		if u, err = findUser(ctx, tx, orgID, userID); err == nil && u == nil {
			err = licet.Errorf(licet.ENOTFOUND, "user %s not found in organization %s", userID, orgID)
		}
		return err
	})
	return u, err
}

// Users lists an organization's users by ID, with the number that match f.
func (s *Store) Users(ctx context.Context, orgID string, f licet.UserFilter) (out []*licet.User, total int, err error) {
	defer sqldb.Failed(&err, "list users")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		where := []string{"org_id = ?"}
		args := []any{orgID}
		switch f.State {
		case "":
		case "disabled":
			where = append(where, "disabled")
		default:
			where = append(where, "state = ?", "NOT disabled")
			args = append(args, f.State)
		}
		if f.Type != "" {
			where = append(where, "license_type = ?")
			args = append(args, f.Type)
		}
		if f.Search != "" {
			where = append(where, "user_id LIKE ? ESCAPE '\\'")
			args = append(args, sqldb.LikeEscape(strings.ToUpper(f.Search))+"%")
		}
		w := strings.Join(where, " AND ")
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+w, args...).Scan(&total); err != nil {
			return err
		}
		limit := f.Limit
		if limit <= 0 {
			limit = math.MaxInt32
		}
		order := "user_id"
		switch {
		case f.Sort == "lastSeen":
			order = "last_seen DESC, user_id"
		case f.Sort == "assigned":
			order = "assigned_at DESC, user_id"
		case f.After != "":
			w += " AND user_id > ?"
			args = append(args, f.After)
			f.Offset = 0
		case f.Before != "":
			w += " AND user_id < ?"
			args = append(args, f.Before)
			order, f.Offset = "user_id DESC", 0
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE `+w+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
			append(args, limit, f.Offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		if f.Sort == "" && f.After == "" && f.Before != "" {
			slices.Reverse(out) // read backwards from the cursor; shown forwards
		}
		return rows.Err()
	})
	return out, total, err
}

// ChangeUser does what an operator or administrator asks to a user.
func (s *Store) ChangeUser(ctx context.Context, orgID, userID string, action licet.UserAction, licenseType, actor string) (u *licet.User, err error) {
	defer sqldb.Failed(&err, "change a user")
	us, err := s.changeUsers(ctx, orgID, []string{userID}, action, licenseType, actor)
	if err != nil || len(us) == 0 {
		return nil, err
	}
	return us[0], nil
}

// ChangeUsers does one action to several users in one transaction: all or
// nothing. Assignments check seats under the organization's lock, counting
// the seats the earlier users of the batch take. Deleted users are not
// returned.
func (s *Store) ChangeUsers(ctx context.Context, orgID string, userIDs []string, action licet.UserAction, licenseType, actor string) (out []*licet.User, err error) {
	defer sqldb.Failed(&err, "change users")
	return s.changeUsers(ctx, orgID, userIDs, action, licenseType, actor)
}

// changeUsers is ChangeUsers, its errors named by the public method that
// called it.
func (s *Store) changeUsers(ctx context.Context, orgID string, userIDs []string, action licet.UserAction, licenseType, actor string) (out []*licet.User, err error) {
	if action == licet.ActionDelete && !s.db.ReadOnly {
		if _, err := s.idKey(ctx); err != nil { // outside the transaction: it may write the secret once
			return nil, err
		}
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		out = nil
		c := &change{s: s, ctx: ctx, tx: tx, now: s.db.Clock.Now(), action: action, licenseType: licenseType, actor: actor}
		var err error
		if c.org, err = sqldb.LockOrg(ctx, tx, orgID); err != nil {
			return err
		}
		if action == licet.ActionAssign {
			if c.pools, err = pools(ctx, tx, orgID); err != nil {
				return err
			}
			if c.types, err = licenseTypes(ctx, tx); err != nil {
				return err
			}
			if c.used, err = used(ctx, tx, orgID); err != nil {
				return err
			}
		}
		for _, id := range userIDs {
			u, err := c.apply(id)
			if err != nil {
				return err
			}
			if u != nil {
				out = append(out, u)
			}
		}
		return usersChanged(ctx, tx, orgID, c.now, userIDs...)
	})
	if err == nil {
		s.tellUsersChanged(orgID, userIDs)
	}
	return out, err
}

// change is one batch of user changes inside a transaction.
type change struct {
	s                  *Store
	ctx                context.Context
	tx                 *sqldb.Tx
	now                time.Time
	org                *licet.Organization
	action             licet.UserAction
	licenseType, actor string
	pools              []licet.Pool
	types              []licet.LicenseType
	used               map[string]int
}

func (c *change) apply(userID string) (*licet.User, error) {
	ctx, tx, orgID := c.ctx, c.tx, c.org.ID
	u, err := findUser(ctx, tx, orgID, userID)
	if err != nil {
		return nil, err
	}
	if u == nil && c.action != licet.ActionAdd && c.action != licet.ActionAssign {
		return nil, licet.Errorf(licet.ENOTFOUND, "user %s not found in organization %s", userID, orgID)
	}
	if u == nil {
		u = &licet.User{OrgID: orgID, ID: userID, State: licet.UserUnlicensed}
	} else if c.action == licet.ActionAdd {
		return nil, licet.Errorf(licet.ECONFLICT, "user %s exists already", userID)
	}
	detail := ""
	switch c.action {
	case licet.ActionAdd:
	case licet.ActionAssign:
		t, err := licet.ChooseAssignment(c.now, c.org, u, c.pools, c.types, c.used, c.licenseType)
		if err != nil {
			return nil, err
		}
		if u.State == licet.UserLicensed && u.LicenseType == t {
			return u, nil // already so; nothing changes, nothing to audit
		}
		if u.State == licet.UserLicensed {
			c.used[u.LicenseType]--
		}
		c.used[t]++
		u.State, u.LicenseType, u.AssignedAt, u.AssignedBy = licet.UserLicensed, t, c.now, c.actor
		detail = fmt.Sprintf("type=%q", t)
	case licet.ActionUnassign:
		if u.State == licet.UserUnlicensed {
			return u, nil
		}
		detail = fmt.Sprintf("type=%q", u.LicenseType)
		release(u)
	case licet.ActionEnable:
		if !u.Disabled {
			return u, nil
		}
		u.Disabled = false
	case licet.ActionDisable:
		if u.Disabled {
			return u, nil
		}
		if u.State != licet.UserUnlicensed {
			detail = fmt.Sprintf("released type=%q", u.LicenseType)
		}
		u.Disabled = true
		release(u)
	case licet.ActionDelete:
		if !u.TemporaryUntil.IsZero() {
			// Held one (perhaps before grants were recorded): the ID stays
			// barred from a second one after the user is gone.
			if err := c.s.recordTemporaryGrant(ctx, tx, orgID, userID, u.TemporaryUntil); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE org_id = ? AND user_id = ?`, orgID, userID); err != nil {
			return nil, err
		}
		return nil, sqldb.Audit(ctx, tx, c.now, orgID, c.actor, "user.delete", userID, "")
	default:
		return nil, licet.Errorf(licet.EINVALID, "unknown action %q", c.action)
	}
	u.RecordedAt = time.Time{} // an administrator has seen to it: never evicted as a stranger
	if err := saveUser(ctx, tx, u); err != nil {
		return nil, err
	}
	return u, sqldb.Audit(ctx, tx, c.now, orgID, c.actor, "user."+string(c.action), userID, detail)
}

// release frees the user's seat or temporary license. A temporary license
// is not granted twice, so its end is kept.
func release(u *licet.User) {
	u.State, u.LicenseType, u.AssignedAt, u.AssignedBy = licet.UserUnlicensed, "", time.Time{}, ""
}

// Audit returns an organization's audit events, newest first ("" for all).
func (s *Store) Audit(ctx context.Context, orgID string, f licet.AuditFilter) (out []licet.AuditEvent, err error) {
	defer sqldb.Failed(&err, "read the audit log")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		where := []string{"1 = 1"}
		args := []any{}
		if orgID != "" {
			where = append(where, "org_id = ?")
			args = append(args, orgID)
		}
		if f.User != "" {
			where = append(where, `user_id LIKE ? ESCAPE '\'`)
			args = append(args, sqldb.LikeEscape(strings.ToUpper(f.User))+"%")
		}
		if f.Action != "" {
			where = append(where, `action LIKE ? ESCAPE '\'`)
			args = append(args, "%"+sqldb.LikeEscape(f.Action)+"%")
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, at, org_id, actor, action, user_id, detail FROM audit WHERE `+
			strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e licet.AuditEvent
			var at int64
			if err := rows.Scan(&e.ID, &at, &e.OrgID, &e.Actor, &e.Action, &e.UserID, &e.Detail); err != nil {
				return err
			}
			e.At = sqldb.FromMS(at)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}
