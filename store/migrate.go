package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFS holds the schema history of each dialect, NNN_name.sql.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migrateLockID is the PostgreSQL advisory lock key held while migrating,
// so instances starting together apply each migration once. Arbitrary but
// fixed: "quire" in ASCII.
const migrateLockID int64 = 0x7175697265

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations of the store's dialect in
// version order.
func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + s.dialect
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate brings the schema up to date. Each migration runs in its own
// transaction together with the row recording its version, so a failure
// leaves the schema at the last good version. Running it again is a no-op.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) (err error) {
	list, err := s.migrations()
	if err != nil {
		return err
	}
	// One dedicated connection: on PostgreSQL the advisory lock belongs to
	// the session, so the lock and every migration must share it.
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.dialect == DialectPostgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLockID); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		defer func() {
			// Unlock even when ctx is done; a lock left on a pooled
			// connection would block every later Migrate.
			_, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockID)
			if uerr != nil {
				// Drop the connection so the session (and its lock) ends.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				err = errors.Join(err, fmt.Errorf("unlock: %w", uerr))
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range list {
		applied, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if applied {
			s.log.InfoContext(ctx, "store: migration applied", "dialect", s.dialect, "version", m.version, "name", m.name)
		}
	}
	return nil
}

// applyMigration runs m unless its version is already recorded; the check
// is inside the transaction so concurrent SQLite processes (serialized by
// the immediate write lock) cannot both apply it.
func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, m migration) (applied bool, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			if rerr := ignoreDone(tx.Rollback()); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()
	var n int
	if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.q("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"),
		m.version, time.Now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// SchemaVersion returns the highest applied migration, 0 for an empty
// database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	exists := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	if s.dialect == DialectPostgres {
		exists = "SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) x WHERE t IS NOT NULL"
	}
	var n int
	if err := s.r.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := s.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}
