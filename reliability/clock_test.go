package reliability

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on any machine

	"quire/session"
	"quire/store"
	"quire/store/storetest"
)

// baseClock is the true time of a test; skewClock is one instance's view
// of it. Session expiry and rotation read only the clock given to
// session.NewManager, so these are all the time the managers see.
type baseClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *baseClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *baseClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *baseClock) advance(d time.Duration) { c.set(c.now().Add(d)) }

func skewed(c *baseClock, skew time.Duration) func() time.Time {
	return func() time.Time { return c.now().Add(skew) }
}

func clockUser(t *testing.T, st *store.Store, email string) store.User {
	t.Helper()
	now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	u := store.User{Email: email, FirstName: "C", LastName: "L", Role: store.RoleAuthor, Status: store.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSessionTimesUTC runs a login across a daylight-saving change with a
// clock in Europe/Berlin: every stored time comes back in UTC at the same
// instant, and the idle window is two hours of real time although the
// wall clock jumps by three.
func TestSessionTimesUTC(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// 01:30 CET, half an hour before clocks go from 02:00 to 03:00.
	t0 := time.Date(2031, time.March, 30, 1, 30, 0, 0, berlin)
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			u := clockUser(t, st, "utc@example.com")
			key, err := st.Secret(ctx, "session-rotation-key", 32)
			if err != nil {
				t.Fatal(err)
			}
			clock := &baseClock{t: t0}
			m := session.NewManager(st, session.Config{RotateAfter: 30 * time.Minute, Grace: 10 * time.Second,
				Idle: 2 * time.Hour, Max: 24 * time.Hour}, key, clock.now, slog.New(slog.DiscardHandler))
			s, err := m.Start(ctx, u.ID, "web", session.Client{})
			if err != nil {
				t.Fatal(err)
			}
			utcAt := func(name string, got, want time.Time) {
				t.Helper()
				if got.Location() != time.UTC || !got.Equal(want) {
					t.Errorf("%s = %v (%v), want %v in UTC", name, got, got.Location(), want.UTC())
				}
			}
			f, err := st.FamilyByID(ctx, s.Family.ID)
			if err != nil {
				t.Fatal(err)
			}
			utcAt("CreatedAt", f.CreatedAt, t0)
			utcAt("LastSeenAt", f.LastSeenAt, t0)
			utcAt("IdleExpiresAt", f.IdleExpiresAt, t0.Add(2*time.Hour))
			utcAt("ExpiresAt", f.ExpiresAt, t0.Add(24*time.Hour))
			if wall := f.IdleExpiresAt.In(berlin); wall.Hour() != 4 || wall.Minute() != 30 {
				t.Errorf("idle expiry on the wall clock = %v, want 04:30 CEST", wall)
			}

			// 40 minutes later (after the change) the token rotates.
			clock.advance(40 * time.Minute)
			rotated, err := m.Check(ctx, s.Value, session.RotateIfDue)
			if err != nil || rotated.Value == "" {
				t.Fatalf("rotation: %v %q", err, rotated.Value)
			}
			old, fam, err := st.TokenByID(ctx, s.Value[:22])
			if err != nil {
				t.Fatal(err)
			}
			utcAt("token CreatedAt", old.CreatedAt, t0)
			utcAt("token RotatedAt", old.RotatedAt, t0.Add(40*time.Minute))
			utcAt("touched LastSeenAt", fam.LastSeenAt, t0.Add(40*time.Minute))
			idleEnd := t0.Add(40*time.Minute + 2*time.Hour)
			utcAt("touched IdleExpiresAt", fam.IdleExpiresAt, idleEnd)

			// Two hours of real time, to the millisecond.
			clock.set(idleEnd.Add(-time.Millisecond))
			if _, err := m.Check(ctx, rotated.Value, session.RotateNever); err != nil {
				t.Errorf("1 ms before idle expiry: %v", err)
			}
			clock.set(idleEnd)
			if _, err := m.Check(ctx, rotated.Value, session.RotateNever); !errors.Is(err, session.ErrExpired) {
				t.Errorf("at idle expiry: %v, want ErrExpired", err)
			}
		})
	}
}

// TestClockSkewBetweenInstances has two managers (two instances) share one
// database while instance A's clock is off by a few seconds. A rotates a
// token; the client's old token then reaches B. The grace window is
// measured from A's rotation stamp with B's clock, so skew moves its end by
// the skew: within the shifted window B accepts the old token and hands
// out the same successor as A; after it, B treats it as reuse and revokes
// the login.
func TestClockSkewBetweenInstances(t *testing.T) {
	t.Parallel()
	const grace = 10 * time.Second
	tests := []struct {
		name  string
		skewA time.Duration // A's clock minus B's
		delay time.Duration // true time between A's rotation and B's check
		ok    bool
	}{
		{"A 3s ahead, at once", 3 * time.Second, 0, true},
		{"A 3s ahead, after 1s", 3 * time.Second, time.Second, true},
		{"A 3s ahead, after 12s (window lengthened)", 3 * time.Second, 12 * time.Second, true},
		{"A 3s ahead, after 14s", 3 * time.Second, 14 * time.Second, false},
		{"A 3s behind, after 5s", -3 * time.Second, 5 * time.Second, true},
		{"A 3s behind, after 8s (window shortened)", -3 * time.Second, 8 * time.Second, false},
		{"no skew, at the end of grace", 0, grace, true},
		{"no skew, just after grace", 0, grace + time.Millisecond, false},
	}
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			u := clockUser(t, st, "skew@example.com")
			key, err := st.Secret(ctx, "session-rotation-key", 32)
			if err != nil {
				t.Fatal(err)
			}
			cfg := session.Config{RotateAfter: time.Minute, Grace: grace}
			log := slog.New(slog.DiscardHandler)
			for _, tt := range tests {
				clock := &baseClock{t: time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)}
				a := session.NewManager(st, cfg, key, skewed(clock, tt.skewA), log)
				b := session.NewManager(st, cfg, key, clock.now, log)
				s, err := a.Start(ctx, u.ID, "web", session.Client{})
				if err != nil {
					t.Fatal(err)
				}
				// B accepts A's fresh token whatever the skew: not yet due.
				if got, err := b.Check(ctx, s.Value, session.RotateIfDue); err != nil || got.Value != "" {
					t.Fatalf("%s: B on a fresh token: %v, rotated %v", tt.name, err, got.Value != "")
				}
				clock.advance(cfg.RotateAfter + time.Second)
				next, err := a.Check(ctx, s.Value, session.RotateIfDue)
				if err != nil || next.Value == "" {
					t.Fatalf("%s: A's rotation: %v", tt.name, err)
				}
				clock.advance(tt.delay)
				got, err := b.Check(ctx, s.Value, session.RotateIfDue)
				if tt.ok {
					if err != nil || got.Value != next.Value {
						t.Errorf("%s: B = %v, same successor %v; want the old token accepted", tt.name, err, got.Value == next.Value)
					}
					// The successor works on both instances.
					if _, err := a.Check(ctx, next.Value, session.RotateNever); err != nil {
						t.Errorf("%s: successor on A: %v", tt.name, err)
					}
					continue
				}
				if !errors.Is(err, session.ErrReused) {
					t.Errorf("%s: B = %v, want ErrReused", tt.name, err)
				}
				if _, err := a.Check(ctx, next.Value, session.RotateNever); !errors.Is(err, session.ErrRevoked) {
					t.Errorf("%s: successor after reuse: %v, want ErrRevoked", tt.name, err)
				}
			}
		})
	}
}
