package store

import (
	"context"
	"crypto/rand"
	"fmt"
)

// Secret returns the named random secret (for example a cookie or CSRF key),
// creating it with size bytes from crypto/rand on first use. Every instance
// sharing the database gets the same value: the insert is ignored when
// another instance won the race, and the stored value is read back.
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("store: secret %q: size must be positive", name)
	}
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("store: secret %q: %w", name, err)
	}
	if _, err := s.w.ExecContext(ctx, s.q(
		"INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"), name, fresh); err != nil {
		return nil, fmt.Errorf("store: secret %q: %w", name, err)
	}
	var v []byte
	if err := s.w.QueryRowContext(ctx, s.q("SELECT value FROM settings WHERE name = ?"), name).Scan(&v); err != nil {
		return nil, fmt.Errorf("store: secret %q: %w", name, err)
	}
	// A shorter stored key than asked for would silently weaken whatever
	// uses it; make the mismatch loud instead.
	if len(v) != size {
		return nil, fmt.Errorf("store: secret %q: stored value has %d bytes, want %d", name, len(v), size)
	}
	return v, nil
}
