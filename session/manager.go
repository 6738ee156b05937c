// Package session keeps sign-ins on the server: opaque "id.secret" tokens
// whose secret is stored only as a hash, grouped in families (one per login),
// rotated on an interval with a short grace window for concurrent requests,
// and revoked as a whole when an old token is replayed (reuse detection).
// Web cookies and API refresh tokens share these rules and this store.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"quire/store"
)

// Errors a caller treats as "signed out".
var (
	ErrInvalid = errors.New("session: invalid token")
	ErrExpired = errors.New("session: expired")
	ErrRevoked = errors.New("session: revoked")
	// ErrReused means an already rotated token was presented outside the grace
	// window: the whole family has been revoked.
	ErrReused = errors.New("session: token reuse detected")
)

// Config holds the session timings; zero fields take the defaults.
type Config struct {
	RotateAfter time.Duration // rotate a token older than this (default 15m)
	Grace       time.Duration // previous token still valid this long after rotation (default 10s)
	Idle        time.Duration // sign-out after this long without use (default 7 days)
	Max         time.Duration // absolute lifetime of a login (default 30 days)
	TouchEvery  time.Duration // minimum interval between last-seen writes (default 1m, capped by RotateAfter)
}

func (c Config) withDefaults() Config {
	if c.RotateAfter <= 0 {
		c.RotateAfter = 15 * time.Minute
	}
	if c.Grace <= 0 {
		c.Grace = 10 * time.Second
	}
	if c.Idle <= 0 {
		c.Idle = 7 * 24 * time.Hour
	}
	if c.Max <= 0 {
		c.Max = 30 * 24 * time.Hour
	}
	if c.TouchEvery <= 0 {
		c.TouchEvery = time.Minute
	}
	if c.TouchEvery > c.RotateAfter {
		c.TouchEvery = c.RotateAfter
	}
	return c
}

// Manager issues, checks, rotates and revokes sessions.
type Manager struct {
	st  *store.Store
	cfg Config
	key []byte // derives rotation successors; shared by all instances via the DB
	now func() time.Time
	log *slog.Logger
}

// NewManager builds a Manager. key must be the same on every instance sharing
// the database (handlers load it with store.Secret).
func NewManager(st *store.Store, cfg Config, key []byte, now func() time.Time, log *slog.Logger) *Manager {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Manager{st: st, cfg: cfg.withDefaults(), key: key, now: now, log: log}
}

// Config returns the effective timings.
func (m *Manager) Config() Config { return m.cfg }

// Now is the manager's clock, shared with callers that must agree with it.
func (m *Manager) Now() time.Time { return m.now() }

// Client describes where a login comes from, shown on the account page.
type Client struct {
	UserAgent string
	IP        string
}

// Session is the result of starting or checking a session.
type Session struct {
	UserID string
	Family store.SessionFamily
	// User is the family's user, read together with the token by Check
	// (zero from Start).
	User store.User
	// Value is the token the client must hold from now on. It is set when a
	// session starts and when a token was rotated (the caller sends it in
	// Set-Cookie or in the refresh response); empty when unchanged.
	Value string
	// ExpiresAt is when the token stops working if unused (for cookie Max-Age).
	ExpiresAt time.Time
}

// Start begins a new family for a fresh login (so no earlier token, fixated or
// not, carries over).
func (m *Manager) Start(ctx context.Context, userID, kind string, cl Client) (Session, error) {
	t, err := newToken()
	if err != nil {
		return Session{}, fmt.Errorf("session: start: %w", err)
	}
	famID, err := newToken()
	if err != nil {
		return Session{}, fmt.Errorf("session: start: %w", err)
	}
	now := m.now().UTC()
	f := store.SessionFamily{
		ID: famID.id, UserID: userID, Kind: kind,
		CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(m.cfg.Idle), ExpiresAt: now.Add(m.cfg.Max),
		UserAgent: truncate(cl.UserAgent, 300), IP: truncate(cl.IP, 64),
	}
	if f.IdleExpiresAt.After(f.ExpiresAt) {
		f.IdleExpiresAt = f.ExpiresAt
	}
	tok := store.SessionToken{ID: t.id, FamilyID: f.ID, SecretHash: hashSecret(t.secret), CreatedAt: now}
	if err := m.st.CreateFamily(ctx, f, tok); err != nil {
		return Session{}, fmt.Errorf("session: start: %w", err)
	}
	return Session{UserID: userID, Family: f, Value: t.String(), ExpiresAt: f.IdleExpiresAt}, nil
}

// Rotation policy for Check.
type Rotation int

const (
	RotateIfDue  Rotation = iota // web requests: rotate when the token is older than RotateAfter
	RotateAlways                 // API refresh: every use yields the next token
	RotateNever                  // look-ups that must not change state (e.g. logout)
)

