// Package store is the only package that speaks SQL. One concrete type, *Store,
// serves both SQLite (the embedded default) and PostgreSQL (for several
// instances on one database); dialect differences stay inside this package.
//
// Times are stored as INTEGER unix milliseconds (UTC) in both dialects so
// comparisons, ordering and keyset cursors are identical everywhere.
package store

import (
	"errors"
	"time"
)

// Sentinel errors callers map to HTTP answers in one place.
var (
	ErrNotFound       = errors.New("store: not found")
	ErrForbidden      = errors.New("store: forbidden")
	ErrDuplicateEmail = errors.New("store: duplicate email")
	// ErrConflict means a conditional write lost a race (e.g. a token was
	// rotated by another request first).
	ErrConflict = errors.New("store: conflict")
)

// Roles. Who may do what is decided in package auth (authz), not here; the
// store only enforces ownership in queries it is asked to run.
const (
	RoleAuthor = "author"
	RoleAdmin  = "admin"
)

// User statuses.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// User is an account. Email is stored normalized (trimmed, lower-case).
type User struct {
	ID            string // UUID v4, like Directus
	FirstName     string
	LastName      string
	Email         string
	PasswordHash  string // argon2id PHC string
	Role          string
	Status        string
	AvatarVersion int64 // 0 = no avatar; bumped on every upload (cache busting)
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Author is the public part of a user shown next to posts.
type Author struct {
	ID            string
	FirstName     string
	LastName      string
	AvatarVersion int64
}

// Post is a post with its author joined in.
type Post struct {
	ID          int64
	Title       string
	Content     string // Markdown source
	ContentHTML string // rendered and sanitized when saved
	Excerpt     string // plain text, computed when saved
	UserCreated string
	DateCreated time.Time
	UserUpdated string    // "" when never updated
	DateUpdated time.Time // zero when never updated
	Author      Author
}

// PostInput is what a writer supplies; owner and dates come from the caller's
// session and clock, never from a form.
type PostInput struct {
	Title       string
	Content     string
	ContentHTML string
	Excerpt     string
}

// Cursor is a keyset position in the newest-first post order.
type Cursor struct {
	Date time.Time
	ID   int64
}

// ListPostsQuery selects one page of posts, newest first.
type ListPostsQuery struct {
	Before   *Cursor // nil = first page
	Limit    int
	AuthorID string // "" = all authors
	// Summary leaves Content, ContentHTML and UserUpdated empty, for
	// listings that show only titles, excerpts, authors and dates.
	Summary bool
}

// SessionFamily is one sign-in (one device/login). Tokens rotate inside it;
// revoking the family signs that login out everywhere.
type SessionFamily struct {
	ID            string
	UserID        string
	Kind          string // "web" or "api"
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time // absolute
	RevokedAt     time.Time // zero when live
	UserAgent     string
	IP            string
}

// SessionToken is one link of a family's rotation chain. Only a hash of the
// secret is stored.
type SessionToken struct {
	ID         string
	FamilyID   string
	SecretHash []byte
	CreatedAt  time.Time
	RotatedAt  time.Time // zero while current
	ReplacedBy string    // successor token id, "" while current
}
