// Package storetest gives other packages' tests a real, migrated database
// of either dialect, isolated per test and removed afterwards.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"quire/store"
)

// DefaultPostgres is used when QUIRE_TEST_PG is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Dialects lists what Open accepts, for tests that loop over both.
func Dialects() []string { return []string{store.DialectSQLite, store.DialectPostgres} }

// Open returns a migrated Store of the given dialect ("sqlite" or
// "postgres") on a fresh database (a file in t.TempDir or a new PostgreSQL
// schema), closed and removed when the test ends.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	var dsn string
	switch dialect {
	case store.DialectSQLite:
		dsn = "sqlite:" + filepath.Join(t.TempDir(), "quire.db")
	case store.DialectPostgres:
		dsn = PostgresDSN(t)
	default:
		t.Fatalf("storetest: unknown dialect %q", dialect)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return s
}

// PostgresDSN creates an empty schema on the test PostgreSQL (QUIRE_TEST_PG,
// default DefaultPostgres) and returns a DSN whose search_path selects it,
// so tests can run in parallel without seeing each other's rows. The schema
// is dropped when the test ends. An unreachable server fails the test: the
// PostgreSQL paths must not go untested silently.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("QUIRE_TEST_PG")
	if base == "" {
		base = DefaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: postgres DSN %q: %v", base, err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("storetest: PostgreSQL at %s unreachable: %v; start it: pg_ctlcluster 15 main start", base, err)
	}
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	dsn, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return dsn
}

// withSearchPath adds search_path=schema to a URL or key=value DSN.
func withSearchPath(dsn, schema string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("postgres DSN: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
