package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// OfflineConfig returns where an organization's offline license goes.
func (s *Store) OfflineConfig(ctx context.Context, orgID string) (c *licet.OfflineConfig, err error) {
	defer sqldb.Failed(&err, "read the offline configuration")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		c = &licet.OfflineConfig{}
		var test string
		err := tx.QueryRowContext(ctx, `SELECT offline_backend, offline_auth, offline_valid_days, offline_location,
			offline_auto_allowed, offline_auto_update, offline_test
			FROM organizations WHERE id = ?`, orgID).Scan(&c.Backend, &c.Auth, &c.ValidDays, &c.Location, &c.AutoAllowed, &c.AutoUpdate, &test)
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.ENOTFOUND, "organization %s not found", orgID)
		}
		if err != nil {
			return err
		}
		c.HasAuth = c.Auth != ""
		if c.HasAuth {
			plain, err := s.unseal(c.Auth, authPlace(orgID))
			if err != nil {
				return err
			}
			c.Auth = string(plain)
		}
		if test != "" {
			c.LastTest = &licet.OfflineTest{}
			if json.Unmarshal([]byte(test), c.LastTest) != nil {
				c.LastTest = nil
			}
		}
		return nil
	})
	return c, err
}

// SetOfflineConfig changes where an organization's offline license goes;
// the credential changes only with setAuth. The audit log says whether a
// credential was set, never what it is.
func (s *Store) SetOfflineConfig(ctx context.Context, orgID string, c licet.OfflineConfig, setAuth bool, actor string) (err error) {
	defer sqldb.Failed(&err, "change the offline configuration")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.LockOrg(ctx, tx, orgID); err != nil {
			return err
		}
		var oldBackend, oldLocation string
		if err := tx.QueryRowContext(ctx, `SELECT offline_backend, offline_location FROM organizations WHERE id = ?`, orgID).Scan(&oldBackend, &oldLocation); err != nil {
			return err
		}
		q := `UPDATE organizations SET offline_backend = ?, offline_valid_days = ?, offline_location = ?,
			offline_auto_allowed = ?, offline_auto_update = ?`
		args := []any{c.Backend, c.ValidDays, c.Location, c.AutoAllowed, c.AutoUpdate && c.AutoAllowed}
		if oldBackend != c.Backend || oldLocation != c.Location {
			q += `, offline_test = ''` // a test of other locations says nothing of these
		}
		if setAuth {
			auth := ""
			if c.Auth != "" {
				var err error
				if auth, err = s.seal([]byte(c.Auth), authPlace(orgID)); err != nil {
					return err
				}
			}
			q += `, offline_auth = ?`
			args = append(args, auth)
		}
		if _, err := tx.ExecContext(ctx, q+` WHERE id = ?`, append(args, orgID)...); err != nil {
			return err
		}
		detail := fmt.Sprintf("backend=%q validDays=%d location=%q autoUpdateAllowed=%t autoUpdate=%t", c.Backend, c.ValidDays, c.Location, c.AutoAllowed, c.AutoUpdate && c.AutoAllowed)
		if setAuth {
			detail += " credentials=" + map[bool]string{true: "set", false: "removed"}[c.Auth != ""]
		}
		return sqldb.Audit(ctx, tx, s.db.Clock.Now(), orgID, actor, "offline.configure", "", detail)
	})
}

// IssueOffline makes the next offline license of an organization that may
// have them, from every user who holds a license (assigned by hand or
// automatically), and keeps it.
func (s *Store) IssueOffline(ctx context.Context, orgID, actor string, build licet.OfflineBuilder) (is *licet.OfflineIssue, err error) {
	defer sqldb.Failed(&err, "issue an offline license")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		org, err := sqldb.LockOrg(ctx, tx, orgID)
		if err != nil {
			return err
		}
		if !org.Settings.Offline {
			return licet.Errorf(licet.ECONFLICT, "offline licenses are not enabled for organization %s; ask your vendor to enable offline licenses", orgID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+userCols+` FROM users
			WHERE org_id = ? AND state = 'licensed' AND NOT disabled ORDER BY user_id`, orgID)
		if err != nil {
			return err
		}
		var users []*licet.User
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return err
			}
			users = append(users, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var serial int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(serial), 0) + 1 FROM offline_licenses WHERE org_id = ?`, orgID).Scan(&serial); err != nil {
			return err
		}
		ps, err := pools(ctx, tx, orgID)
		if err != nil {
			return err
		}
		doc, until, n, err := build(org, serial, users, ps)
		if err != nil {
			return err
		}
		now := s.db.Clock.Now()
		is = &licet.OfflineIssue{OrgID: orgID, Serial: serial, IssuedAt: sqldb.FromMS(sqldb.MS(now)), IssuedBy: actor, Users: n,
			ValidUntil: sqldb.FromMS(sqldb.MS(until)), Document: doc}
		if _, err := tx.ExecContext(ctx, `INSERT INTO offline_licenses (org_id, serial, issued_at, issued_by, users, valid_until, document)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, orgID, serial, sqldb.MS(now), actor, n, sqldb.MS(until), doc); err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, now, orgID, actor, "offline.issue", "", "serial="+strconv.FormatInt(serial, 10)+" users="+strconv.Itoa(n))
	})
	return is, err
}

