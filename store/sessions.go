package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const familyColumns = `f.id, f.user_id, f.kind, f.created_at, f.last_seen_at, f.idle_expires_at,
	f.expires_at, f.revoked_at, f.user_agent, f.ip`

const tokenColumns = `t.id, t.family_id, t.secret_hash, t.created_at, t.rotated_at, t.replaced_by`

// familyDest returns scan targets for familyColumns and a func that copies
// them into f once scanned.
func familyDest(f *SessionFamily) ([]any, func()) {
	var created, seen, idle, expires, revoked sql.NullInt64
	dest := []any{&f.ID, &f.UserID, &f.Kind, &created, &seen, &idle, &expires, &revoked, &f.UserAgent, &f.IP}
	return dest, func() {
		f.CreatedAt, f.LastSeenAt, f.IdleExpiresAt = fromMS(created), fromMS(seen), fromMS(idle)
		f.ExpiresAt, f.RevokedAt = fromMS(expires), fromMS(revoked)
	}
}

// tokenDest is familyDest for tokenColumns.
func tokenDest(t *SessionToken) ([]any, func()) {
	var (
		created, rotated sql.NullInt64
		replaced         sql.NullString
	)
	dest := []any{&t.ID, &t.FamilyID, &t.SecretHash, &created, &rotated, &replaced}
	return dest, func() {
		t.CreatedAt, t.RotatedAt, t.ReplacedBy = fromMS(created), fromMS(rotated), replaced.String
	}
}

// CreateFamily stores a new sign-in and its first token together, so a
// family never exists without a usable token.
func (s *Store) CreateFamily(ctx context.Context, f SessionFamily, first SessionToken) error {
	if first.FamilyID != "" && first.FamilyID != f.ID {
		return fmt.Errorf("store: create family: token belongs to family %q, not %q", first.FamilyID, f.ID)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO session_families
			(id, user_id, kind, created_at, last_seen_at, idle_expires_at, expires_at, revoked_at, user_agent, ip)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			f.ID, f.UserID, f.Kind, ms(f.CreatedAt), ms(f.LastSeenAt), ms(f.IdleExpiresAt), ms(f.ExpiresAt),
			ms(f.RevokedAt), f.UserAgent, f.IP)
		if err != nil {
			return err
		}
		return s.insertToken(ctx, tx, first, f.ID)
	})
	if err != nil {
		return fmt.Errorf("store: create family: %w", err)
	}
	return nil
}

func (s *Store) insertToken(ctx context.Context, tx *sql.Tx, t SessionToken, familyID string) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO session_tokens
		(id, family_id, secret_hash, created_at, rotated_at, replaced_by) VALUES (?, ?, ?, ?, ?, ?)`),
		t.ID, familyID, t.SecretHash, ms(t.CreatedAt), ms(t.RotatedAt), nullString(t.ReplacedBy))
	return err
}

// TokenByID returns a token and its family in one query, or ErrNotFound.
func (s *Store) TokenByID(ctx context.Context, id string) (SessionToken, SessionFamily, error) {
	var (
		t SessionToken
		f SessionFamily
	)
	td, tdone := tokenDest(&t)
	fd, fdone := familyDest(&f)
	err := s.readRow(ctx, `SELECT `+tokenColumns+`, `+familyColumns+`
		FROM session_tokens t JOIN session_families f ON f.id = t.family_id WHERE t.id = ?`, id).
		Scan(append(td, fd...)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return SessionToken{}, SessionFamily{}, ErrNotFound
	case err != nil:
		return SessionToken{}, SessionFamily{}, fmt.Errorf("store: token by id: %w", err)
	}
	tdone()
	fdone()
	return t, f, nil
}

// RotateToken retires oldID in favour of next, which joins the same family.
// Only the first caller for a given oldID wins: the UPDATE matches only a
// token not yet rotated, and row locking (PostgreSQL) or the single writer
// (SQLite) makes every later caller see it rotated and get ErrConflict.
func (s *Store) RotateToken(ctx context.Context, oldID string, next SessionToken, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var familyID string
		err := tx.QueryRowContext(ctx, s.q(`UPDATE session_tokens SET rotated_at = ?, replaced_by = ?
			WHERE id = ? AND rotated_at IS NULL RETURNING family_id`), ms(now), next.ID, oldID).Scan(&familyID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		if next.FamilyID != "" && next.FamilyID != familyID {
			return fmt.Errorf("next token names family %q, old token is in %q", next.FamilyID, familyID)
		}
		if next.CreatedAt.IsZero() {
			next.CreatedAt = now
		}
		return s.insertToken(ctx, tx, next, familyID)
	})
	switch {
	case errors.Is(err, ErrConflict):
		return ErrConflict
	case err != nil:
		return fmt.Errorf("store: rotate token: %w", err)
	}
	return nil
}

// TouchFamily records activity on a live family and slides its idle
// expiry. A missing or revoked family yields ErrNotFound.
func (s *Store) TouchFamily(ctx context.Context, familyID string, now, idleExpires time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE session_families SET last_seen_at = ?, idle_expires_at = ?
		WHERE id = ? AND revoked_at IS NULL`), ms(now), ms(idleExpires), familyID)
	if err != nil {
		return fmt.Errorf("store: touch family: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return fmt.Errorf("store: touch family: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// RevokeFamily signs one login out. Revoking an already revoked family
// keeps the first revocation time and succeeds; an unknown one yields
// ErrNotFound.
func (s *Store) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE session_families SET revoked_at = ?
			WHERE id = ? AND revoked_at IS NULL`), ms(now), familyID)
		if err != nil {
			return err
		}
		n, err := rowsAffected(res)
		if err != nil || n > 0 {
			return err
		}
		var exists int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM session_families WHERE id = ?`),
			familyID).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return ErrNotFound
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("store: revoke family: %w", err)
	}
	return nil
}

