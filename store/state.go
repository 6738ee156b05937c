package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// StateGet returns the unexpired server-side web state (the data behind a
// gin-contrib/sessions cookie, such as flash messages) or ErrNotFound.
func (s *Store) StateGet(ctx context.Context, id string, now time.Time) ([]byte, error) {
	var data []byte
	err := s.readRow(ctx, `SELECT data FROM web_state WHERE id = ? AND expires_at > ?`,
		id, now.UnixMilli()).Scan(&data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: state get: %w", err)
	}
	return data, nil
}

// StatePut creates or replaces the web state id.
func (s *Store) StatePut(ctx context.Context, id string, data []byte, expires time.Time) error {
	if data == nil {
		data = []byte{}
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO web_state (id, data, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`),
		id, data, expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: state put: %w", err)
	}
	return nil
}

// StateDelete removes the web state id; a missing one is not an error.
func (s *Store) StateDelete(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM web_state WHERE id = ?`), id); err != nil {
		return fmt.Errorf("store: state delete: %w", err)
	}
	return nil
}

// SweepState deletes expired web state and returns how many rows went.
func (s *Store) SweepState(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM web_state WHERE expires_at <= ?`), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: sweep state: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("store: sweep state: %w", err)
	}
	return n, nil
}
