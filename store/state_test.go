package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestState(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		get := func(id string, now time.Time) ([]byte, error) { return s.StateGet(ctx, id, now) }

		if _, err := get("a", at(0)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing state: %v, want ErrNotFound", err)
		}
		if err := s.StatePut(ctx, "a", []byte("one"), at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.StatePut(ctx, "b", nil, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if d, err := get("a", at(0)); err != nil || string(d) != "one" {
			t.Fatalf("get a = %q, %v", d, err)
		}
		if d, err := get("b", at(0)); err != nil || len(d) != 0 {
			t.Fatalf("get empty b = %q, %v", d, err)
		}
		// Upsert replaces data and expiry.
		bin := []byte{0, 1, 2, 0xff}
		if err := s.StatePut(ctx, "a", bin, at(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if d, err := get("a", at(90*time.Second)); err != nil || !bytes.Equal(d, bin) {
			t.Fatalf("after upsert = %v, %v", d, err)
		}
		if _, err := get("a", at(2*time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired state: %v, want ErrNotFound", err)
		}

		if err := s.StatePut(ctx, "c", []byte("c"), at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.StateDelete(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := get("c", at(0)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted state: %v", err)
		}
		if err := s.StateDelete(ctx, "c"); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}

		// a expires at 2m, b at 1h.
		if n, err := s.SweepState(ctx, at(2*time.Minute)); err != nil || n != 1 {
			t.Fatalf("SweepState = %d, %v; want 1", n, err)
		}
		if _, err := get("b", at(0)); err != nil {
			t.Fatalf("unexpired state swept: %v", err)
		}
	})
}
