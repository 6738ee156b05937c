package session

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"quire/store"
	"quire/store/storetest"
)

// fakeClock is the injected clock: safe for concurrent use, moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2031, time.March, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testConfig uses round, distinct numbers so each rule is stepped over
// separately.
var testConfig = Config{RotateAfter: 15 * time.Minute, Grace: 10 * time.Second, Idle: 7 * 24 * time.Hour, Max: 30 * 24 * time.Hour}

type env struct {
	st    *store.Store
	clock *fakeClock
	m     *Manager
	user  store.User
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	st := storetest.Open(t, store.DialectSQLite)
	clock := newFakeClock()
	u := store.User{FirstName: "Ada", LastName: "L", Email: "ada@example.com", PasswordHash: "x", CreatedAt: clock.Now()}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &env{st: st, clock: clock, m: NewManager(st, cfg, bytes.Repeat([]byte{42}, 32), clock.Now, log), user: u}
}

func (e *env) start(t *testing.T) Session {
	t.Helper()
	s, err := e.m.Start(context.Background(), e.user.ID, "web", Client{UserAgent: "UA", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) check(t *testing.T, value string, rot Rotation) (Session, error) {
	t.Helper()
	return e.m.Check(context.Background(), value, rot)
}

func mustCheck(t *testing.T, e *env, value string, rot Rotation) Session {
	t.Helper()
	s, err := e.check(t, value, rot)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return s
}

func TestStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig)
	s := e.start(t)
	if _, err := parseToken(s.Value); err != nil {
		t.Fatalf("Start value %q: %v", s.Value, err)
	}
	if s.UserID != e.user.ID || s.Family.UserID != e.user.ID || s.Family.Kind != "web" {
		t.Errorf("session = %+v", s)
	}
	now := e.clock.Now()
	if !s.ExpiresAt.Equal(now.Add(testConfig.Idle)) || !s.Family.ExpiresAt.Equal(now.Add(testConfig.Max)) {
		t.Errorf("expiry = %v / %v", s.ExpiresAt, s.Family.ExpiresAt)
	}
	// Only a hash of the secret is stored.
	tk, _ := parseToken(s.Value)
	stored, _, err := e.st.TokenByID(context.Background(), tk.id)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stored.SecretHash, tk.secret) || !bytes.Equal(stored.SecretHash, hashSecret(tk.secret)) {
		t.Error("stored secret is not its hash")
	}
	// Two logins are two families.
	if s2 := e.start(t); s2.Family.ID == s.Family.ID || s2.Value == s.Value {
		t.Error("second Start reused the family or token")
	}
}

func TestCheckRotation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rot     Rotation
		advance time.Duration
		rotates bool
	}{
		{"if due, fresh", RotateIfDue, 0, false},
		{"if due, just before", RotateIfDue, 15*time.Minute - time.Millisecond, false},
		{"if due, at interval", RotateIfDue, 15 * time.Minute, true},
		{"if due, later", RotateIfDue, 3 * time.Hour, true},
		{"always, fresh", RotateAlways, 0, true},
		{"never, overdue", RotateNever, 3 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testConfig)
			s := e.start(t)
			e.clock.Advance(tt.advance)
			got := mustCheck(t, e, s.Value, tt.rot)
			if got.UserID != e.user.ID || got.Family.ID != s.Family.ID {
				t.Fatalf("Check = %+v", got)
			}
			if (got.Value != "") != tt.rotates {
				t.Fatalf("rotated = %v, want %v", got.Value != "", tt.rotates)
			}
			if !tt.rotates {
				// The token is unchanged and keeps working.
				mustCheck(t, e, s.Value, RotateNever)
				return
			}
			// The successor is the derived one and works; it is not due yet.
			cur, _ := parseToken(s.Value)
			if want := successor(e.m.key, cur).String(); got.Value != want {
				t.Errorf("successor = %q, want derived %q", got.Value, want)
			}
			if next := mustCheck(t, e, got.Value, RotateIfDue); next.Value != "" {
				t.Error("successor rotated at once")
			}
			tk, _ := parseToken(got.Value)
			stored, _, err := e.st.TokenByID(context.Background(), tk.id)
			if err != nil || !stored.CreatedAt.Equal(e.clock.Now()) {
				t.Errorf("successor row = %+v, %v", stored, err)
			}
		})
	}
}

func TestCheckGraceAndReuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("previous within grace maps to the successor", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testConfig)
		s := e.start(t)
		e.clock.Advance(16 * time.Minute)
		next := mustCheck(t, e, s.Value, RotateIfDue).Value
		for _, d := range []time.Duration{0, 5 * time.Second, 5 * time.Second} {
			e.clock.Advance(d)
			got := mustCheck(t, e, s.Value, RotateIfDue)
			if got.Value != next {
				t.Fatalf("grace check after %v gave %q, want %q", d, got.Value, next)
			}
		}
		// The successor itself still works after the grace requests.
		if got := mustCheck(t, e, next, RotateIfDue); got.Family.ID != s.Family.ID {
			t.Errorf("successor family = %q", got.Family.ID)
		}
	})
	t.Run("previous after grace revokes the family", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testConfig)
		s := e.start(t)
		e.clock.Advance(16 * time.Minute)
		next := mustCheck(t, e, s.Value, RotateIfDue).Value
		e.clock.Advance(10*time.Second + time.Millisecond)
		if _, err := e.check(t, s.Value, RotateIfDue); !errors.Is(err, ErrReused) {
			t.Fatalf("late reuse: %v, want ErrReused", err)
		}
		if _, err := e.check(t, next, RotateIfDue); !errors.Is(err, ErrRevoked) {
			t.Fatalf("successor after reuse: %v, want ErrRevoked", err)
		}
		if _, err := e.m.FamilyLive(ctx, s.Family.ID); !errors.Is(err, ErrRevoked) {
			t.Errorf("FamilyLive = %v", err)
		}
		// Another login of the same user is untouched.
		other := e.start(t)
		mustCheck(t, e, other.Value, RotateIfDue)
	})
	t.Run("older token within grace revokes the family", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testConfig)
		s := e.start(t)
		t1 := mustCheck(t, e, s.Value, RotateAlways).Value
		t2 := mustCheck(t, e, t1, RotateAlways).Value
		if _, err := e.check(t, s.Value, RotateIfDue); !errors.Is(err, ErrReused) {
			t.Fatalf("two-back token: %v, want ErrReused", err)
		}
		if _, err := e.check(t, t2, RotateIfDue); !errors.Is(err, ErrRevoked) {
			t.Fatalf("current after reuse: %v", err)
		}
	})
	t.Run("wrong secret is invalid and harmless", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testConfig)
		s := e.start(t)
		tk, _ := parseToken(s.Value)
		forged := token{id: tk.id, secret: bytes.Repeat([]byte{9}, secretBytes)}
		if _, err := e.check(t, forged.String(), RotateIfDue); !errors.Is(err, ErrInvalid) {
			t.Fatalf("forged: %v, want ErrInvalid", err)
		}
		mustCheck(t, e, s.Value, RotateIfDue)
	})
	t.Run("garbage and unknown are invalid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testConfig)
		for _, v := range []string{"", "garbage", mustToken(t).String()} {
			if _, err := e.check(t, v, RotateIfDue); !errors.Is(err, ErrInvalid) {
				t.Errorf("Check(%q) = %v, want ErrInvalid", v, err)
			}
		}
	})
}

func TestCheckConcurrentRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig)
	s := e.start(t)
	e.clock.Advance(time.Hour)
	const n = 8
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]Session, n)
		errs    = make([]error, n)
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = e.m.Check(context.Background(), s.Value, RotateIfDue)
		}()
	}
	close(start)
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if results[i].Value == "" || results[i].Value != results[0].Value {
			t.Fatalf("goroutine %d got successor %q, goroutine 0 %q", i, results[i].Value, results[0].Value)
		}
	}
	// Exactly one successor row exists and the family is alive.
	mustCheck(t, e, results[0].Value, RotateIfDue)
	fams, err := e.st.FamiliesByUser(context.Background(), e.user.ID, e.clock.Now())
	if err != nil || len(fams) != 1 {
		t.Fatalf("families = %v, %v", fams, err)
	}
}

