package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestAvatars(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "pic@example.com", RoleAuthor)
		other := mustUser(t, s, "other@example.com", RoleAuthor)

		if _, err := s.Avatar(ctx, u.ID, AvatarSmall); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Avatar before upload: %v, want ErrNotFound", err)
		}
		if _, err := s.SetAvatar(ctx, "no-such-user", "image/png", []byte{1}, []byte{2}, at(0)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetAvatar(unknown user) = %v, want ErrNotFound", err)
		}

		small, large := []byte("small-png-bytes"), []byte("large-png-bytes-with-more")
		v1, err := s.SetAvatar(ctx, u.ID, "image/png", small, large, at(0))
		if err != nil {
			t.Fatal(err)
		}
		if v1 < at(0).UnixMilli() {
			t.Errorf("first version %d, want at least the upload time %d", v1, at(0).UnixMilli())
		}
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || got.AvatarVersion != v1 || !got.UpdatedAt.Equal(at(0)) {
			t.Fatalf("user after upload: version %d updated %v (%v); want %d, %v", got.AvatarVersion, got.UpdatedAt, err, v1, at(0))
		}
		tests := []struct {
			size int
			want []byte
		}{{AvatarSmall, small}, {AvatarLarge, large}}
		for _, tt := range tests {
			img, err := s.Avatar(ctx, u.ID, tt.size)
			if err != nil {
				t.Fatalf("Avatar(%d): %v", tt.size, err)
			}
			if !bytes.Equal(img.Data, tt.want) || img.Version != v1 || img.ContentType != "image/png" || !img.UpdatedAt.Equal(at(0)) {
				t.Errorf("Avatar(%d) = %q v%d %s %v", tt.size, img.Data, img.Version, img.ContentType, img.UpdatedAt)
			}
		}
		for _, size := range []int{0, 100, 128, -64} {
			if _, err := s.Avatar(ctx, u.ID, size); !errors.Is(err, ErrNotFound) {
				t.Errorf("Avatar(size %d) = %v, want ErrNotFound", size, err)
			}
		}
		if _, err := s.Avatar(ctx, other.ID, AvatarSmall); !errors.Is(err, ErrNotFound) {
			t.Errorf("another user's avatar leaked: %v", err)
		}

		// A replacement bumps the version even when the clock has not moved.
		v2, err := s.SetAvatar(ctx, u.ID, "image/jpeg", []byte("s2"), []byte("l2"), at(0))
		if err != nil || v2 <= v1 {
			t.Fatalf("second upload version %d (%v), want > %d", v2, err, v1)
		}
		if img, err := s.Avatar(ctx, u.ID, AvatarLarge); err != nil || string(img.Data) != "l2" || img.ContentType != "image/jpeg" || img.Version != v2 {
			t.Fatalf("after replace: %+v, %v", img, err)
		}

		if err := s.RemoveAvatar(ctx, u.ID, at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.UserByID(ctx, u.ID); got.AvatarVersion != 0 {
			t.Errorf("version after remove = %d, want 0", got.AvatarVersion)
		}
		if _, err := s.Avatar(ctx, u.ID, AvatarSmall); !errors.Is(err, ErrNotFound) {
			t.Errorf("Avatar after remove = %v, want ErrNotFound", err)
		}
		if err := s.RemoveAvatar(ctx, u.ID, at(time.Minute)); err != nil {
			t.Errorf("removing twice: %v", err)
		}
		if err := s.RemoveAvatar(ctx, "no-such-user", at(0)); !errors.Is(err, ErrNotFound) {
			t.Errorf("RemoveAvatar(unknown) = %v, want ErrNotFound", err)
		}

		// A later upload never reuses an earlier version (cached URLs).
		v3, err := s.SetAvatar(ctx, u.ID, "image/png", small, large, at(2*time.Minute))
		if err != nil || v3 <= v2 {
			t.Fatalf("upload after remove: version %d (%v), want > %d", v3, err, v2)
		}

		// The avatar goes with its user.
		if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM users WHERE id = ?`), u.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM avatars`).Scan(&n); err != nil || n != 0 {
			t.Errorf("avatars left after the user was deleted: %d (%v)", n, err)
		}
	})
}

// Concurrent uploads for one user each get their own version.
func TestAvatarConcurrentVersions(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		u := mustUser(t, s, "race@example.com", RoleAuthor)
		const n = 8
		versions := make(chan int64, n)
		errs := make(chan error, n)
		for range n {
			go func() {
				v, err := s.SetAvatar(t.Context(), u.ID, "image/png", []byte("s"), []byte("l"), at(0))
				versions <- v
				errs <- err
			}()
		}
		seen := map[int64]bool{}
		var highest int64
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
			v := <-versions
			if seen[v] {
				t.Errorf("version %d handed out twice", v)
			}
			seen[v] = true
			highest = max(highest, v)
		}
		got, err := s.UserByID(t.Context(), u.ID)
		if err != nil || got.AvatarVersion != highest {
			t.Errorf("user version %d (%v), want the highest handed out, %d", got.AvatarVersion, err, highest)
		}
		img, err := s.Avatar(t.Context(), u.ID, AvatarSmall)
		if err != nil || img.Version != highest {
			t.Errorf("stored avatar version %d (%v), want %d", img.Version, err, highest)
		}
	})
}
