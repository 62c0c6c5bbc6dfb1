package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlstore/outbox"
	"github.com/licet/licet/internal/sqlstore/sqldb"
)

// ActorErased replaces an erased address in the audit log.
const ActorErased = "erased"

// EraseAddress removes an address from every organization's notification
// list, its opt-outs and confirmations, deletes every mail to it, and
// replaces it in the audit log, in one transaction. Administrator
// accounts stay (licet admin remove ends them); the answer names them.
func (s *Store) EraseAddress(ctx context.Context, address string) (e *licet.Erasure, err error) {
	defer sqldb.Failed(&err, "erase an address")
	address = strings.ToLower(strings.TrimSpace(address))
	err = s.writeChange(ctx, func(tx *sqldb.Tx) error {
		now := s.db.Clock.Now()
		e = &licet.Erasure{Address: address, Administers: []string{}}
		rows, err := tx.QueryContext(ctx, `SELECT `+sqldb.OrgCols+` FROM organizations WHERE notification_emails LIKE ? ESCAPE '\'`, "%"+sqldb.LikeEscape(address)+"%")
		if err != nil {
			return err
		}
		var listed []*licet.Organization
		for rows.Next() {
			o, err := sqldb.ScanOrg(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if slices.Contains(o.Settings.NotificationEmails, address) {
				listed = append(listed, o)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, o := range listed {
			rest := slices.DeleteFunc(o.Settings.NotificationEmails, func(a string) bool { return a == address })
			if _, err := tx.ExecContext(ctx, `UPDATE organizations SET notification_emails = ?, updated_at = ? WHERE id = ?`,
				strings.Join(rest, ","), sqldb.MS(now), o.ID); err != nil {
				return err
			}
			if err := sqldb.Audit(ctx, tx, now, o.ID, licet.ActorOperator, "privacy.erase", "", "a notification address was erased"); err != nil {
				return err
			}
		}
		e.Organizations = len(listed)
		count := func(q string, args ...any) (int64, error) {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, err
			}
			return res.RowsAffected()
		}
		if e.Consents, err = count(`DELETE FROM mail_consents WHERE address = ?`, address); err != nil {
			return err
		}
		if _, err = count(`UPDATE mail_consents SET added_by = ? WHERE added_by = ?`, ActorErased, address); err != nil {
			return err
		}
		if e.OptOuts, err = count(`DELETE FROM mail_optouts WHERE address = ?`, address); err != nil {
			return err
		}
		if e.Mails, err = count(`DELETE FROM outbox WHERE address = ?`, address); err != nil {
			return err
		}
		if e.AuditEntries, err = count(`UPDATE audit SET actor = ? WHERE actor = ?`, ActorErased, address); err != nil {
			return err
		}
		n, err := scrubAuditDetails(ctx, tx, address)
		if err != nil {
			return err
		}
		e.AuditEntries += n
		if e.Administers, err = sqldb.Column(ctx, tx, `SELECT ao.org_id FROM admin_orgs ao JOIN admins a ON a.id = ao.admin_id WHERE a.email = ? ORDER BY ao.org_id`, address); err != nil {
			return err
		}
		if e.Administers == nil {
			e.Administers = []string{}
		}
		return sqldb.Audit(ctx, tx, now, "", licet.ActorOperator, "privacy.erase", "",
			fmt.Sprintf("organizations=%d confirmations=%d optOuts=%d mails=%d auditEntries=%d", e.Organizations, e.Consents, e.OptOuts, e.Mails, e.AuditEntries))
	})
	return e, err
}

// scrubAuditDetails replaces the address where audit details name it (a
// settings change lists the notification addresses), as a whole address
// only: "bob@x.example" is not touched inside "abob@x.example".
func scrubAuditDetails(ctx context.Context, tx *sqldb.Tx, address string) (int64, error) {
	re := regexp.MustCompile(`(^|[^A-Za-z0-9._%+\-])` + regexp.QuoteMeta(address) + `($|[^A-Za-z0-9.\-])`)
	rows, err := tx.QueryContext(ctx, `SELECT id, detail FROM audit WHERE detail LIKE ? ESCAPE '\'`, "%"+sqldb.LikeEscape(address)+"%")
	if err != nil {
		return 0, err
	}
	type fix struct {
		id     int64
		detail string
	}
	var fixes []fix
	for rows.Next() {
		var f fix
		if err := rows.Scan(&f.id, &f.detail); err != nil {
			rows.Close()
			return 0, err
		}
		if d := re.ReplaceAllString(f.detail, "${1}"+ActorErased+"${2}"); d != f.detail {
			fixes = append(fixes, fix{f.id, d})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, f := range fixes {
		if _, err := tx.ExecContext(ctx, `UPDATE audit SET detail = ? WHERE id = ?`, f.detail, f.id); err != nil {
			return 0, err
		}
	}
	return int64(len(fixes)), nil
}

// PruneMail deletes mails sent or given up before t.
func (s *Store) PruneMail(ctx context.Context, before time.Time) (n int64, err error) {
	defer sqldb.Failed(&err, "prune mail")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE (status = 'sent' AND sent_at < ?) OR (status = 'failed' AND due_at < ?)`, sqldb.MS(before), sqldb.MS(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// PruneAudit deletes audit entries older than t.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (n int64, err error) {
	defer sqldb.Failed(&err, "prune the audit log")
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM audit WHERE at < ?`, sqldb.MS(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// UserRecord gathers everything stored about one mobile user: the user
// with its last sighting, the audit entries about it, the notification
// mails that name it and the offline licenses that hold it.
func (s *Store) UserRecord(ctx context.Context, orgID, userID string) (rec *licet.UserRecord, err error) {
	defer sqldb.Failed(&err, "gather a user record")
	if _, err := s.idKey(ctx); err != nil {
		return nil, err
	}
	err = s.db.Read(ctx, func(tx *sqldb.Tx) error {
		if _, err := sqldb.FindOrg(ctx, tx, orgID); err != nil {
			return err
		}
		rec = &licet.UserRecord{Audit: []licet.AuditEvent{}, Mails: []*licet.Mail{}, OfflineLicenses: []licet.OfflineIssue{}, Changes: []time.Time{}}
		u, err := findUser(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		rec.User = u
		if h := s.userHash(orgID, userID); h != "" {
			var at int64
			err := tx.QueryRowContext(ctx, `SELECT granted_at FROM temporary_grants WHERE org_id = ? AND user_hash = ?`, orgID, h).Scan(&at)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			rec.TemporaryGrantedAt = sqldb.FromMS(at)
		}
		rows, err := tx.QueryContext(ctx, `SELECT at FROM user_changes WHERE org_id = ? AND user_id = ? ORDER BY seq`, orgID, userID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var at int64
			if err := rows.Scan(&at); err != nil {
				rows.Close()
				return err
			}
			rec.Changes = append(rec.Changes, sqldb.FromMS(at))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT id, at, org_id, actor, action, user_id, detail FROM audit WHERE org_id = ? AND (user_id = ? OR detail LIKE ? ESCAPE '\') ORDER BY id`,
			orgID, userID, "%"+sqldb.LikeEscape(userID)+"%")
		if err != nil {
			return err
		}
		for rows.Next() {
			var e licet.AuditEvent
			var at int64
			if err := rows.Scan(&e.ID, &at, &e.OrgID, &e.Actor, &e.Action, &e.UserID, &e.Detail); err != nil {
				rows.Close()
				return err
			}
			e.At = sqldb.FromMS(at)
			rec.Audit = append(rec.Audit, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT `+outbox.MailCols+` FROM outbox WHERE org_id = ? AND events LIKE ? ESCAPE '\' ORDER BY id`, orgID, "%"+sqldb.LikeEscape(userID)+"%")
		if err != nil {
			return err
		}
		for rows.Next() {
			m, err := outbox.ScanMail(rows)
			if err != nil {
				rows.Close()
				return err
			}
			rec.Mails = append(rec.Mails, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT `+offlineCols+`, document FROM offline_licenses WHERE org_id = ? ORDER BY serial`, orgID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var doc []byte
			is, err := scanIssue(rows, &doc)
			if err != nil {
				return err
			}
			if bytes.Contains(doc, []byte(userID)) {
				rec.OfflineLicenses = append(rec.OfflineLicenses, *is)
			}
		}
		return rows.Err()
	})
	return rec, err
}
