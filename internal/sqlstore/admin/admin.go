// Package admin is the part of the SQL store that keeps who may
// administer: administrators and the organizations they administer, their
// one-time links to set a password, browser sessions, API tokens, and
// single sign-on providers with the sign-ins under way.
package admin

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// Accounts keeps administrators, their sessions, links and API tokens,
// and single sign-on.
type Accounts struct{ db *sqldb.DB }

// New returns the accounts kept in db.
func New(db *sqldb.DB) *Accounts { return &Accounts{db: db} }

// adminOrgs fills in the organizations an administrator administers: all
// of them for the operator's console account.
func adminOrgs(ctx context.Context, tx *sqldb.Tx, a *licet.Admin) error {
	q, args := `SELECT org_id FROM admin_orgs WHERE admin_id = ? ORDER BY org_id`, []any{a.ID}
	if a.IsOperator() {
		q, args = `SELECT id FROM organizations ORDER BY name, id`, nil
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	a.Orgs = []string{}
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return err
		}
		a.Orgs = append(a.Orgs, o)
	}
	return rows.Err()
}

func findAdmin(ctx context.Context, tx *sqldb.Tx, where string, arg any) (*licet.Admin, error) {
	var a licet.Admin
	err := tx.QueryRowContext(ctx, `SELECT id, email, password_hash FROM admins WHERE `+where, arg).Scan(&a.ID, &a.Email, &a.PasswordHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, licet.Errorf(licet.ENOTFOUND, "no such administrator")
	} else if err != nil {
		return nil, err
	}
	return &a, adminOrgs(ctx, tx, &a)
}

// OperatorAdmin returns the console account of the vendor's operator (who
// signs in with the operator token and sees every organization), making it
// on first use. Its address "operator" can be no administrator's: those
// are e-mail addresses.
func (s *Accounts) OperatorAdmin(ctx context.Context) (a *licet.Admin, err error) {
	defer sqldb.Failed(&err, "make the operator console account")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO admins (email, created_at) VALUES (?, ?) ON CONFLICT (email) DO NOTHING`,
			licet.ActorOperator, sqldb.MS(s.db.Clock.Now())); err != nil {
			return err
		}
		a, err = findAdmin(ctx, tx, "email = ?", licet.ActorOperator)
		return err
	})
	return a, err
}

// AddAdmin makes an address an administrator of an organization (creating
// the administrator if new) and stores a one-time link to set a password.
func (s *Accounts) AddAdmin(ctx context.Context, orgID, email, linkHash string, expires time.Time, actor string) (a *licet.Admin, err error) {
	defer sqldb.Failed(&err, "add an administrator")
	email = strings.ToLower(email)
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		now := s.db.Clock.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO admins (email, created_at) VALUES (?, ?) ON CONFLICT (email) DO NOTHING`, email, sqldb.MS(now)); err != nil {
			return err
		}
		if a, err = findAdmin(ctx, tx, "email = ?", email); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO admin_orgs (admin_id, org_id) VALUES (?, ?) ON CONFLICT (admin_id, org_id) DO NOTHING`, a.ID, orgID); err != nil {
			return err
		}
		// Only the newest link works: whoever holds an older one (an earlier
		// mail, a forwarded invitation) cannot set the password.
		if err := revokeLinks(ctx, tx, a.ID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO admin_links (token_hash, admin_id, expires_at) VALUES (?, ?, ?)`, linkHash, a.ID, sqldb.MS(expires)); err != nil {
			return err
		}
		if err := adminOrgs(ctx, tx, a); err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, now, orgID, actor, "admin.add", "", "email="+email)
	})
	return a, err
}

