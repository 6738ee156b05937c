package store

import (
	"strings"
	"sync"
	"testing"
)

func countMigrationRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	forEachDSN(t, func(t *testing.T, dsn string) {
		s := openTestStore(t, dsn)
		ctx := t.Context()
		ms, err := s.migrations()
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 || ms[0].version != 1 {
			t.Fatalf("embedded migrations = %+v, want 001 first", ms)
		}
		latest := ms[len(ms)-1].version

		if v, err := s.SchemaVersion(ctx); err != nil || v != 0 {
			t.Fatalf("SchemaVersion on empty DB = %d, %v; want 0", v, err)
		}
		for run := 1; run <= 2; run++ {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate run %d: %v", run, err)
			}
			if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
				t.Fatalf("SchemaVersion after run %d = %d, %v; want %d", run, v, err, latest)
			}
			if n := countMigrationRows(t, s); n != len(ms) {
				t.Fatalf("schema_migrations rows after run %d = %d, want %d", run, n, len(ms))
			}
		}
		// Every table of the schema is there and usable.
		for _, table := range []string{"settings", "users", "posts", "session_families", "session_tokens", "rate_limits", "web_state"} {
			var n int
			if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("table %s: count = %d, %v", table, n, err)
			}
		}
	})
}

// TestMigrateConcurrent starts two instances on one database at once; both
// must succeed and every migration must be recorded once.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	forEachDSN(t, func(t *testing.T, dsn string) {
		stores := []*Store{openTestStore(t, dsn), openTestStore(t, dsn)}
		var wg sync.WaitGroup
		errs := make([]error, len(stores))
		for i, s := range stores {
			wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate on store %d: %v", i, err)
			}
		}
		ms, err := stores[0].migrations()
		if err != nil {
			t.Fatal(err)
		}
		if n := countMigrationRows(t, stores[0]); n != len(ms) {
			t.Fatalf("schema_migrations rows = %d, want %d", n, len(ms))
		}
	})
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	t.Parallel()
	lite, err := (&Store{dialect: DialectSQLite}).migrations()
	if err != nil {
		t.Fatal(err)
	}
	pg, err := (&Store{dialect: DialectPostgres}).migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, lite[i].name, pg[i].name)
		}
	}
}

// TestSchemaColumnsMatch keeps the two dialects' schemas in step: every
// table has the same columns in the same order.
func TestSchemaColumnsMatch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	lite := openTestStore(t, "sqlite:"+t.TempDir()+"/c.db")
	pg := openTestStore(t, testPostgresDSN(t))
	for _, s := range []*Store{lite, pg} {
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	columns := func(s *Store, table string) []string {
		q := "SELECT name FROM pragma_table_info(?) ORDER BY cid"
		if s.Dialect() == DialectPostgres {
			q = `SELECT column_name FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
		}
		rows, err := s.r.QueryContext(ctx, q, table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, table := range []string{"schema_migrations", "settings", "users", "posts", "session_families", "session_tokens", "rate_limits", "web_state"} {
		a, b := columns(lite, table), columns(pg, table)
		if len(a) == 0 || strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("table %s: sqlite columns %v, postgres %v", table, a, b)
		}
	}
}