// Check validates a presented token value and rotates it per policy.
//
// Rules: the current token works; the immediately previous token works for
// Grace after it was rotated and maps to the same successor (parallel tabs and
// htmx requests); any other rotated token - older, or late - revokes the whole
// family and returns ErrReused.
func (m *Manager) Check(ctx context.Context, value string, rot Rotation) (Session, error) {
	t, err := parseToken(value)
	if err != nil {
		return Session{}, ErrInvalid
	}
	tok, fam, user, err := m.st.TokenWithUser(ctx, t.id)
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrInvalid
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: check: %w", err)
	}
	if !secretMatches(t.secret, tok.SecretHash) {
		// A known id with a wrong secret is a forgery attempt, not a reuse:
		// do not let it sign the real owner out.
		m.log.Warn("session secret mismatch", "event", "security", "family", fam.ID, "user", fam.UserID)
		return Session{}, ErrInvalid
	}
	now := m.now().UTC()
	switch {
	case !fam.RevokedAt.IsZero():
		return Session{}, ErrRevoked
	case !now.Before(fam.ExpiresAt), !now.Before(fam.IdleExpiresAt):
		return Session{}, ErrExpired
	}
	s := Session{UserID: fam.UserID, Family: fam, User: user, ExpiresAt: fam.IdleExpiresAt}

	if !tok.RotatedAt.IsZero() {
		next, err := m.graceSuccessor(ctx, t, tok, now)
		if err != nil {
			return Session{}, err
		}
		s.Value = next.String()
		return m.touch(ctx, s, now)
	}
	if rot == RotateAlways || (rot == RotateIfDue && now.Sub(tok.CreatedAt) >= m.cfg.RotateAfter) {
		next := successor(m.key, t)
		nt := store.SessionToken{ID: next.id, FamilyID: fam.ID, SecretHash: hashSecret(next.secret), CreatedAt: now}
		err := m.st.RotateToken(ctx, tok.ID, nt, now)
		switch {
		case errors.Is(err, store.ErrConflict):
			// Someone rotated it a moment ago; re-read and apply the grace rule.
			tok, _, err = m.st.TokenByID(ctx, t.id)
			if err != nil {
				return Session{}, fmt.Errorf("session: check: %w", err)
			}
			if _, err := m.graceSuccessor(ctx, t, tok, now); err != nil {
				return Session{}, err
			}
		case err != nil:
			return Session{}, fmt.Errorf("session: rotate: %w", err)
		}
		s.Value = next.String()
	}
	if rot == RotateNever {
		return s, nil
	}
	return m.touch(ctx, s, now)
}

// graceSuccessor decides whether an already rotated token may still be used.
func (m *Manager) graceSuccessor(ctx context.Context, t token, tok store.SessionToken, now time.Time) (token, error) {
	next := successor(m.key, t)
	if tok.ReplacedBy == next.id && now.Sub(tok.RotatedAt) <= m.cfg.Grace {
		succ, _, err := m.st.TokenByID(ctx, next.id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return token{}, fmt.Errorf("session: check: %w", err)
		}
		if err == nil && succ.RotatedAt.IsZero() {
			return next, nil
		}
	}
	if err := m.st.RevokeFamily(ctx, tok.FamilyID, now); err != nil {
		return token{}, fmt.Errorf("session: revoke on reuse: %w", err)
	}
	m.log.Warn("session token reuse detected; family revoked", "event", "security", "family", tok.FamilyID,
		"rotated_at", tok.RotatedAt, "age_since_rotation", now.Sub(tok.RotatedAt).String())
	return token{}, ErrReused
}

// touch slides the idle expiry, writing at most once per TouchEvery so that
// reads stay reads.
func (m *Manager) touch(ctx context.Context, s Session, now time.Time) (Session, error) {
	if now.Sub(s.Family.LastSeenAt) < m.cfg.TouchEvery {
		return s, nil
	}
	idle := now.Add(m.cfg.Idle)
	if idle.After(s.Family.ExpiresAt) {
		idle = s.Family.ExpiresAt
	}
	if err := m.st.TouchFamily(ctx, s.Family.ID, now, idle); err != nil {
		return Session{}, fmt.Errorf("session: touch: %w", err)
	}
	s.Family.LastSeenAt, s.Family.IdleExpiresAt, s.ExpiresAt = now, idle, idle
	return s, nil
}

// End revokes the family of a presented token (logout). Unknown or already
// ended tokens are not an error: logout is idempotent.
func (m *Manager) End(ctx context.Context, value string) error {
	t, err := parseToken(value)
	if err != nil {
		return nil
	}
	tok, fam, err := m.st.TokenByID(ctx, t.id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("session: end: %w", err)
	}
	if !secretMatches(t.secret, tok.SecretHash) || !fam.RevokedAt.IsZero() {
		return nil
	}
	return m.EndFamily(ctx, fam.ID)
}

// EndFamily revokes one login.
func (m *Manager) EndFamily(ctx context.Context, familyID string) error {
	if err := m.st.RevokeFamily(ctx, familyID, m.now().UTC()); err != nil {
		return fmt.Errorf("session: end family: %w", err)
	}
	return nil
}

// EndUserSessions revokes every login of a user except keepFamily ("" = all):
// used on password change, role change and suspension.
func (m *Manager) EndUserSessions(ctx context.Context, userID, keepFamily string) (int, error) {
	n, err := m.st.RevokeUserFamilies(ctx, userID, keepFamily, m.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("session: end user sessions: %w", err)
	}
	return n, nil
}

// FamilyLive reports whether a login is still valid (for stateless access
// tokens that name their family, so revocation takes effect at once).
func (m *Manager) FamilyLive(ctx context.Context, familyID string) (store.SessionFamily, error) {
	f, err := m.st.FamilyByID(ctx, familyID)
	if errors.Is(err, store.ErrNotFound) {
		return store.SessionFamily{}, ErrInvalid
	}
	if err != nil {
		return store.SessionFamily{}, fmt.Errorf("session: family: %w", err)
	}
	now := m.now().UTC()
	switch {
	case !f.RevokedAt.IsZero():
		return f, ErrRevoked
	case !now.Before(f.ExpiresAt), !now.Before(f.IdleExpiresAt):
		return f, ErrExpired
	}
	return f, nil
}

// Sweep deletes expired and long-revoked families; run periodically.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	return m.st.SweepSessions(ctx, m.now().UTC(), 24*time.Hour)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
