package storetest

import (
	"errors"
	"strings"
	"testing"

	"quire/store"
)

func TestOpen(t *testing.T) {
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := Open(t, d)
			if s.Dialect() != d {
				t.Fatalf("Dialect() = %q, want %q", s.Dialect(), d)
			}
			u := store.User{Email: "x@example.com"}
			if err := s.CreateUser(t.Context(), &u); err != nil {
				t.Fatalf("store not migrated: %v", err)
			}
			// A second database of the same dialect is isolated.
			other := Open(t, d)
			if _, err := other.UserByID(t.Context(), u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("second test database sees the first one's rows: %v", err)
			}
		})
	}
}

func TestWithSearchPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=t_x&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=t_x"},
		{"host=h dbname=db", "host=h dbname=db search_path=t_x"},
	}
	for _, tt := range tests {
		got, err := withSearchPath(tt.in, "t_x")
		if err != nil || got != tt.want {
			t.Errorf("withSearchPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if dsn := PostgresDSN(t); !strings.Contains(dsn, "search_path=t_") {
		t.Errorf("PostgresDSN() = %q, want a search_path", dsn)
	}
}
