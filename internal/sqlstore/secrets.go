package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/licet/licet"
)

// Where sealed values live: the additional data that binds each to its
// place.
func authPlace(orgID string) string { return "organizations.offline_auth\x00" + orgID }

// SSOSecretPlace is where single sign-on's client secrets are sealed for.
const SSOSecretPlace = "sso_providers.secret_sealed"

func metaPlace(key string) string { return "meta\x00" + key }

const (
	sealedPrefix = "sealed:v1:"
	// sealKeyRow names the key the database's secrets are sealed with (its
	// ID only, never the key).
	sealKeyRow = "secrets-key-id"
)

func sealedID(v string) (string, bool) {
	rest, ok := strings.CutPrefix(v, sealedPrefix)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ":")
	return id, ok
}

// seal seals v for where, or keeps it as it is without a Sealer.
func (s *Store) seal(v []byte, where string) (string, error) {
	if s.Sealer == nil {
		return string(v), nil
	}
	return s.Sealer.Seal(v, where)
}

// unseal opens a stored value; a value in plain text (a database not yet
// sealed) is returned as it is.
func (s *Store) unseal(v, where string) ([]byte, error) {
	if _, ok := sealedID(v); !ok {
		return []byte(v), nil
	}
	if s.Sealer == nil {
		return nil, errors.New("store: a secret is sealed and this store has no key to open it")
	}
	return s.Sealer.Open(v, where)
}

// SealSecrets seals every secret kept in plain text and seals again those
// sealed with a key other than the active one, in one transaction, and
// records which key seals them (its ID, never the key).
func (s *Store) SealSecrets(ctx context.Context) (n int, err error) {
	if s.Sealer == nil {
		return 0, errors.New("store: no key to seal secrets with")
	}
	active := s.Sealer.ActiveID()
	plain := 0
	err = s.write(ctx, func(tx *Tx) error {
		n, plain = 0, 0
		var registered []byte
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, sealKeyRow).Scan(&registered)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if len(registered) > 0 && !s.Sealer.Has(string(registered)) {
			return licet.Errorf(licet.ECONFLICT, "the database's secrets are sealed with key %s, which this server's secrets.key does not hold: copy secrets.key from the server that made it", registered)
		}
		reseal := func(v, where string) (string, bool, error) {
			id, ok := sealedID(v)
			if ok && id == active {
				return v, false, nil
			}
			if !ok {
				plain++
			}
			plain, err := s.unseal(v, where)
			if err != nil {
				return "", false, err
			}
			out, err := s.Sealer.Seal(plain, where)
			return out, true, err
		}
		type row struct{ id, v string }
		var orgs []row
		rows, err := tx.QueryContext(ctx, `SELECT id, offline_auth FROM organizations WHERE offline_auth <> ''`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.v); err != nil {
				rows.Close()
				return err
			}
			orgs = append(orgs, r)
		}
		rows.Close()
		for _, r := range orgs {
			v, changed, err := reseal(r.v, authPlace(r.id))
			if err != nil {
				return err
			}
			if changed {
				if _, err := tx.ExecContext(ctx, `UPDATE organizations SET offline_auth = ? WHERE id = ?`, v, r.id); err != nil {
					return err
				}
				n++
			}
		}
		var metas []row
		rows, err = tx.QueryContext(ctx, `SELECT key, value FROM meta WHERE key LIKE 'secret:%'`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r row
			var b []byte
			if err := rows.Scan(&r.id, &b); err != nil {
				rows.Close()
				return err
			}
			r.v = string(b)
			metas = append(metas, r)
		}
		rows.Close()
		for _, r := range metas {
			v, changed, err := reseal(r.v, metaPlace(r.id))
			if err != nil {
				return err
			}
			if changed {
				if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = ?`, []byte(v), r.id); err != nil {
					return err
				}
				n++
			}
		}
		// Single sign-on's client secrets are always sealed (by the sso
		// package, through the same key): only sealed again.
		var ssos []row
		rows, err = tx.QueryContext(ctx, `SELECT id, secret_sealed FROM sso_providers WHERE secret_sealed <> ''`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.v); err != nil {
				rows.Close()
				return err
			}
			ssos = append(ssos, r)
		}
		rows.Close()
		for _, r := range ssos {
			if id, ok := sealedID(r.v); ok && id == active {
				continue
			}
			plain, err := s.Sealer.Open(r.v, SSOSecretPlace)
			if err != nil {
				return err
			}
			v, err := s.Sealer.Seal(plain, SSOSecretPlace)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sso_providers SET secret_sealed = ? WHERE id = ?`, v, r.id); err != nil {
				return err
			}
			n++
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, sealKeyRow, []byte(active))
		return err
	})
	if err != nil || plain == 0 {
		return n, err
	}
	// Secrets were in plain text: rewrite the database so that no old copy
	// stays in its free pages. (Values sealed with an older key may: they
	// open only with that key.)
	for _, q := range s.d.Compact {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return n, fmt.Errorf("store: compacting after sealing secrets: %w", s.wrap(err))
		}
	}
	return n, nil
}
