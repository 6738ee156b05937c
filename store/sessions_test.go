package store

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// newFamily returns a family for u live for an hour from at(0) and its
// first token.
func newFamily(u User, id string) (SessionFamily, SessionToken) {
	f := SessionFamily{ID: id, UserID: u.ID, Kind: "web", CreatedAt: at(0), LastSeenAt: at(0),
		IdleExpiresAt: at(30 * time.Minute), ExpiresAt: at(time.Hour), UserAgent: "test-agent", IP: "192.0.2.1"}
	tok := SessionToken{ID: id + "-t0", FamilyID: id, SecretHash: []byte("hash-" + id), CreatedAt: at(0)}
	return f, tok
}

func TestSessionsCreateAndLookup(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "s@example.com", RoleAuthor)
		f, tok := newFamily(u, "fam1")
		if err := s.CreateFamily(ctx, f, tok); err != nil {
			t.Fatal(err)
		}
		gotTok, gotFam, err := s.TokenByID(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if gotFam != f {
			t.Errorf("family = %+v, want %+v", gotFam, f)
		}
		if gotTok.ID != tok.ID || gotTok.FamilyID != f.ID || !bytes.Equal(gotTok.SecretHash, tok.SecretHash) ||
			!gotTok.CreatedAt.Equal(tok.CreatedAt) || !gotTok.RotatedAt.IsZero() || gotTok.ReplacedBy != "" {
			t.Errorf("token = %+v, want %+v", gotTok, tok)
		}
		if byID, err := s.FamilyByID(ctx, f.ID); err != nil || byID != f {
			t.Errorf("FamilyByID = %+v, %v", byID, err)
		}
		if _, _, err := s.TokenByID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("TokenByID(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := s.FamilyByID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("FamilyByID(unknown) = %v, want ErrNotFound", err)
		}

		// Both rows or neither: a token id clash rolls the family back.
		f2, _ := newFamily(u, "fam2")
		if err := s.CreateFamily(ctx, f2, SessionToken{ID: tok.ID, SecretHash: []byte("x"), CreatedAt: at(0)}); err == nil {
			t.Fatal("CreateFamily with a duplicate token id succeeded")
		}
		if _, err := s.FamilyByID(ctx, f2.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("family left behind by failed CreateFamily: %v", err)
		}
		if err := s.CreateFamily(ctx, f2, SessionToken{ID: "x", FamilyID: "other", SecretHash: []byte("x"), CreatedAt: at(0)}); err == nil {
			t.Fatal("CreateFamily accepted a token of another family")
		}
	})
}