// AdminByLink returns the administrator of an unused, unexpired link.
func (s *Accounts) AdminByLink(ctx context.Context, linkHash string) (a *licet.Admin, err error) {
	defer sqldb.Failed(&err, "find the administrator of a link")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT admin_id FROM admin_links WHERE token_hash = ? AND used_at = 0 AND expires_at > ?`,
			linkHash, sqldb.MS(s.db.Clock.Now())).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.ENOTFOUND, "this link is not valid: it was used already or has expired")
		} else if err != nil {
			return err
		}
		a, err = findAdmin(ctx, tx, "id = ?", id)
		return err
	})
	return a, err
}

// SetAdminPassword sets the password of a link's administrator and uses
// the link up, ending the administrator's other sessions.
func (s *Accounts) SetAdminPassword(ctx context.Context, linkHash, passwordHash string) (a *licet.Admin, err error) {
	defer sqldb.Failed(&err, "set a password by link")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT admin_id FROM admin_links WHERE token_hash = ? AND used_at = 0 AND expires_at > ?`,
			linkHash, sqldb.MS(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.ENOTFOUND, "this link is not valid: it was used already or has expired")
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE admin_links SET used_at = ? WHERE token_hash = ?`, sqldb.MS(now), linkHash); err != nil {
			return err
		}
		if a, err = setPassword(ctx, tx, id, passwordHash, now); err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, now, "", a.Email, "admin.password", "", "set by link")
	})
	return a, err
}

// revokeLinks ends an administrator's unused links to set the password.
func revokeLinks(ctx context.Context, tx *sqldb.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE admin_links SET used_at = ? WHERE admin_id = ? AND used_at = 0`, sqldb.MS(now), id)
	return err
}

// revokeAccess ends every way in an administrator has besides the password:
// sessions, API tokens and outstanding links.
func revokeAccess(ctx context.Context, tx *sqldb.Tx, id int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE admin_tokens SET revoked_at = ? WHERE admin_id = ? AND revoked_at = 0`, sqldb.MS(now), id); err != nil {
		return err
	}
	return revokeLinks(ctx, tx, id, now)
}

func setPassword(ctx context.Context, tx *sqldb.Tx, id int64, hash string, now time.Time) (*licet.Admin, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE admins SET password_hash = ? WHERE id = ?`, hash, id); err != nil {
		return nil, err
	}
	// A new password ends every way in that the old one opened, and every
	// link that could set another.
	if err := revokeAccess(ctx, tx, id, now); err != nil {
		return nil, err
	}
	return findAdmin(ctx, tx, "id = ?", id)
}

// ChangeAdminPassword sets a new password for a signed-in administrator.
func (s *Accounts) ChangeAdminPassword(ctx context.Context, adminID int64, passwordHash string) (err error) {
	defer sqldb.Failed(&err, "change an administrator password")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		a, err := setPassword(ctx, tx, adminID, passwordHash, now)
		if err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, now, "", a.Email, "admin.password", "", "changed")
	})
}

// AdminByEmail returns an administrator with its password hash.
func (s *Accounts) AdminByEmail(ctx context.Context, email string) (a *licet.Admin, err error) {
	defer sqldb.Failed(&err, "find an administrator by address")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		a, err = findAdmin(ctx, tx, "email = ?", strings.ToLower(email))
		return err
	})
	return a, err
}

// CreateSession stores a browser session, opened through ssoProvider
// ("" for a password).
func (s *Accounts) CreateSession(ctx context.Context, hash string, adminID int64, ssoProvider string, expires time.Time) (err error) {
	defer sqldb.Failed(&err, "create a session")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at < ?`, sqldb.MS(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_sessions (token_hash, admin_id, sso_provider, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			hash, adminID, ssoProvider, sqldb.MS(now), sqldb.MS(expires))
		return err
	})
}

// SessionAdmin returns the administrator of a live session, with the
// organizations the session reaches: not those a single sign-on provider
// gave, unless the session was opened through that provider.
func (s *Accounts) SessionAdmin(ctx context.Context, hash string) (a *licet.Admin, err error) {
	defer sqldb.Failed(&err, "find the administrator of a session")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		var id int64
		var provider string
		err := tx.QueryRowContext(ctx, `SELECT admin_id, sso_provider FROM admin_sessions WHERE token_hash = ? AND expires_at > ?`, hash, sqldb.MS(s.db.Clock.Now())).Scan(&id, &provider)
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.EUNAUTHORIZED, "not signed in")
		} else if err != nil {
			return err
		}
		a, err = reachable(ctx, tx, id, provider)
		return err
	})
	return a, err
}

// DeleteSession ends a session.
func (s *Accounts) DeleteSession(ctx context.Context, hash string) (err error) {
	defer sqldb.Failed(&err, "delete a session")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE token_hash = ?`, hash)
		return err
	})
}

