package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

const userColumns = `id, first_name, last_name, email, password_hash, role, status,
	avatar_version, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var (
		u                User
		created, updated sql.NullInt64
	)
	err := row.Scan(&u.ID, &u.FirstName, &u.LastName, &u.Email, &u.PasswordHash, &u.Role, &u.Status,
		&u.AvatarVersion, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return u, err
}

// CreateUser inserts u. An empty ID gets a new UUIDv4, zero Role/Status get
// author/active and zero times get the current time; u is updated to what
// was stored. The caller normalizes the email; a taken one yields
// ErrDuplicateEmail.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	if u.Role == "" {
		u.Role = RoleAuthor
	}
	if u.Status == "" {
		u.Status = StatusActive
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.CreatedAt = time.UnixMilli(u.CreatedAt.UnixMilli()).UTC()
	u.UpdatedAt = time.UnixMilli(u.UpdatedAt.UnixMilli()).UTC()
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.FirstName, u.LastName, u.Email, u.PasswordHash, u.Role, u.Status,
		u.AvatarVersion, ms(u.CreatedAt), ms(u.UpdatedAt))
	switch {
	case isUnique(err, "users_email_key", "users.email"):
		return ErrDuplicateEmail
	case err != nil:
		return fmt.Errorf("store: create user: %w", err)
	}
	return nil
}

// UserByID returns the user with id or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.readRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, userErr("user by id", err)
}

// UserByEmail returns the user with the (normalized) email or ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users WHERE email = ?`), email))
	return u, userErr("user by email", err)
}

func userErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// setUserColumn updates one column of a user and its updated_at.
func (s *Store) setUserColumn(ctx context.Context, op, column string, value any, id string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE users SET `+column+` = ?, updated_at = ? WHERE id = ?`),
		value, ms(now), id)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetPasswordHash replaces a user's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string, now time.Time) error {
	return s.setUserColumn(ctx, "set password hash", "password_hash", hash, id, now)
}

// SetRole changes a user's role (RoleAuthor or RoleAdmin).
func (s *Store) SetRole(ctx context.Context, id, role string, now time.Time) error {
	return s.setUserColumn(ctx, "set role", "role", role, id, now)
}

// SetStatus changes a user's status (StatusActive or StatusSuspended).
func (s *Store) SetStatus(ctx context.Context, id, status string, now time.Time) error {
	return s.setUserColumn(ctx, "set status", "status", status, id, now)
}

// UpdateProfile changes a user's names.
func (s *Store) UpdateProfile(ctx context.Context, id, first, last string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE users SET first_name = ?, last_name = ?, updated_at = ? WHERE id = ?`),
		first, last, ms(now), id)
	if err != nil {
		return fmt.Errorf("store: update profile: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return fmt.Errorf("store: update profile: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountAdmins counts active admins, so the last one cannot be demoted or
// suspended.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM users WHERE role = ? AND status = ?`),
		RoleAdmin, StatusActive).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count admins: %w", err)
	}
	return n, nil
}

// ListUsersQuery selects one page of users ordered by email.
type ListUsersQuery struct {
	Search string // substring of email, first or last name; case-insensitive
	After  string // keyset: the last email of the previous page
	Limit  int    // default 50, max 200
}

// ListUsers returns a page of users ordered by email.
func (s *Store) ListUsers(ctx context.Context, q ListUsersQuery) ([]User, error) {
	var (
		where []string
		args  []any
	)
	if q.After != "" {
		where = append(where, "email > ?")
		args = append(args, q.After)
	}
	if q.Search != "" {
		where = append(where, `(lower(email) LIKE lower(?) ESCAPE '\' OR lower(first_name) LIKE lower(?) ESCAPE '\'
			OR lower(last_name) LIKE lower(?) ESCAPE '\')`)
		p := "%" + escapeLike(q.Search) + "%"
		args = append(args, p, p, p)
	}
	query := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY email LIMIT ?`
	args = append(args, limit(q.Limit, 50, 200))
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return out, nil
}

// escapeLike makes s match literally inside a LIKE pattern using '\' as
// the escape character.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
