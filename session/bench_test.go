package session

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"quire/store"
	"quire/store/storetest"
)

// benchManager is a Manager over a real SQLite file whose clock the
// benchmark sets, with one user to sign in.
func benchManager(b *testing.B) (*Manager, *time.Time, store.User) {
	b.Helper()
	st := storetest.Open(b, store.DialectSQLite)
	now := time.Now().UTC()
	u := store.User{FirstName: "Ada", LastName: "L", Email: "bench@example.com", PasswordHash: "x", CreatedAt: now}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		b.Fatal(err)
	}
	clock := &now
	m := NewManager(st, Config{}, bytes.Repeat([]byte{7}, 32), func() time.Time { return *clock },
		slog.New(slog.DiscardHandler))
	return m, clock, u
}

// BenchmarkCheck is the session work of every signed-in request: look the
// token up (with its family and user) and, when the token is due, rotate
// it.
func BenchmarkCheck(b *testing.B) {
	ctx := context.Background()
	b.Run("lookup", func(b *testing.B) {
		m, _, u := benchManager(b)
		s, err := m.Start(ctx, u.ID, "web", Client{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			got, err := m.Check(ctx, s.Value, RotateIfDue)
			if err != nil || got.Value != "" || got.User.ID != u.ID {
				b.Fatalf("Check = %+v, %v; want the same token, unrotated", got, err)
			}
		}
	})
	b.Run("rotate", func(b *testing.B) {
		m, clock, u := benchManager(b)
		// Every iteration presents another sign-in whose token is older
		// than RotateAfter, so every Check rotates (a write transaction).
		start := *clock
		tokens := make([]string, b.N)
		for i := range tokens {
			s, err := m.Start(ctx, u.ID, "web", Client{})
			if err != nil {
				b.Fatal(err)
			}
			tokens[i] = s.Value
		}
		*clock = start.Add(m.Config().RotateAfter + time.Minute)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			got, err := m.Check(ctx, tokens[i], RotateIfDue)
			if err != nil || got.Value == "" || got.Value == tokens[i] {
				b.Fatalf("Check = %+v, %v; want a rotated token", got, err)
			}
		}
	})
}