// PruneOfflineDocuments empties, in one transaction, at most max
// documents of replaced offline licenses whose validity ended before t
// (the rows, their history entries, stay). Superseded documents are never
// served; an organization that updates hourly would otherwise keep a file
// of all its users every hour, and with it the IDs of users long gone.
// A document is up to 8 MiB: the caller prunes a backlog batch by batch.
func (s *Store) PruneOfflineDocuments(ctx context.Context, before time.Time, max int) (n int64, err error) {
	defer sqldb.Failed(&err, "prune offline licenses")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE offline_licenses SET document = ?
			WHERE (org_id, serial) IN (SELECT l.org_id, l.serial FROM offline_licenses l
				WHERE l.valid_until < ? AND length(l.document) > 0
				AND l.serial < (SELECT MAX(o.serial) FROM offline_licenses o WHERE o.org_id = l.org_id)
				LIMIT ?)`,
			[]byte{}, sqldb.MS(before), max)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// RecordOfflineUpload records how saving a document to the backend went.
func (s *Store) RecordOfflineUpload(ctx context.Context, orgID string, serial int64, status, detail, actor string) (err error) {
	defer sqldb.Failed(&err, "record an offline upload")
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		at := int64(0)
		if status == "uploaded" {
			at = sqldb.MS(now)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE offline_licenses SET upload_status = ?, upload_detail = ?, uploaded_at = ?
			WHERE org_id = ? AND serial = ?`, status, detail, at, orgID, serial); err != nil {
			return err
		}
		return sqldb.Audit(ctx, tx, now, orgID, actor, "offline.upload", "", fmt.Sprintf("serial=%d %s %s", serial, status, detail))
	})
}

// RecordOfflineTest keeps the report of the newest backend test.
func (s *Store) RecordOfflineTest(ctx context.Context, orgID string, t licet.OfflineTest) (err error) {
	defer sqldb.Failed(&err, "record an offline backend test")
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.LockOrg(ctx, tx, orgID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE organizations SET offline_test = ? WHERE id = ?`, string(b), orgID); err != nil {
			return err
		}
		var failed []string
		for _, st := range t.Steps {
			if !st.OK {
				failed = append(failed, st.Name+": "+st.Detail)
			}
		}
		detail := "ok"
		if !t.OK {
			detail = "failed " + strings.Join(failed, "; ")
		}
		return sqldb.Audit(ctx, tx, s.db.Clock.Now(), orgID, t.By, "offline.test", "", detail)
	})
}

// OfflineHolders reads who holds a license and who is disabled, with only
// the columns the comparison needs.
func (s *Store) OfflineHolders(ctx context.Context, orgID string) (licensed map[string]string, disabled map[string]bool, err error) {
	defer sqldb.Failed(&err, "read offline license holders")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		licensed, disabled = map[string]string{}, map[string]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT user_id, license_type, disabled FROM users
			WHERE org_id = ? AND (disabled OR state = 'licensed')`, orgID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, typ string
			var off bool
			if err := rows.Scan(&id, &typ, &off); err != nil {
				return err
			}
			if off {
				disabled[id] = true
			} else {
				licensed[id] = typ
			}
		}
		return rows.Err()
	})
	return licensed, disabled, err
}

// OfflineAutoOrgs lists the organizations whose offline license is
// updated automatically.
func (s *Store) OfflineAutoOrgs(ctx context.Context) (out []string, err error) {
	defer sqldb.Failed(&err, "list organizations with automatic offline licenses")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM organizations WHERE offline AND offline_auto_allowed AND offline_auto_update ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

const offlineCols = `org_id, serial, issued_at, issued_by, users, valid_until, upload_status, upload_detail, uploaded_at`

func scanIssue(r sqldb.Scanner, doc *[]byte) (*licet.OfflineIssue, error) {
	var is licet.OfflineIssue
	var issued, until, uploaded int64
	dest := []any{&is.OrgID, &is.Serial, &issued, &is.IssuedBy, &is.Users, &until, &is.UploadStatus, &is.UploadDetail, &uploaded}
	if doc != nil {
		dest = append(dest, doc)
	}
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	is.IssuedAt, is.ValidUntil, is.UploadedAt = sqldb.FromMS(issued), sqldb.FromMS(until), sqldb.FromMS(uploaded)
	return &is, nil
}

// OfflineHistory lists an organization's issued offline licenses, newest first.
func (s *Store) OfflineHistory(ctx context.Context, orgID string, limit int) (out []licet.OfflineIssue, err error) {
	defer sqldb.Failed(&err, "list offline licenses")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+offlineCols+` FROM offline_licenses WHERE org_id = ? ORDER BY serial DESC LIMIT ?`, orgID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			is, err := scanIssue(rows, nil)
			if err != nil {
				return err
			}
			out = append(out, *is)
		}
		return rows.Err()
	})
	return out, err
}

// OfflineDocument returns the newest offline license of an organization.
func (s *Store) OfflineDocument(ctx context.Context, orgID string) (is *licet.OfflineIssue, err error) {
	defer sqldb.Failed(&err, "fetch the offline license")
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		var doc []byte
		is, err = scanIssue(tx.QueryRowContext(ctx, `SELECT `+offlineCols+`, document FROM offline_licenses
			WHERE org_id = ? ORDER BY serial DESC LIMIT 1`, orgID), &doc)
		if errors.Is(err, sql.ErrNoRows) {
			return licet.Errorf(licet.ENOTFOUND, "organization %s has no offline license yet", orgID)
		}
		if is != nil {
			is.Document = doc
		}
		return err
	})
	return is, err
}
