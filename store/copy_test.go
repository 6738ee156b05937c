package store

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// migratedStore opens a fresh, migrated database of the given dialect.
func migratedStore(t *testing.T, dialect string) *Store {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "quire.db")
	if dialect == DialectPostgres {
		dsn = testPostgresDSN(t)
	}
	s := openTestStore(t, dsn)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// copyFixture is what populate wrote and Copy must carry over.
type copyFixture struct {
	author, admin     User
	current, previous SessionToken // a rotated login: the live token and the one it replaced
	csrfKey           []byte
	lastPost          int64 // highest post id ever handed out (that post is deleted)
	lastAudit         int64
}

// populate fills every table of s through the store's own API: a rotated
// login and a revoked one, posts (one edited by the admin, the newest
// deleted so the id sequence is ahead of the rows), more counters than one
// INSERT carries, flash state, keys, an avatar with bytes that are not text
// and audit entries.
func populate(t *testing.T, s *Store) copyFixture {
	t.Helper()
	ctx := t.Context()
	var fx copyFixture
	fx.author = mustUser(t, s, "author@example.com", RoleAuthor)
	fx.admin = mustUser(t, s, "admin@example.com", RoleAdmin)

	var posts []Post
	for i, u := range []User{fx.author, fx.admin, fx.author} {
		p, err := s.CreatePost(ctx, u.ID, PostInput{Title: fmt.Sprintf("Post %d é ✓", i), Content: "**md** 'quoted' ?",
			ContentHTML: "<p><strong>md</strong></p>", Excerpt: "md"}, at(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		posts = append(posts, p)
	}
	if _, err := s.UpdatePost(ctx, posts[0].ID, fx.admin.ID, true, PostInput{Title: "Edited", Content: "c",
		ContentHTML: "<p>c</p>", Excerpt: "c"}, at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fx.lastPost = posts[2].ID
	if err := s.DeletePost(ctx, fx.lastPost, fx.author.ID, false); err != nil {
		t.Fatal(err)
	}

	f, first := newFamily(fx.author, "fam-live")
	if err := s.CreateFamily(ctx, f, first); err != nil {
		t.Fatal(err)
	}
	next := SessionToken{ID: "fam-live-t1", FamilyID: f.ID, SecretHash: []byte{0, 1, 2, 0xfe, 0xff}, CreatedAt: at(time.Minute)}
	if err := s.RotateToken(ctx, first.ID, next, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	fx.previous, fx.current = first, next
	gone, goneTok := newFamily(fx.admin, "fam-revoked")
	if err := s.CreateFamily(ctx, gone, goneTok); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, gone.ID, at(2*time.Minute)); err != nil {
		t.Fatal(err)
	}

	// More rows than one INSERT of copyTable carries (copyRowParams).
	for i := range copyRowParams/4 + 10 {
		if _, err := s.RateHit(ctx, fmt.Sprintf("login:ip:192.0.2.%d", i), time.Now(), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StatePut(ctx, "state-1", []byte(`{"_flash":["Saved"]}`), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var err error
	if fx.csrfKey, err = s.Secret(ctx, "csrf-key", 32); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetAvatar(ctx, fx.author.ID, "image/png", []byte{0x89, 'P', 'N', 'G', 0, 0xff}, bytes.Repeat([]byte{0, 7}, 500), at(0)); err != nil {
		t.Fatal(err)
	}
	for _, e := range []AuditEntry{
		{At: at(0), ActorID: fx.admin.ID, Action: AuditPromote, TargetUserID: fx.author.ID, Detail: "author → admin"},
		{At: at(time.Second), ActorID: fx.admin.ID, Action: AuditDeletePost, TargetPostID: posts[1].ID},
	} {
		if fx.lastAudit, err = s.AddAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	// Copy finds tables in the catalog; this fixture must still reach every
	// one of them, or a table's data types would go untested across dialects.
	for _, table := range schemaTables(t, s) {
		if len(dumpTable(t, s, table)) == 0 {
			t.Fatalf("populate leaves table %s empty: add rows for it so copying it is tested", table)
		}
	}
	return fx
}

// schemaTables lists the tables a site consists of, straight from the
// catalog.
func schemaTables(t *testing.T, s *Store) []string {
	t.Helper()
	tx, err := s.r.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	tables, err := s.tableNames(t.Context(), tx)
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// dumpTable returns every row of table as a line of typed values, columns
// in name order and lines sorted, so two databases compare line by line.
func dumpTable(t *testing.T, s *Store, table string) []string {
	t.Helper()
	ctx := t.Context()
	probe, err := s.r.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table)+` WHERE 1 = 0`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := probe.Columns()
	probe.Close()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(cols)
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+quoteIdent(table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			parts[i] = fmt.Sprintf("%s=%T:%q", cols[i], v, fmt.Sprint(v))
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestCopy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ from, to string }{
		{DialectSQLite, DialectPostgres},
		{DialectPostgres, DialectSQLite},
		{DialectSQLite, DialectSQLite},
		{DialectPostgres, DialectPostgres},
	} {
		t.Run(tc.from+"_to_"+tc.to, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			src, dst := migratedStore(t, tc.from), migratedStore(t, tc.to)
			fx := populate(t, src)
			// An instance started once on the empty target made its own
			// keys; the source's must replace them.
			if _, err := dst.Secret(ctx, "csrf-key", 32); err != nil {
				t.Fatal(err)
			}
			if _, err := dst.RateHit(ctx, "register:ip:192.0.2.9", time.Now(), time.Hour); err != nil {
				t.Fatal(err)
			}

			stats, err := Copy(ctx, dst, src)
			if err != nil {
				t.Fatal(err)
			}

			tables := schemaTables(t, src)
			if got := schemaTables(t, dst); !slices.Equal(got, tables) {
				t.Fatalf("target tables %v, source tables %v", got, tables)
			}
			if len(stats.Tables) != len(tables) {
				t.Errorf("stats cover %d tables, the schema has %d: %+v", len(stats.Tables), len(tables), stats.Tables)
			}
			for _, table := range tables {
				want, got := dumpTable(t, src, table), dumpTable(t, dst, table)
				if !slices.Equal(got, want) {
					t.Errorf("table %s differs after copy:\n got %q\nwant %q", table, got, want)
				}
				if n := stats.Rows(table); n != int64(len(want)) {
					t.Errorf("stats.Rows(%s) = %d, want %d", table, n, len(want))
				}
			}
			// Parents come before the rows that refer to them.
			order := make([]string, len(stats.Tables))
			for i, tr := range stats.Tables {
				order[i] = tr.Table
			}
			for _, pair := range [][2]string{{"users", "posts"}, {"users", "session_families"},
				{"session_families", "session_tokens"}, {"users", "avatars"}} {
				if slices.Index(order, pair[0]) > slices.Index(order, pair[1]) {
					t.Errorf("copy order %v puts %s after %s", order, pair[0], pair[1])
				}
			}

			// The copy works as a site: the same people, logins and keys.
			want, err := src.UserByEmail(ctx, fx.author.Email)
			if err != nil {
				t.Fatal(err)
			}
			if u, err := dst.UserByEmail(ctx, fx.author.Email); err != nil || u != want {
				t.Errorf("author after copy = %+v, %v; want %+v", u, err, want)
			}
			tok, fam, err := dst.TokenByID(ctx, fx.current.ID)
			if err != nil || !bytes.Equal(tok.SecretHash, fx.current.SecretHash) || !fam.RevokedAt.IsZero() || fam.UserID != fx.author.ID {
				t.Errorf("live token after copy = %+v, %+v, %v", tok, fam, err)
			}
			if prev, _, err := dst.TokenByID(ctx, fx.previous.ID); err != nil || prev.ReplacedBy != fx.current.ID {
				t.Errorf("rotated token after copy = %+v, %v; want replaced by %s", prev, err, fx.current.ID)
			}
			if key, err := dst.Secret(ctx, "csrf-key", 32); err != nil || !bytes.Equal(key, fx.csrfKey) {
				t.Errorf("csrf-key after copy = %x, %v; want the source's %x", key, err, fx.csrfKey)
			}
			if n, _, err := dst.RateGet(ctx, "register:ip:192.0.2.9", time.Now(), time.Hour); err != nil || n != 0 {
				t.Errorf("the target's own counter survived the copy: %d, %v", n, err)
			}
			if img, err := dst.Avatar(ctx, fx.author.ID, AvatarLarge); err != nil || !bytes.Equal(img.Data, bytes.Repeat([]byte{0, 7}, 500)) {
				t.Errorf("avatar after copy: %d bytes, %v", len(img.Data), err)
			}

			// New rows continue after every id the source handed out: no
			// clash with copied rows, no reuse of the deleted post's id.
			p, err := dst.CreatePost(ctx, fx.admin.ID, PostInput{Title: "After", Content: "x", ContentHTML: "x", Excerpt: "x"}, at(2*time.Hour))
			if err != nil {
				t.Fatalf("create post after copy: %v", err)
			}
			if p.ID != fx.lastPost+1 {
				t.Errorf("first post after copy has id %d, want %d", p.ID, fx.lastPost+1)
			}
			id, err := dst.AddAudit(ctx, AuditEntry{ActorID: fx.admin.ID, Action: AuditPromote})
			if err != nil || id != fx.lastAudit+1 {
				t.Errorf("first audit entry after copy has id %d, %v; want %d", id, err, fx.lastAudit+1)
			}

			// Copying again would merge two sites.
			if _, err := Copy(ctx, dst, src); !errors.Is(err, ErrTargetNotEmpty) {
				t.Errorf("second Copy = %v, want ErrTargetNotEmpty", err)
			}
		})
	}
}

func TestCopyRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, src, dst *Store) (*Store, *Store)
		wantErr string
		target  error
	}{
		{
			name: "target has users",
			setup: func(t *testing.T, src, dst *Store) (*Store, *Store) {
				mustUser(t, dst, "someone@example.com", RoleAuthor)
				return src, dst
			},
			target: ErrTargetNotEmpty,
		},
		{
			name:    "same store",
			setup:   func(t *testing.T, src, _ *Store) (*Store, *Store) { return src, src },
			wantErr: "same database",
		},
		{
			name: "source not migrated",
			setup: func(t *testing.T, _, dst *Store) (*Store, *Store) {
				return openTestStore(t, "sqlite:"+filepath.Join(t.TempDir(), "empty.db")), dst
			},
			wantErr: "no Quire schema",
		},
		{
			name: "schema versions differ",
			setup: func(t *testing.T, src, dst *Store) (*Store, *Store) {
				if _, err := dst.w.ExecContext(t.Context(), `DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
					t.Fatal(err)
				}
				return src, dst
			},
			wantErr: "schema version",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, dst := migratedStore(t, DialectSQLite), migratedStore(t, DialectPostgres)
			populate(t, src)
			src, dst = tc.setup(t, src, dst)
			before := dumpTable(t, dst, "users")
			_, err := Copy(t.Context(), dst, src)
			switch {
			case err == nil:
				t.Fatal("Copy succeeded")
			case tc.target != nil && !errors.Is(err, tc.target):
				t.Fatalf("Copy = %v, want %v", err, tc.target)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("Copy = %v, want an error mentioning %q", err, tc.wantErr)
			}
			if after := dumpTable(t, dst, "users"); !slices.Equal(after, before) {
				t.Errorf("a refused Copy changed the target's users: %q -> %q", before, after)
			}
		})
	}
}

// A row the target cannot take (PostgreSQL text has no NUL byte, SQLite's
// does) fails the copy half-way; nothing of it may stay behind.
func TestCopyIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, dst := migratedStore(t, DialectSQLite), migratedStore(t, DialectPostgres)
	fx := populate(t, src)
	if _, err := src.CreatePost(ctx, fx.author.ID, PostInput{Title: "nul", Content: "a\x00b", ContentHTML: "", Excerpt: ""}, at(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := Copy(ctx, dst, src); err == nil || !strings.Contains(err.Error(), "table posts") {
		t.Fatalf("Copy = %v, want a failure on table posts", err)
	}
	for _, table := range schemaTables(t, dst) {
		if rows := dumpTable(t, dst, table); len(rows) != 0 {
			t.Errorf("failed Copy left %d rows in %s", len(rows), table)
		}
	}
	// The failed copy did not consume the target: a clean source still goes in.
	if _, err := src.w.ExecContext(ctx, `DELETE FROM posts WHERE title = 'nul'`); err != nil {
		t.Fatal(err)
	}
	if _, err := Copy(ctx, dst, src); err != nil {
		t.Fatalf("Copy after fixing the source: %v", err)
	}
}

func TestDependencyOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		tables  []string
		refs    map[string][]string
		want    []string
		wantErr string
	}{
		{
			name:   "no references: by name",
			tables: []string{"web_state", "settings", "rate_limits"},
			want:   []string{"rate_limits", "settings", "web_state"},
		},
		{
			name:   "chain",
			tables: []string{"session_tokens", "session_families", "users", "posts"},
			refs: map[string][]string{"session_tokens": {"session_families"}, "session_families": {"users"},
				"posts": {"users", "users"}},
			want: []string{"users", "posts", "session_families", "session_tokens"},
		},
		{
			name:   "self reference and unknown tables are ignored",
			tables: []string{"comments", "users"},
			refs:   map[string][]string{"comments": {"comments", "users", "elsewhere"}},
			want:   []string{"users", "comments"},
		},
		{
			name:    "cycle",
			tables:  []string{"a", "b", "c"},
			refs:    map[string][]string{"a": {"b"}, "b": {"a"}},
			wantErr: "cycle among [a b]",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := dependencyOrder(tc.tables, tc.refs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("dependencyOrder = %v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("dependencyOrder = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestConvertValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in         any
		targetType string
		want       any
	}{
		{int64(1), "BOOL", true},
		{int64(0), "BOOLEAN", false},
		{int64(7), "INT8", int64(7)},
		{true, "INTEGER", int64(1)},
		{false, "INTEGER", int64(0)},
		{true, "BOOL", true},
		{"text", "TEXT", "text"},
		{nil, "BOOL", nil},
	} {
		if got := convertValue(tc.in, tc.targetType); got != tc.want {
			t.Errorf("convertValue(%#v, %s) = %#v, want %#v", tc.in, tc.targetType, got, tc.want)
		}
	}
}
