package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// defaultTestPG is the local test server; QUIRE_TEST_PG overrides it.
const defaultTestPG = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// forEachDialect runs fn as subtests "sqlite" and "postgres", each on a
// fresh migrated database. storetest.Open is the same for other packages;
// it cannot be used here without an import cycle.
func forEachDialect(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	forEachDSN(t, func(t *testing.T, dsn string) {
		s := openTestStore(t, dsn)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
}

// forEachDSN runs fn as subtests "sqlite" and "postgres" with the DSN of an
// empty database, for tests that open several Stores on one database.
func forEachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			if d == DialectSQLite {
				fn(t, "sqlite:"+filepath.Join(t.TempDir(), "quire.db"))
				return
			}
			fn(t, testPostgresDSN(t))
		})
	}
}

// openTestStore opens dsn and closes the Store when the test ends.
func openTestStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// testPostgresDSN creates a schema of its own for the test and returns a
// DSN selecting it; the schema is dropped afterwards. No PostgreSQL is a
// failure, not a skip.
func testPostgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("QUIRE_TEST_PG")
	if base == "" {
		base = defaultTestPG
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres DSN %q: %v", base, err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("PostgreSQL at %s unreachable: %v; start it: pg_ctlcluster 15 main start", base, err)
	}
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// mustUser creates a user with the given email and role.
func mustUser(t *testing.T, s *Store, email, role string) User {
	t.Helper()
	u := User{FirstName: "F" + email, LastName: "L" + email, Email: email, PasswordHash: "hash", Role: role}
	if err := s.CreateUser(t.Context(), &u); err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// at returns a fixed test time offset by d, in whole milliseconds.
func at(d time.Duration) time.Time {
	return time.UnixMilli(1_750_000_000_000).UTC().Add(d)
}