// reachable loads an administrator signed in through ssoProvider ("" for
// a password): the organizations another provider gave are left out.
func reachable(ctx context.Context, tx *sqldb.Tx, id int64, ssoProvider string) (*licet.Admin, error) {
	a, err := findAdmin(ctx, tx, "id = ?", id)
	if err != nil || a.IsOperator() {
		return a, err
	}
	other, err := sqldb.Column(ctx, tx, `SELECT org_id FROM admin_orgs WHERE admin_id = ? AND sso_provider <> '' AND sso_provider <> ?`, id, ssoProvider)
	if err != nil {
		return nil, err
	}
	a.Orgs = slices.DeleteFunc(a.Orgs, func(o string) bool { return slices.Contains(other, o) })
	a.SSOProvider = ssoProvider
	return a, nil
}

// CreateAdminToken stores a new API token of an administrator, made in a
// session opened through ssoProvider ("" for a password): the token
// reaches what that session reaches.
func (s *Accounts) CreateAdminToken(ctx context.Context, adminID int64, ssoProvider, name, hash string) (t *licet.AdminToken, err error) {
	defer sqldb.Failed(&err, "create an API token")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		t = &licet.AdminToken{Name: name, CreatedAt: sqldb.FromMS(sqldb.MS(now))}
		if err := tx.QueryRowContext(ctx, `INSERT INTO admin_tokens (admin_id, name, token_hash, sso_provider, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			adminID, name, hash, ssoProvider, sqldb.MS(now)).Scan(&t.ID); err != nil {
			return err
		}
		a, err := findAdmin(ctx, tx, "id = ?", adminID)
		if err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, now, "", a.Email, "admin.token.create", "", "name="+name)
	})
	return t, err
}

// AdminTokens lists an administrator's API tokens.
func (s *Accounts) AdminTokens(ctx context.Context, adminID int64) (out []licet.AdminToken, err error) {
	defer sqldb.Failed(&err, "list API tokens")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, created_at, revoked_at FROM admin_tokens WHERE admin_id = ? ORDER BY id`, adminID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t licet.AdminToken
			var c, r int64
			if err := rows.Scan(&t.ID, &t.Name, &c, &r); err != nil {
				return err
			}
			t.CreatedAt, t.RevokedAt = sqldb.FromMS(c), sqldb.FromMS(r)
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeAdminToken ends one of an administrator's tokens.
func (s *Accounts) RevokeAdminToken(ctx context.Context, adminID, tokenID int64) (err error) {
	defer sqldb.Failed(&err, "revoke an API token")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		res, err := tx.ExecContext(ctx, `UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND admin_id = ? AND revoked_at = 0`, sqldb.MS(now), tokenID, adminID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return licet.Errorf(licet.ENOTFOUND, "no such token")
		}
		a, err := findAdmin(ctx, tx, "id = ?", adminID)
		if err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, now, "", a.Email, "admin.token.revoke", "", "")
	})
}

// AdminByToken returns the administrator of a live API token.
func (s *Accounts) AdminByToken(ctx context.Context, hash string) (a *licet.Admin, err error) {
	defer sqldb.Failed(&err, "find the administrator of an API token")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		var id int64
		var provider string
		err := tx.QueryRowContext(ctx, `SELECT admin_id, sso_provider FROM admin_tokens WHERE token_hash = ? AND revoked_at = 0`, hash).Scan(&id, &provider)
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.EUNAUTHORIZED, "no such token")
		} else if err != nil {
			return err
		}
		a, err = reachable(ctx, tx, id, provider)
		return err
	})
	return a, err
}

// RemoveAdmin ends an address's administration of an organization; its
// sessions, API tokens and links end too when it administers nothing else.
func (s *Accounts) RemoveAdmin(ctx context.Context, orgID, email, actor string) (err error) {
	defer sqldb.Failed(&err, "remove an administrator")
	email = strings.ToLower(email)
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		a, err := findAdmin(ctx, tx, "email = ?", email)
		if err != nil || !a.Administers(orgID) || a.IsOperator() {
			return licet.Errorf(licet.ENOTFOUND, "%s does not administer organization %s", email, orgID)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_orgs WHERE admin_id = ? AND org_id = ?`, a.ID, orgID); err != nil {
			return err
		}
		if len(a.Orgs) == 1 {
			if err := revokeAccess(ctx, tx, a.ID, s.db.Clock.Now()); err != nil {
				return err
			}
		}
		return sqldb.Audit(ctx, tx, s.db.Clock.Now(), orgID, actor, "admin.remove", "", "email="+email)
	})
}