// RevokeUserFamilies signs a user out everywhere except exceptFamilyID
// ("" = everywhere), e.g. after a password change, and returns how many
// live families it revoked.
func (s *Store) RevokeUserFamilies(ctx context.Context, userID, exceptFamilyID string, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE session_families SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL AND id <> ?`), ms(now), userID, exceptFamilyID)
	if err != nil {
		return 0, fmt.Errorf("store: revoke user families: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("store: revoke user families: %w", err)
	}
	return n, nil
}

// FamilyByID returns one family, live or not, or ErrNotFound.
func (s *Store) FamilyByID(ctx context.Context, id string) (SessionFamily, error) {
	var f SessionFamily
	dest, done := familyDest(&f)
	err := s.r.QueryRowContext(ctx, s.q(`SELECT `+familyColumns+` FROM session_families f WHERE f.id = ?`), id).
		Scan(dest...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return SessionFamily{}, ErrNotFound
	case err != nil:
		return SessionFamily{}, fmt.Errorf("store: family by id: %w", err)
	}
	done()
	return f, nil
}

// FamiliesByUser lists a user's live sign-ins (not revoked, neither expiry
// passed), most recently used first, for a "your sessions" page.
func (s *Store) FamiliesByUser(ctx context.Context, userID string, now time.Time) ([]SessionFamily, error) {
	n := now.UnixMilli()
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+familyColumns+` FROM session_families f
		WHERE f.user_id = ? AND f.revoked_at IS NULL AND f.idle_expires_at > ? AND f.expires_at > ?
		ORDER BY f.last_seen_at DESC, f.id DESC`), userID, n, n)
	if err != nil {
		return nil, fmt.Errorf("store: families by user: %w", err)
	}
	defer rows.Close()
	var out []SessionFamily
	for rows.Next() {
		var f SessionFamily
		dest, done := familyDest(&f)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: families by user: %w", err)
		}
		done()
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: families by user: %w", err)
	}
	return out, nil
}

// SweepSessions deletes families that expired (idle or absolute) or were
// revoked more than keepRevoked ago; their tokens go with them by cascade.
// Keeping revoked families a while lets reuse of an old token still be
// recognized. It returns how many families were deleted.
func (s *Store) SweepSessions(ctx context.Context, now time.Time, keepRevoked time.Duration) (int, error) {
	n := now.UnixMilli()
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM session_families
		WHERE idle_expires_at <= ? OR expires_at <= ? OR (revoked_at IS NOT NULL AND revoked_at < ?)`),
		n, n, now.Add(-keepRevoked).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: sweep sessions: %w", err)
	}
	c, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("store: sweep sessions: %w", err)
	}
	return c, nil
}