func TestCheckExpiry(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testConfig)
		s := e.start(t)
		e.clock.Advance(testConfig.Idle - time.Millisecond)
		mustCheck(t, e, s.Value, RotateNever)
		e.clock.Advance(time.Millisecond)
		if _, err := e.check(t, s.Value, RotateNever); !errors.Is(err, ErrExpired) {
			t.Fatalf("after idle: %v, want ErrExpired", err)
		}
	})
	t.Run("use slides idle", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testConfig)
		v := e.start(t).Value
		for i := 0; i < 3; i++ {
			e.clock.Advance(testConfig.Idle - time.Hour)
			got := mustCheck(t, e, v, RotateIfDue)
			if got.Value != "" {
				v = got.Value
			}
			if !got.ExpiresAt.Equal(e.clock.Now().Add(testConfig.Idle)) {
				t.Fatalf("idle expiry not slid: %v", got.ExpiresAt)
			}
		}
	})
	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testConfig)
		s := e.start(t)
		v := s.Value
		for e.clock.Now().Before(s.Family.ExpiresAt.Add(-6 * 24 * time.Hour)) {
			e.clock.Advance(6 * 24 * time.Hour)
			got := mustCheck(t, e, v, RotateIfDue)
			if got.Value != "" {
				v = got.Value
			}
			if got.ExpiresAt.After(s.Family.ExpiresAt) {
				t.Fatalf("idle expiry %v beyond the absolute %v", got.ExpiresAt, s.Family.ExpiresAt)
			}
		}
		e.clock.Advance(s.Family.ExpiresAt.Sub(e.clock.Now()))
		if _, err := e.check(t, v, RotateIfDue); !errors.Is(err, ErrExpired) {
			t.Fatalf("at the absolute limit: %v, want ErrExpired", err)
		}
	})
}

func TestEndAndRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, testConfig)
	a, b, c := e.start(t), e.start(t), e.start(t)

	if err := e.m.End(ctx, a.Value); err != nil {
		t.Fatal(err)
	}
	if _, err := e.check(t, a.Value, RotateIfDue); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after End: %v, want ErrRevoked", err)
	}
	// Idempotent, and harmless for garbage.
	for _, v := range []string{a.Value, "garbage", mustToken(t).String()} {
		if err := e.m.End(ctx, v); err != nil {
			t.Errorf("End(%q) = %v", v, err)
		}
	}
	n, err := e.m.EndUserSessions(ctx, e.user.ID, c.Family.ID)
	if err != nil || n != 1 {
		t.Fatalf("EndUserSessions = %d, %v; want 1 (b)", n, err)
	}
	if _, err := e.check(t, b.Value, RotateIfDue); !errors.Is(err, ErrRevoked) {
		t.Errorf("b: %v", err)
	}
	mustCheck(t, e, c.Value, RotateIfDue)
	if _, err := e.m.FamilyLive(ctx, c.Family.ID); err != nil {
		t.Errorf("FamilyLive(c) = %v", err)
	}
	if _, err := e.m.FamilyLive(ctx, "nope"); !errors.Is(err, ErrInvalid) {
		t.Errorf("FamilyLive(unknown) = %v", err)
	}
	if err := e.m.EndFamily(ctx, c.Family.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.check(t, c.Value, RotateIfDue); !errors.Is(err, ErrRevoked) {
		t.Errorf("c after EndFamily: %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got := Config{}.withDefaults()
	want := Config{RotateAfter: 15 * time.Minute, Grace: 10 * time.Second, Idle: 7 * 24 * time.Hour, Max: 30 * 24 * time.Hour, TouchEvery: time.Minute}
	if got != want {
		t.Errorf("defaults = %+v", got)
	}
	if c := (Config{RotateAfter: 10 * time.Second}).withDefaults(); c.TouchEvery != 10*time.Second {
		t.Errorf("TouchEvery not capped by RotateAfter: %v", c.TouchEvery)
	}
}
