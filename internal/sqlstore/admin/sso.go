package admin

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// PutSSOProvider registers or replaces a provider. An update without a
// sealed secret keeps the stored one. A domain already registered to
// another provider is a conflict: an address belongs to one provider.
func (s *Accounts) PutSSOProvider(ctx context.Context, p *licet.SSOProvider, actor string) (err error) {
	defer sqldb.Failed(&err, "store a single sign-on provider")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		old, err := findSSOProvider(ctx, tx, p.ID)
		if err != nil && licet.ErrorCode(err) != licet.ENOTFOUND {
			return err
		}
		if p.SealedSecret == "" {
			if old == nil {
				return licet.Errorf(licet.EINVALID, "clientSecret is required for a new provider")
			}
			p.SealedSecret = old.SealedSecret
		}
		for _, d := range p.Domains {
			var other string
			err := tx.QueryRowContext(ctx, `SELECT provider_id FROM sso_domains WHERE domain = ? AND provider_id <> ?`, d, p.ID).Scan(&other)
			if err == nil {
				return licet.Errorf(licet.ECONFLICT, "the domain %s belongs to the provider %q", d, other)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		for _, o := range p.Orgs {
			if _, err := sqldb.FindOrg(ctx, tx, o); err != nil {
				return err
			}
		}
		if old == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO sso_providers (id, issuer, client_id, secret_sealed, claim, claim_value, required, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.Issuer, p.ClientID, p.SealedSecret, p.Claim, p.ClaimValue, p.Required, sqldb.MS(now))
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE sso_providers SET issuer = ?, client_id = ?, secret_sealed = ?, claim = ?, claim_value = ?, required = ?, updated_at = ?
				WHERE id = ?`, p.Issuer, p.ClientID, p.SealedSecret, p.Claim, p.ClaimValue, p.Required, sqldb.MS(now), p.ID)
		}
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM sso_domains WHERE provider_id = ?`, `DELETE FROM sso_provider_orgs WHERE provider_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, p.ID); err != nil {
				return err
			}
		}
		for _, d := range p.Domains {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sso_domains (domain, provider_id) VALUES (?, ?)`, d, p.ID); err != nil {
				return err
			}
		}
		for _, o := range p.Orgs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sso_provider_orgs (provider_id, org_id) VALUES (?, ?)`, p.ID, o); err != nil {
				return err
			}
		}
		// When SSO becomes required, the sessions opened with a password
		// end: every administrator of those organizations signs in again.
		if p.Required && (old == nil || !old.Required) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id IN
				(SELECT admin_id FROM admin_orgs WHERE org_id IN (SELECT org_id FROM sso_provider_orgs WHERE provider_id = ?))`, p.ID); err != nil {
				return err
			}
		}
		// Organizations the provider no longer covers lose the
		// administrators it made.
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_orgs WHERE sso_provider = ?
			AND org_id NOT IN (SELECT org_id FROM sso_provider_orgs WHERE provider_id = ?)`, p.ID, p.ID); err != nil {
			return err
		}
		detail := "provider=" + p.ID + " issuer=" + p.Issuer + " domains=" + strings.Join(p.Domains, ",")
		if p.Claim != "" {
			detail += " claim=" + p.Claim + ":" + p.ClaimValue
		}
		if p.Required {
			detail += " required"
		}
		for _, o := range p.Orgs {
			if err := sqldb.Audit(ctx, tx, now, o, actor, "sso.set", "", detail); err != nil {
				return err
			}
		}
		p.UpdatedAt = sqldb.FromMS(sqldb.MS(now))
		return nil
	})
}

func findSSOProvider(ctx context.Context, tx *sqldb.Tx, id string) (*licet.SSOProvider, error) {
	p := &licet.SSOProvider{ID: id}
	var updated int64
	err := tx.QueryRowContext(ctx, `SELECT issuer, client_id, secret_sealed, claim, claim_value, required, updated_at FROM sso_providers WHERE id = ?`, id).
		Scan(&p.Issuer, &p.ClientID, &p.SealedSecret, &p.Claim, &p.ClaimValue, &p.Required, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, licet.Errorf(licet.ENOTFOUND, "no single sign-on provider %q", id)
	} else if err != nil {
		return nil, err
	}
	p.UpdatedAt, p.SecretSet = sqldb.FromMS(updated), p.SealedSecret != ""
	if p.Domains, err = sqldb.Column(ctx, tx, `SELECT domain FROM sso_domains WHERE provider_id = ? ORDER BY domain`, id); err != nil {
		return nil, err
	}
	if p.Orgs, err = sqldb.Column(ctx, tx, `SELECT org_id FROM sso_provider_orgs WHERE provider_id = ? ORDER BY org_id`, id); err != nil {
		return nil, err
	}
	return p, nil
}

// SSOProvider returns one provider with its sealed secret.
func (s *Accounts) SSOProvider(ctx context.Context, id string) (p *licet.SSOProvider, err error) {
	defer sqldb.Failed(&err, "fetch a single sign-on provider")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		p, err = findSSOProvider(ctx, tx, id)
		return err
	})
	return p, err
}

// SSOProviders lists the providers by ID.
func (s *Accounts) SSOProviders(ctx context.Context) (out []*licet.SSOProvider, err error) {
	defer sqldb.Failed(&err, "list single sign-on providers")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		ids, err := sqldb.Column(ctx, tx, `SELECT id FROM sso_providers ORDER BY id`)
		if err != nil {
			return err
		}
		out = []*licet.SSOProvider{}
		for _, id := range ids {
			p, err := findSSOProvider(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// SSOProviderByDomain finds the provider of an e-mail domain.
func (s *Accounts) SSOProviderByDomain(ctx context.Context, domain string) (p *licet.SSOProvider, err error) {
	defer sqldb.Failed(&err, "find the single sign-on provider of a domain")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT provider_id FROM sso_domains WHERE domain = ?`, strings.ToLower(domain)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.ENOTFOUND, "no single sign-on for %s", domain)
		} else if err != nil {
			return err
		}
		p, err = findSSOProvider(ctx, tx, id)
		return err
	})
	return p, err
}

