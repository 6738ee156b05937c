package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RateHit counts one event for key in a fixed window shared by every
// instance and returns the count so far in the current window. A window
// older than window restarts at 1. It is one statement, so concurrent hits
// are never lost.
func (s *Store) RateHit(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	n := now.UnixMilli()
	expired := now.Add(-window).UnixMilli()
	var count int
	err := s.w.QueryRowContext(ctx, s.q(`INSERT INTO rate_limits (key, count, window_start, last_at)
		VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.count + 1 END,
			window_start = CASE WHEN rate_limits.window_start <= ? THEN ? ELSE rate_limits.window_start END,
			last_at = ?
		RETURNING count`), key, n, n, expired, expired, n, n).Scan(&count)
	if err != nil {
		return 0, fmt.Errorf("store: rate hit: %w", err)
	}
	return count, nil
}

// RateGet returns the count in key's current window (0 when there is none
// or it has elapsed) and the time of the last hit ever recorded (zero when
// none), without counting anything.
func (s *Store) RateGet(ctx context.Context, key string, now time.Time, window time.Duration) (int, time.Time, error) {
	var (
		count       int
		start, last sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, s.q(`SELECT count, window_start, last_at FROM rate_limits WHERE key = ?`), key).
		Scan(&count, &start, &last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, time.Time{}, nil
	case err != nil:
		return 0, time.Time{}, fmt.Errorf("store: rate get: %w", err)
	}
	if start.Int64 <= now.Add(-window).UnixMilli() {
		count = 0
	}
	return count, fromMS(last), nil
}

// RateReset forgets key, e.g. after a successful login.
func (s *Store) RateReset(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM rate_limits WHERE key = ?`), key); err != nil {
		return fmt.Errorf("store: rate reset: %w", err)
	}
	return nil
}

// SweepRates deletes counters last hit before olderThan and returns how
// many it deleted.
func (s *Store) SweepRates(ctx context.Context, olderThan time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM rate_limits WHERE last_at < ?`), olderThan.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: sweep rates: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("store: sweep rates: %w", err)
	}
	return n, nil
}
