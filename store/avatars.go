package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Avatar sizes in pixels (square); the only sizes stored and served.
const (
	AvatarSmall = 64
	AvatarLarge = 256
)

// AvatarImage is one stored size of a user's avatar.
type AvatarImage struct {
	Version     int64 // equals users.avatar_version
	ContentType string
	Data        []byte
	UpdatedAt   time.Time
}

// SetAvatar stores a user's new avatar (both sizes, already re-encoded) and
// bumps users.avatar_version in the same transaction, returning the new
// version. Versions only grow - the new one is above the previous one and at
// least the upload time in ms, so even after RemoveAvatar an old URL is not
// reused (short of the clock running backwards) - and a URL carrying the
// version can be cached forever. An unknown user yields ErrNotFound.
func (s *Store) SetAvatar(ctx context.Context, userID, contentType string, small, large []byte, now time.Time) (int64, error) {
	var version int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// One statement computes the new version from the row it locks, so
		// concurrent uploads still get distinct, increasing versions.
		n := now.UnixMilli()
		err := tx.QueryRowContext(ctx, s.q(`UPDATE users
			SET avatar_version = CASE WHEN avatar_version + 1 > ? THEN avatar_version + 1 ELSE ? END, updated_at = ?
			WHERE id = ? RETURNING avatar_version`), n, n, n, userID).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO avatars (user_id, version, content_type, small, large, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, content_type = excluded.content_type,
				small = excluded.small, large = excluded.large, updated_at = excluded.updated_at`),
			userID, version, contentType, small, large, ms(now))
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return 0, err
	case err != nil:
		return 0, fmt.Errorf("store: set avatar: %w", err)
	}
	return version, nil
}

// Avatar returns one size (AvatarSmall or AvatarLarge) of a user's avatar,
// reading only that size's bytes. ErrNotFound means the user has none (or
// the size is not one that is stored).
func (s *Store) Avatar(ctx context.Context, userID string, size int) (AvatarImage, error) {
	column := ""
	switch size {
	case AvatarSmall:
		column = "small"
	case AvatarLarge:
		column = "large"
	default:
		return AvatarImage{}, ErrNotFound
	}
	var (
		img     AvatarImage
		updated sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, s.q(`SELECT version, content_type, `+column+`, updated_at
		FROM avatars WHERE user_id = ?`), userID).Scan(&img.Version, &img.ContentType, &img.Data, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return AvatarImage{}, ErrNotFound
	case err != nil:
		return AvatarImage{}, fmt.Errorf("store: avatar: %w", err)
	}
	img.UpdatedAt = fromMS(updated)
	return img, nil
}

// RemoveAvatar deletes a user's avatar and sets avatar_version back to 0
// (the default picture). Removing a missing avatar is not an error; an
// unknown user is ErrNotFound.
func (s *Store) RemoveAvatar(ctx context.Context, userID string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET avatar_version = 0, updated_at = ? WHERE id = ?`),
			ms(now), userID)
		if err != nil {
			return err
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM avatars WHERE user_id = ?`), userID)
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return err
	case err != nil:
		return fmt.Errorf("store: remove avatar: %w", err)
	}
	return nil
}