// DeleteSSOProvider removes a provider and the administrators it made.
func (s *Accounts) DeleteSSOProvider(ctx context.Context, id, actor string) (err error) {
	defer sqldb.Failed(&err, "delete a single sign-on provider")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		p, err := findSSOProvider(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_orgs WHERE sso_provider = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sso_providers WHERE id = ?`, id); err != nil {
			return err
		}
		for _, o := range p.Orgs {
			if err := sqldb.Audit(ctx, tx, s.db.Clock.Now(), o, actor, "sso.remove", "", "provider="+id); err != nil {
				return err
			}
		}
		return nil
	})
}

// SSORequired reports whether any of orgs requires single sign-on.
func (s *Accounts) SSORequired(ctx context.Context, orgs []string) (req bool, err error) {
	defer sqldb.Failed(&err, "read whether single sign-on is required")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		for _, o := range orgs {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM sso_provider_orgs po JOIN sso_providers p ON p.id = po.provider_id
				WHERE po.org_id = ? AND p.required = ?`, o, true).Scan(&one)
			if err == nil {
				req = true
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		return nil
	})
	return req, err
}

// PutSSOLogin stores a sign-in under way, clearing those that expired.
func (s *Accounts) PutSSOLogin(ctx context.Context, l *licet.SSOLogin) (err error) {
	defer sqldb.Failed(&err, "store a single sign-on login")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sso_logins WHERE expires_at < ?`, sqldb.MS(s.db.Clock.Now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sso_logins (state_hash, provider_id, nonce, verifier, redirect_url, next, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			l.StateHash, l.ProviderID, l.Nonce, l.Verifier, l.RedirectURL, l.Next, sqldb.MS(l.Expires))
		return err
	})
}

// TakeSSOLogin returns a live sign-in once: it is deleted as it is read,
// so a state (and its nonce) cannot be replayed.
func (s *Accounts) TakeSSOLogin(ctx context.Context, stateHash string) (l *licet.SSOLogin, err error) {
	defer sqldb.Failed(&err, "take a single sign-on login")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		l = &licet.SSOLogin{StateHash: stateHash}
		var exp int64
		err := tx.QueryRowContext(ctx, `DELETE FROM sso_logins WHERE state_hash = ? RETURNING provider_id, nonce, verifier, redirect_url, next, expires_at`, stateHash).
			Scan(&l.ProviderID, &l.Nonce, &l.Verifier, &l.RedirectURL, &l.Next, &exp)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && exp <= sqldb.MS(s.db.Clock.Now())) {
			return licet.Errorf(licet.ENOTFOUND, "this sign-in is not under way: it was used already or has expired")
		} else if err != nil {
			return err
		}
		l.Expires = sqldb.FromMS(exp)
		return nil
	})
	return l, err
}

// SSOSignIn provisions or deprovisions a verified identity (see the
// interface) and audits the outcome in each organization of the provider.
func (s *Accounts) SSOSignIn(ctx context.Context, providerID string, id licet.SSOIdentity, outcome licet.SSOOutcome, why string) (a *licet.Admin, err error) {
	defer sqldb.Failed(&err, "record a single sign-on")
	allowed := outcome == licet.SSOAllow
	email := strings.ToLower(id.Email)
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		p, err := findSSOProvider(ctx, tx, providerID)
		if err != nil {
			return err
		}
		detail := "issuer=" + id.Issuer + " subject=" + id.Subject
		if !allowed {
			detail += " refused: " + why
		}
		if allowed {
			if _, err := tx.ExecContext(ctx, `INSERT INTO admins (email, created_at) VALUES (?, ?) ON CONFLICT (email) DO NOTHING`, email, sqldb.MS(now)); err != nil {
				return err
			}
		}
		if outcome != licet.SSOIgnore {
			a, err = findAdmin(ctx, tx, "email = ?", email)
			if err != nil && (allowed || licet.ErrorCode(err) != licet.ENOTFOUND) {
				return err
			}
		}
		if a != nil && a.IsOperator() {
			return licet.Errorf(licet.EFORBIDDEN, "not an administrator's address")
		}
		switch {
		case allowed:
			for _, o := range p.Orgs {
				if _, err := tx.ExecContext(ctx, `INSERT INTO admin_orgs (admin_id, org_id, sso_provider) VALUES (?, ?, ?) ON CONFLICT (admin_id, org_id) DO NOTHING`,
					a.ID, o, providerID); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sso_identities (issuer, subject, admin_id, last_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (issuer, subject) DO UPDATE SET admin_id = excluded.admin_id, last_at = excluded.last_at`, id.Issuer, id.Subject, a.ID, sqldb.MS(now)); err != nil {
				return err
			}
			if err := adminOrgs(ctx, tx, a); err != nil {
				return err
			}
		case a != nil:
			res, err := tx.ExecContext(ctx, `DELETE FROM admin_orgs WHERE admin_id = ? AND sso_provider = ?`, a.ID, providerID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				// Every way in ends: sessions, and API tokens made while
				// the provider vouched for this person.
				if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ?`, a.ID); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE admin_tokens SET revoked_at = ? WHERE admin_id = ? AND revoked_at = 0`, sqldb.MS(now), a.ID); err != nil {
					return err
				}
				detail += "; administration through the provider ended, sessions and API tokens revoked"
			}
			a = nil
		}
		action := "admin.sso.signin"
		if !allowed {
			action = "admin.sso.refused"
		}
		for _, o := range p.Orgs {
			if err := sqldb.Audit(ctx, tx, now, o, email, action, "", detail); err != nil {
				return err
			}
		}
		return nil
	})
	return a, err
}
