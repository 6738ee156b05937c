package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// TokenWithUser is TokenByID with the family's user read in the same
// query: checking a signed-in request's cookie needs all three, and one
// query instead of two is a noticeable share of a page view.
func (s *Store) TokenWithUser(ctx context.Context, id string) (SessionToken, SessionFamily, User, error) {
	var (
		t                SessionToken
		f                SessionFamily
		u                User
		created, updated sql.NullInt64
	)
	td, tdone := tokenDest(&t)
	fd, fdone := familyDest(&f)
	ud := []any{&u.ID, &u.FirstName, &u.LastName, &u.Email, &u.PasswordHash, &u.Role, &u.Status,
		&u.AvatarVersion, &created, &updated}
	err := s.readRow(ctx, `SELECT `+tokenColumns+`, `+familyColumns+`,
		u.id, u.first_name, u.last_name, u.email, u.password_hash, u.role, u.status,
		u.avatar_version, u.created_at, u.updated_at
		FROM session_tokens t JOIN session_families f ON f.id = t.family_id
		JOIN users u ON u.id = f.user_id WHERE t.id = ?`, id).
		Scan(append(append(td, fd...), ud...)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return SessionToken{}, SessionFamily{}, User{}, ErrNotFound
	case err != nil:
		return SessionToken{}, SessionFamily{}, User{}, fmt.Errorf("store: token with user: %w", err)
	}
	tdone()
	fdone()
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return t, f, u, nil
}
