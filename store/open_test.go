package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn, want string
	}{
		{"empty", "", "empty SQLite path"},
		{"sqlite prefix only", "sqlite:", "empty SQLite path"},
		{"memory", ":memory:", "in-memory"},
		{"query in path", "sqlite:/tmp/x.db?mode=ro", "must not contain"},
		{"bad postgres url", "postgres://%zz", "store: open:"},
		{"postgres refused", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", "store: open:"},
		{"missing directory", "sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "q.db"), "store: open:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.dsn, Options{})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want error containing %q", tt.dsn, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "store: open:") {
				t.Fatalf("Open(%q) = %v, want %q wrapped as store: open", tt.dsn, err, tt.want)
			}
		})
	}
}

func TestOpenDialect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		dsn, want string
	}{
		{"sqlite:" + filepath.Join(dir, "a.db"), DialectSQLite},
		{filepath.Join(dir, "b.db"), DialectSQLite},
		{testPostgresDSN(t), DialectPostgres},
		{strings.Replace(testPostgresDSN(t), "postgres://", "postgresql://", 1), DialectPostgres},
	}
	for _, tt := range tests {
		s := openTestStore(t, tt.dsn)
		if got := s.Dialect(); got != tt.want {
			t.Errorf("Open(%q).Dialect() = %q, want %q", tt.dsn, got, tt.want)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	}
	for _, name := range []string{"a.db", "b.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("SQLite file not created: %v", err)
		}
	}
}

// TestSQLitePragmas checks every connection of both pools, since pragmas
// are per connection and a forgotten one (foreign_keys) fails silently.
func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, "sqlite:"+filepath.Join(t.TempDir(), "p.db"))
	ctx := t.Context()
	type pragmas struct {
		journal            string
		fk, busy, sync, ro int
	}
	want := pragmas{journal: "wal", fk: 1, busy: 5000, sync: 1}
	for _, pool := range []struct {
		name  string
		conns int
	}{{"writer", 1}, {"reader", 3}} {
		db := s.w
		if pool.name == "reader" {
			db = s.r
		}
		// Hold several connections at once so the pool must open new ones.
		for i := range pool.conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var got pragmas
			for _, p := range []struct {
				q    string
				dest any
			}{
				{"PRAGMA journal_mode", &got.journal},
				{"PRAGMA foreign_keys", &got.fk},
				{"PRAGMA busy_timeout", &got.busy},
				{"PRAGMA synchronous", &got.sync},
			} {
				if err := c.QueryRowContext(ctx, p.q).Scan(p.dest); err != nil {
					t.Fatalf("%s: %v", p.q, err)
				}
			}
			if got != want {
				t.Errorf("%s conn %d pragmas = %+v, want %+v", pool.name, i, got, want)
			}
		}
	}
}

// TestSQLiteWriterLocksUpFront checks _txlock=immediate: a write
// transaction holds the write lock from BEGIN, so a second writer on the
// same file (another process) waits for busy_timeout instead of deadlocking
// on a read-to-write upgrade.
func TestSQLiteWriterLocksUpFront(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "l.db")
	a := openTestStore(t, path)
	if err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	tx, err := a.w.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// Another connection outside the writer pool, with no busy wait.
	b := openTestStore(t, path)
	c, err := b.w.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(t.Context(), "PRAGMA busy_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	_, err = c.ExecContext(t.Context(), "INSERT INTO settings (name, value) VALUES ('x', x'00')")
	if err == nil || !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
		t.Fatalf("write while another BEGIN holds the lock = %v, want database is locked", err)
	}
}

func TestBackup(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		target := filepath.Join(t.TempDir(), "backup.db")
		if s.Dialect() == DialectPostgres {
			err := s.Backup(t.Context(), target)
			if err == nil || !strings.Contains(err.Error(), "pg_dump") {
				t.Fatalf("Backup on postgres = %v, want error naming pg_dump", err)
			}
			return
		}
		u := mustUser(t, s, "backup@example.com", RoleAdmin)
		p, err := s.CreatePost(t.Context(), u.ID, PostInput{Title: "kept"}, at(0))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Backup(t.Context(), target); err != nil {
			t.Fatalf("Backup: %v", err)
		}
		// Writes after the backup must not show up in it.
		if _, err := s.CreatePost(t.Context(), u.ID, PostInput{Title: "later"}, at(1)); err != nil {
			t.Fatal(err)
		}
		b := openTestStore(t, target)
		want, err := s.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if v, err := b.SchemaVersion(t.Context()); err != nil || v != want {
			t.Fatalf("backup SchemaVersion = %d, %v; want %d", v, err, want)
		}
		got, err := b.PostByID(t.Context(), p.ID)
		if err != nil || got.Title != "kept" || got.Author.ID != u.ID {
			t.Fatalf("backup PostByID = %+v, %v", got, err)
		}
		posts, err := b.ListPosts(t.Context(), ListPostsQuery{})
		if err != nil || len(posts) != 1 {
			t.Fatalf("backup has %d posts (%v), want 1", len(posts), err)
		}

		err = s.Backup(t.Context(), target)
		if err == nil || !strings.Contains(err.Error(), "exists") {
			t.Fatalf("second Backup to the same file = %v, want refusal", err)
		}
		if err := s.Backup(t.Context(), ""); err == nil {
			t.Fatal("Backup to empty path succeeded")
		}
	})
}

func TestPingAfterClose(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "c.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Fatalf("Ping after Close = %v, want error", err)
	}
}
