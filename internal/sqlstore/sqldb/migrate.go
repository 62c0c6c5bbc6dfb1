package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"time"
)

// Migrate applies, in name order, every migration in files (*.sql) not yet
// applied, each in its own transaction, holding the dialect's migration lock.
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, files fs.FS, now time.Time) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.MigrationLock != "" {
		if _, err := conn.ExecContext(ctx, d.MigrationLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), d.MigrationUnlock)
	}
	if err := createMigrations(ctx, conn, d); err != nil {
		return err
	}
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := migrateOne(ctx, conn, d, files, name, now); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

const createMigrationsSQL = `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`

func createMigrations(ctx context.Context, conn *sql.Conn, d *Dialect) error {
	if d.MigrationTxLock == "" {
		_, err := conn.ExecContext(ctx, createMigrationsSQL)
		return err
	}
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if _, err := t.ExecContext(ctx, d.MigrationTxLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if _, err := t.ExecContext(ctx, createMigrationsSQL); err != nil {
		return err
	}
	return t.Commit()
}

func migrateOne(ctx context.Context, conn *sql.Conn, d *Dialect, files fs.FS, name string, now time.Time) error {
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if d.MigrationTxLock != "" {
		if _, err := t.ExecContext(ctx, d.MigrationTxLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
	}
	tx := &Tx{Tx: t, d: d}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil || n > 0 {
		return err
	}
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return err
	}
	if _, err := tx.Tx.ExecContext(ctx, string(b)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, MS(now)); err != nil {
		return err
	}
	return t.Commit()
}
