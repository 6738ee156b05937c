package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// crashLedger is one writer's view of its posts: what the server
// acknowledged (303) and the one write that was in flight when the process
// died (it may or may not have been committed).
type crashLedger struct {
	acked     map[int64]string // post id -> last acknowledged title
	pendingID int64            // edit in flight (0 = none or a create)
	pending   string           // its title
	attempted map[string]bool  // every title ever sent
	creates   int
	edits     int
}

// TestCrashSafety kills quire with SIGKILL in the middle of concurrent
// creates and edits, several times, and checks after each crash that the
// database is intact and holds every acknowledged write.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	const rounds, writers = 5, 4
	db := filepath.Join(t.TempDir(), "quire.db")
	srv := startServer(t, db, "--register-limit", "100")
	bs := make([]*browser, writers)
	ledgers := make([]*crashLedger, writers)
	for i := range bs {
		bs[i] = author(t, srv.base, fmt.Sprintf("W%d", i), fmt.Sprintf("w%d@example.com", i))
		ledgers[i] = &crashLedger{acked: map[int64]string{}, attempted: map[string]bool{}}
	}
	verified, maybeLanded := 0, 0
	for round := range rounds {
		if round > 0 {
			srv = startServer(t, db, "--register-limit", "100")
			for _, b := range bs {
				b.base = srv.base
			}
			// Acknowledged posts of earlier rounds are served after restart.
			for _, l := range ledgers {
				for id, title := range l.acked {
					r, err := bs[0].get("/blog/" + strconv.FormatInt(id, 10))
					if err != nil || r.code != http.StatusOK || !strings.Contains(r.body, title) {
						t.Fatalf("round %d: post %d (%q) not served after restart: %v", round, id, title, err)
					}
					break
				}
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		var acks atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := crashWriter(ctx, bs[w], ledgers[w], w, round, &acks); err != nil {
					errs <- err
				}
			}()
		}
		// Kill once writes are flowing, at a random moment.
		if !waitFor(20*time.Second, func() bool { return acks.Load() >= 40 }) {
			t.Fatalf("round %d: only %d writes acknowledged in 20s", round, acks.Load())
		}
		time.Sleep(time.Duration(rand.IntN(250)) * time.Millisecond)
		srv.kill()
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}

		// With the process dead, the file must be consistent and complete.
		sdb := openSQLite(t, db)
		integrity(t, sdb)
		stored := titles(t, sdb)
		_ = sdb.Close()
		all := map[string]bool{}
		for w, l := range ledgers {
			for title := range l.attempted {
				all[title] = true
			}
			for id, title := range l.acked {
				got, ok := stored[id]
				switch {
				case !ok:
					t.Fatalf("round %d: writer %d: acknowledged post %d (%q) lost", round, w, id, title)
				case got == title:
					verified++
				case id == l.pendingID && got == l.pending:
					// The edit in flight was committed; it is the truth now.
					l.acked[id] = got
					verified++
					maybeLanded++
				default:
					t.Fatalf("round %d: writer %d: post %d is %q, want %q (or the in-flight %q)", round, w, id, got, title, l.pending)
				}
			}
			l.pendingID, l.pending = 0, ""
		}
		for id, title := range stored {
			if !all[title] {
				t.Fatalf("round %d: post %d has a title no writer sent: %q", round, id, title)
			}
		}
		t.Logf("round %d: killed after %d acknowledged writes; %d posts on disk, integrity ok", round, acks.Load(), len(stored))
	}
	creates, edits := 0, 0
	for _, l := range ledgers {
		creates += l.creates
		edits += l.edits
	}
	t.Logf("%d SIGKILL crashes survived; %d writes acknowledged (%d creates, %d edits), all present after every crash (%d post checks); %d unacknowledged in-flight edits found committed",
		rounds, creates+edits, creates, edits, verified, maybeLanded)
}

// crashWriter creates and edits its own posts until the server dies. A
// connection error ends it quietly (the kill); any other unexpected answer
// is an error.
func crashWriter(ctx context.Context, b *browser, l *crashLedger, w, round int, acks *atomic.Int64) error {
	ids := make([]int64, 0, len(l.acked))
	for id := range l.acked {
		ids = append(ids, id)
	}
	body := strings.Repeat(fmt.Sprintf("writer %d round %d. ", w, round), 60)
	for n := 0; ctx.Err() == nil; n++ {
		var (
			title, path string
			editID      int64
		)
		if len(ids) < 3 || rand.IntN(2) == 0 {
			title = fmt.Sprintf("w%d r%d create %d", w, round, n)
			path = "/blog"
		} else {
			editID = ids[rand.IntN(len(ids))]
			title = fmt.Sprintf("w%d r%d edit %d of %d", w, round, n, editID)
			path = "/blog/" + strconv.FormatInt(editID, 10) + "/edit"
		}
		l.attempted[title] = true
		l.pendingID, l.pending = editID, title
		r, err := b.post(path, url.Values{"title": {title}, "content": {body}})
		if err != nil {
			if isConnErr(err) {
				return nil
			}
			return fmt.Errorf("writer %d: %s: %w", w, path, err)
		}
		if r.code != http.StatusSeeOther {
			return fmt.Errorf("writer %d: %s = %d\n%.500s", w, path, r.code, r.body)
		}
		id := editID
		if id == 0 {
			var ok bool
			if id, ok = postID(r.location()); !ok {
				return fmt.Errorf("writer %d: create Location %q", w, r.location())
			}
			ids = append(ids, id)
			l.creates++
		} else {
			l.edits++
		}
		l.acked[id] = title
		l.pendingID, l.pending = 0, ""
		acks.Add(1)
	}
	return nil
}
