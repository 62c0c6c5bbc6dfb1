package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
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

// sealedKinds are the places that keep sealed secrets: how to list them
// (ID, value), where each is sealed for, how to write one back, and
// whether an older licet kept them in plain text.
var sealedKinds = []struct {
	list, update string
	place        func(id string) string
	value        func(sealed string) any
	plain        bool
}{
	{`SELECT id, offline_auth FROM organizations WHERE offline_auth <> ''`, `UPDATE organizations SET offline_auth = ? WHERE id = ? AND offline_auth = ?`,
		authPlace, func(v string) any { return v }, true},
	{`SELECT key, value FROM meta WHERE key LIKE 'secret:%'`, `UPDATE meta SET value = ? WHERE key = ? AND value = ?`,
		metaPlace, func(v string) any { return []byte(v) }, true},
	// Single sign-on's client secrets are always sealed (by the sso
	// package, with the same key).
	{`SELECT id, secret_sealed FROM sso_providers WHERE secret_sealed <> ''`, `UPDATE sso_providers SET secret_sealed = ? WHERE id = ? AND secret_sealed = ?`,
		func(string) string { return SSOSecretPlace }, func(v string) any { return v }, false},
}

// SealSecrets seals every secret kept in plain text and seals again those
// sealed with a key other than the active one, in one transaction, and
// records which key seals them (its ID, never the key).
func (s *Store) SealSecrets(ctx context.Context) (n int, err error) {
	defer sqldb.Failed(&err, "seal secrets")
	if s.Sealer == nil {
		return 0, errors.New("store: no key to seal secrets with")
	}
	active := s.Sealer.ActiveID()
	plain := 0
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		n, plain = 0, 0
		var registered []byte
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, sealKeyRow).Scan(&registered)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if len(registered) > 0 && !s.Sealer.Has(string(registered)) {
			return licet.Errorf(licet.ECONFLICT, "the database's secrets are sealed with key %s, which this server's secrets.key does not hold: copy secrets.key from the server that made it", registered)
		}
		for _, kind := range sealedKinds {
			rows, err := tx.QueryContext(ctx, kind.list)
			if err != nil {
				return err
			}
			var found [][2]string // id, value
			for rows.Next() {
				var id string
				var v []byte
				if err := rows.Scan(&id, &v); err != nil {
					rows.Close()
					return err
				}
				found = append(found, [2]string{id, string(v)})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, f := range found {
				id, v, where := f[0], f[1], kind.place(f[0])
				key, sealed := sealedID(v)
				if sealed && key == active {
					continue
				}
				var open []byte
				switch {
				case sealed || !kind.plain:
					open, err = s.Sealer.Open(v, where)
				default: // kept in plain text by an older licet
					open, plain = []byte(v), plain+1
				}
				if err != nil {
					return err
				}
				out, err := s.Sealer.Seal(open, where)
				if err != nil {
					return err
				}
				// Only over the value read: a secret saved meanwhile by
				// another transaction (PostgreSQL lets one commit between
				// this read and this write) is never overwritten with the
				// older one; the rotation fails instead, keeps both keys,
				// and can be run again.
				res, err := tx.ExecContext(ctx, kind.update, kind.value(out), id, kind.value(v))
				if err != nil {
					return err
				}
				if k, err := res.RowsAffected(); err != nil {
					return err
				} else if k != 1 {
					return licet.Errorf(licet.ECONFLICT, "a secret changed while the secrets were sealed again; run it again")
				}
				n++
			}
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
	for _, q := range s.db.D.Compact {
		if _, err := s.db.W.ExecContext(ctx, q); err != nil {
			return n, fmt.Errorf("store: compacting after sealing secrets: %w", s.db.Wrap(err))
		}
	}
	return n, nil
}

// Secret returns a random 32-byte secret kept in the database under name,
// making it on first use, so every process (and a backup) shares it. It is
// kept sealed (see Sealer): the database alone does not give it away.
func (s *Store) Secret(ctx context.Context, name string) (v []byte, err error) {
	defer sqldb.Failed(&err, "read a secret")
	return s.secret(ctx, name)
}

// secret is Secret for the store's own use: its errors are named by the
// public method that called it.
func (s *Store) secret(ctx context.Context, name string) (v []byte, err error) {
	key := "secret:" + name
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			v = nil
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if v != nil || s.db.ReadOnly {
		if v == nil {
			return nil, nil
		}
		return s.unseal(string(v), metaPlace(key))
	}
	b := make([]byte, 32)
	rand.Read(b)
	sealed, err := s.seal(b, metaPlace(key))
	if err != nil {
		return nil, err
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, []byte(sealed))
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	})
	if err != nil {
		return nil, err
	}
	return s.unseal(string(v), metaPlace(key))
}