func TestRotateToken(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "r@example.com", RoleAuthor)
		f, tok := newFamily(u, "fam")
		if err := s.CreateFamily(ctx, f, tok); err != nil {
			t.Fatal(err)
		}

		const racers = 8
		errs := make([]error, racers)
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i := range racers {
			wg.Go(func() {
				<-start
				next := SessionToken{ID: fmt.Sprintf("next-%d", i), SecretHash: []byte{byte(i)}, CreatedAt: at(time.Minute)}
				errs[i] = s.RotateToken(ctx, tok.ID, next, at(time.Minute))
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("racers %d and %d both rotated the token", winner, i)
				}
				winner = i
			case !errors.Is(err, ErrConflict):
				t.Fatalf("racer %d: %v, want nil or ErrConflict", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no racer rotated the token")
		}
		old, _, err := s.TokenByID(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantNext := fmt.Sprintf("next-%d", winner)
		if old.ReplacedBy != wantNext || !old.RotatedAt.Equal(at(time.Minute)) {
			t.Fatalf("old token after rotation = %+v, want replaced by %s", old, wantNext)
		}
		next, fam, err := s.TokenByID(ctx, wantNext)
		if err != nil || next.FamilyID != f.ID || fam.ID != f.ID || !next.RotatedAt.IsZero() {
			t.Fatalf("winner token = %+v in %+v, %v", next, fam, err)
		}
		for i := range racers {
			if i == winner {
				continue
			}
			if _, _, err := s.TokenByID(ctx, fmt.Sprintf("next-%d", i)); !errors.Is(err, ErrNotFound) {
				t.Errorf("loser %d's token was stored: %v", i, err)
			}
		}

		// The chain goes on from the new token, never from the old one.
		if err := s.RotateToken(ctx, tok.ID, SessionToken{ID: "late", SecretHash: []byte("l")}, at(2*time.Minute)); !errors.Is(err, ErrConflict) {
			t.Errorf("rotating a retired token = %v, want ErrConflict", err)
		}
		if err := s.RotateToken(ctx, wantNext, SessionToken{ID: "third", SecretHash: []byte("3")}, at(2*time.Minute)); err != nil {
			t.Fatalf("rotating the current token: %v", err)
		}
		third, _, err := s.TokenByID(ctx, "third")
		if err != nil || !third.CreatedAt.Equal(at(2*time.Minute)) {
			t.Errorf("third token = %+v, %v; CreatedAt defaults to now", third, err)
		}
		if err := s.RotateToken(ctx, "third", SessionToken{ID: "wrong", FamilyID: "elsewhere", SecretHash: []byte("w")}, at(3*time.Minute)); err == nil || errors.Is(err, ErrConflict) {
			t.Errorf("successor naming another family = %v, want an error", err)
		}
		if cur, _, _ := s.TokenByID(ctx, "third"); !cur.RotatedAt.IsZero() {
			t.Error("failed rotation left the token rotated (not rolled back)")
		}
	})
}

func TestSessionsRevokeTouchList(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "l@example.com", RoleAuthor)
		other := mustUser(t, s, "o@example.com", RoleAuthor)
		now := at(10 * time.Minute)
		fams := map[string]SessionFamily{}
		add := func(owner User, id string, edit func(*SessionFamily)) {
			f, tok := newFamily(owner, id)
			edit(&f)
			if err := s.CreateFamily(ctx, f, tok); err != nil {
				t.Fatal(err)
			}
			fams[id] = f
		}
		add(u, "live-old", func(f *SessionFamily) { f.LastSeenAt = at(time.Minute) })
		add(u, "live-new", func(f *SessionFamily) { f.LastSeenAt = at(5 * time.Minute) })
		add(u, "idle-expired", func(f *SessionFamily) { f.IdleExpiresAt = now })
		add(u, "abs-expired", func(f *SessionFamily) { f.ExpiresAt = at(9 * time.Minute) })
		add(u, "revoked", func(f *SessionFamily) { f.RevokedAt = at(2 * time.Minute) })
		add(other, "other-user", func(*SessionFamily) {})

		ids := func() string {
			t.Helper()
			list, err := s.FamiliesByUser(ctx, u.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, f := range list {
				out = append(out, f.ID)
			}
			return fmt.Sprint(out)
		}
		if got, want := ids(), "[live-new live-old]"; got != want {
			t.Fatalf("FamiliesByUser = %s, want %s", got, want)
		}

		// Touch moves live-old to the front and slides its idle expiry.
		if err := s.TouchFamily(ctx, "live-old", now, now.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, want := ids(), "[live-old live-new]"; got != want {
			t.Fatalf("after touch: %s, want %s", got, want)
		}
		touched, _ := s.FamilyByID(ctx, "live-old")
		if !touched.LastSeenAt.Equal(now) || !touched.IdleExpiresAt.Equal(now.Add(30*time.Minute)) {
			t.Errorf("touched family = %+v", touched)
		}
		for _, id := range []string{"revoked", "missing"} {
			if err := s.TouchFamily(ctx, id, now, now.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
				t.Errorf("TouchFamily(%s) = %v, want ErrNotFound", id, err)
			}
		}
		if f, _ := s.FamilyByID(ctx, "revoked"); !f.LastSeenAt.Equal(fams["revoked"].LastSeenAt) {
			t.Error("TouchFamily changed a revoked family")
		}

		// Revoke one, then idempotently again; unknown is ErrNotFound.
		if err := s.RevokeFamily(ctx, "live-new", now); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeFamily(ctx, "live-new", now.Add(time.Minute)); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		if f, _ := s.FamilyByID(ctx, "live-new"); !f.RevokedAt.Equal(now) {
			t.Errorf("RevokedAt = %v, want the first revocation %v", f.RevokedAt, now)
		}
		if err := s.RevokeFamily(ctx, "missing", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("RevokeFamily(missing) = %v, want ErrNotFound", err)
		}
		if got, want := ids(), "[live-old]"; got != want {
			t.Fatalf("after revoke: %s, want %s", got, want)
		}

		// Sign out everywhere except live-old: only the not yet revoked
		// families of this user count.
		n, err := s.RevokeUserFamilies(ctx, u.ID, "live-old", now)
		if err != nil || n != 2 { // idle-expired and abs-expired
			t.Fatalf("RevokeUserFamilies except live-old = %d, %v; want 2", n, err)
		}
		if got, want := ids(), "[live-old]"; got != want {
			t.Fatalf("after revoke-others: %s, want %s", got, want)
		}
		if n, err := s.RevokeUserFamilies(ctx, u.ID, "", now); err != nil || n != 1 {
			t.Fatalf("RevokeUserFamilies all = %d, %v; want 1", n, err)
		}
		if got := ids(); got != "[]" {
			t.Fatalf("after revoke-all: %s", got)
		}
		if f, _ := s.FamilyByID(ctx, "other-user"); !f.RevokedAt.IsZero() {
			t.Error("another user's family was revoked")
		}
	})
}

