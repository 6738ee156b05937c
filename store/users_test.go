package store

import (
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestUsersCreateAndGet(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		created := time.Date(2025, 6, 1, 12, 0, 0, 123_456_789, time.UTC)
		u := User{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", PasswordHash: "$argon2id$x",
			Role: RoleAdmin, CreatedAt: created}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u.ID) {
			t.Errorf("ID = %q, want a UUIDv4", u.ID)
		}
		if u.Status != StatusActive || !u.UpdatedAt.Equal(u.CreatedAt) {
			t.Errorf("defaults: status %q, updated %v created %v", u.Status, u.UpdatedAt, u.CreatedAt)
		}
		if want := created.Truncate(time.Millisecond); !u.CreatedAt.Equal(want) {
			t.Errorf("CreatedAt = %v, want %v (ms precision)", u.CreatedAt, want)
		}

		byID, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		byEmail, err := s.UserByEmail(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []User{byID, byEmail} {
			if got != u {
				t.Errorf("read back %+v, want %+v", got, u)
			}
		}

		// Explicit ID is kept.
		v := User{ID: "fixed-id", Email: "v@example.com"}
		if err := s.CreateUser(ctx, &v); err != nil || v.ID != "fixed-id" || v.Role != RoleAuthor {
			t.Fatalf("CreateUser with ID = %+v, %v", v, err)
		}

		dup := User{Email: "ada@example.com"}
		if err := s.CreateUser(ctx, &dup); !errors.Is(err, ErrDuplicateEmail) {
			t.Fatalf("duplicate email: err = %v, want ErrDuplicateEmail", err)
		}
		// A duplicate primary key is not a duplicate email.
		clash := User{ID: "fixed-id", Email: "other@example.com"}
		if err := s.CreateUser(ctx, &clash); err == nil || errors.Is(err, ErrDuplicateEmail) {
			t.Fatalf("duplicate id: err = %v, want a non-email error", err)
		}
		bad := User{Email: "bad@example.com", Role: "root"}
		if err := s.CreateUser(ctx, &bad); err == nil {
			t.Fatal("unknown role accepted")
		}

		if _, err := s.UserByID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserByID(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := s.UserByEmail(ctx, "ADA@example.com"); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserByEmail is exact (caller normalizes): got %v, want ErrNotFound", err)
		}
	})
}

func TestUsersUpdate(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "u@example.com", RoleAuthor)
		now := at(time.Hour)
		tests := []struct {
			name  string
			apply func(id string) error
			check func(User) bool
		}{
			{"password", func(id string) error { return s.SetPasswordHash(ctx, id, "new-hash", now) },
				func(u User) bool { return u.PasswordHash == "new-hash" }},
			{"role", func(id string) error { return s.SetRole(ctx, id, RoleAdmin, now) },
				func(u User) bool { return u.Role == RoleAdmin }},
			{"status", func(id string) error { return s.SetStatus(ctx, id, StatusSuspended, now) },
				func(u User) bool { return u.Status == StatusSuspended }},
			{"profile", func(id string) error { return s.UpdateProfile(ctx, id, "Grace", "Hopper", now) },
				func(u User) bool { return u.FirstName == "Grace" && u.LastName == "Hopper" }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.apply("missing"); !errors.Is(err, ErrNotFound) {
					t.Errorf("unknown user: err = %v, want ErrNotFound", err)
				}
				if err := tt.apply(u.ID); err != nil {
					t.Fatal(err)
				}
				got, err := s.UserByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !tt.check(got) || !got.UpdatedAt.Equal(now) || !got.CreatedAt.Equal(u.CreatedAt) {
					t.Errorf("after %s: %+v", tt.name, got)
				}
			})
		}
		if err := s.SetRole(ctx, u.ID, "root", now); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("SetRole(root) = %v, want a constraint error", err)
		}
	})
}

func TestCountAdmins(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		count := func() int {
			t.Helper()
			n, err := s.CountAdmins(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(); n != 0 {
			t.Fatalf("empty: %d admins", n)
		}
		a := mustUser(t, s, "a@example.com", RoleAdmin)
		mustUser(t, s, "b@example.com", RoleAdmin)
		mustUser(t, s, "c@example.com", RoleAuthor)
		if n := count(); n != 2 {
			t.Fatalf("%d admins, want 2", n)
		}
		if err := s.SetStatus(ctx, a.ID, StatusSuspended, at(0)); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 1 {
			t.Fatalf("suspended admin counted: %d, want 1", n)
		}
	})
}

func TestListUsers(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		for _, u := range []User{
			{Email: "alice@example.com", FirstName: "Alice", LastName: "Smith"},
			{Email: "bob@example.com", FirstName: "Bob", LastName: "O'Brien"},
			{Email: "carol_x@example.com", FirstName: "Carol", LastName: "Jones"},
			{Email: "carolx@example.com", FirstName: "Caroline", LastName: "Smithers"},
			{Email: "dave@example.org", FirstName: "Dave", LastName: "100%"},
		} {
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
		}
		emails := func(us []User) []string {
			var out []string
			for _, u := range us {
				out = append(out, u.Email)
			}
			return out
		}
		tests := []struct {
			name string
			q    ListUsersQuery
			want []string
		}{
			{"all ordered", ListUsersQuery{}, []string{"alice@example.com", "bob@example.com", "carol_x@example.com", "carolx@example.com", "dave@example.org"}},
			{"limit", ListUsersQuery{Limit: 2}, []string{"alice@example.com", "bob@example.com"}},
			{"after", ListUsersQuery{After: "bob@example.com", Limit: 2}, []string{"carol_x@example.com", "carolx@example.com"}},
			{"last page", ListUsersQuery{After: "carolx@example.com"}, []string{"dave@example.org"}},
			{"case-insensitive last name", ListUsersQuery{Search: "SMITH"}, []string{"alice@example.com", "carolx@example.com"}},
			{"first name", ListUsersQuery{Search: "caro"}, []string{"carol_x@example.com", "carolx@example.com"}},
			{"underscore is literal", ListUsersQuery{Search: "carol_"}, []string{"carol_x@example.com"}},
			{"percent is literal", ListUsersQuery{Search: "0%"}, []string{"dave@example.org"}},
			{"quote", ListUsersQuery{Search: "o'b"}, []string{"bob@example.com"}},
			{"email", ListUsersQuery{Search: "example.org"}, []string{"dave@example.org"}},
			{"search and after", ListUsersQuery{Search: "smith", After: "alice@example.com"}, []string{"carolx@example.com"}},
			{"no match", ListUsersQuery{Search: "zzz"}, nil},
		}
		for _, tt := range tests {
			got, err := s.ListUsers(ctx, tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if g := emails(got); !slices.Equal(g, tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, g, tt.want)
			}
		}
	})
}
