package store

import (
	"sync"
	"testing"
	"time"
)

func TestRateHit(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		const window = time.Minute
		steps := []struct {
			name      string
			key       string
			at        time.Duration
			hit       bool
			wantCount int
			wantLast  time.Duration // -1 = zero time
		}{
			{"unknown key", "ip:1", 0, false, 0, -1},
			{"first hit", "ip:1", 0, true, 1, 0},
			{"second hit", "ip:1", 10 * time.Second, true, 2, 10 * time.Second},
			{"third hit", "ip:1", 59 * time.Second, true, 3, 59 * time.Second},
			{"get inside window", "ip:1", 59 * time.Second, false, 3, 59 * time.Second},
			{"other key is separate", "ip:2", 59 * time.Second, true, 1, 59 * time.Second},
			{"get once window elapsed", "ip:1", 60 * time.Second, false, 0, 59 * time.Second},
			{"hit after window restarts", "ip:1", 61 * time.Second, true, 1, 61 * time.Second},
			{"new window counts on", "ip:1", 90 * time.Second, true, 2, 90 * time.Second},
			{"new window ends at its own start+window", "ip:1", 121 * time.Second, true, 1, 121 * time.Second},
		}
		for _, st := range steps {
			now := at(st.at)
			if st.hit {
				n, err := s.RateHit(ctx, st.key, now, window)
				if err != nil || n != st.wantCount {
					t.Fatalf("%s: RateHit = %d, %v; want %d", st.name, n, err, st.wantCount)
				}
			}
			n, last, err := s.RateGet(ctx, st.key, now, window)
			wantLast := time.Time{}
			if st.wantLast >= 0 {
				wantLast = at(st.wantLast)
			}
			if err != nil || n != st.wantCount || !last.Equal(wantLast) {
				t.Fatalf("%s: RateGet = %d, %v, %v; want %d, %v", st.name, n, last, err, st.wantCount, wantLast)
			}
		}

		if err := s.RateReset(ctx, "ip:1"); err != nil {
			t.Fatal(err)
		}
		if n, _, err := s.RateGet(ctx, "ip:1", at(121*time.Second), window); err != nil || n != 0 {
			t.Fatalf("after reset: %d, %v", n, err)
		}
		if err := s.RateReset(ctx, "never-seen"); err != nil {
			t.Fatalf("reset of unknown key: %v", err)
		}

		// ip:2 was last hit at 59s.
		if n, err := s.SweepRates(ctx, at(59*time.Second)); err != nil || n != 0 {
			t.Fatalf("SweepRates(59s) = %d, %v; want 0", n, err)
		}
		if n, err := s.SweepRates(ctx, at(60*time.Second)); err != nil || n != 1 {
			t.Fatalf("SweepRates(60s) = %d, %v; want 1", n, err)
		}
	})
}

// TestRateHitConcurrent checks no hit is lost when many requests (or
// instances) count the same key at once.
func TestRateHitConcurrent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		const hits = 20
		var wg sync.WaitGroup
		seen := make([]int, hits)
		for i := range hits {
			wg.Go(func() {
				n, err := s.RateHit(t.Context(), "login:x", at(0), time.Hour)
				if err != nil {
					t.Error(err)
				}
				seen[i] = n
			})
		}
		wg.Wait()
		counts := map[int]bool{}
		for _, n := range seen {
			counts[n] = true
		}
		if len(counts) != hits {
			t.Errorf("counts returned %v, want each of 1..%d once", seen, hits)
		}
		if n, _, err := s.RateGet(t.Context(), "login:x", at(0), time.Hour); err != nil || n != hits {
			t.Fatalf("RateGet = %d, %v; want %d", n, err, hits)
		}
	})
}