func TestSweepSessions(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "w@example.com", RoleAuthor)
		now := at(10 * time.Minute)
		cases := []struct {
			id    string
			edit  func(*SessionFamily)
			swept bool
		}{
			{"live", func(*SessionFamily) {}, false},
			{"idle-expired", func(f *SessionFamily) { f.IdleExpiresAt = now.Add(-time.Millisecond) }, true},
			{"idle-at-now", func(f *SessionFamily) { f.IdleExpiresAt = now }, true},
			{"abs-expired", func(f *SessionFamily) { f.ExpiresAt = at(time.Minute) }, true},
			{"revoked-recently", func(f *SessionFamily) { f.RevokedAt = now.Add(-time.Minute) }, false},
			{"revoked-long-ago", func(f *SessionFamily) { f.RevokedAt = at(time.Minute) }, true},
		}
		for _, c := range cases {
			f, tok := newFamily(u, c.id)
			c.edit(&f)
			if err := s.CreateFamily(ctx, f, tok); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.SweepSessions(ctx, now, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, c := range cases {
			_, err := s.FamilyByID(ctx, c.id)
			gone := errors.Is(err, ErrNotFound)
			if gone != c.swept {
				t.Errorf("%s: swept = %v, want %v (%v)", c.id, gone, c.swept, err)
			}
			// Tokens go with their family (ON DELETE CASCADE).
			_, _, terr := s.TokenByID(ctx, c.id+"-t0")
			var cnt int
			if err := s.r.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM session_tokens WHERE family_id = ?"), c.id).Scan(&cnt); err != nil {
				t.Fatal(err)
			}
			if (cnt == 0) != c.swept || errors.Is(terr, ErrNotFound) != c.swept {
				t.Errorf("%s: %d tokens left after sweep (swept=%v)", c.id, cnt, c.swept)
			}
			if c.swept {
				want++
			}
		}
		if n != want {
			t.Errorf("SweepSessions = %d, want %d", n, want)
		}
		if n, err := s.SweepSessions(ctx, now, 5*time.Minute); err != nil || n != 0 {
			t.Errorf("second sweep = %d, %v; want 0", n, err)
		}
	})
}
