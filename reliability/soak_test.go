package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// soakState is what the soak's workers share: the posts that exist (for
// readers to pick from), the ones deleted (a 404 for those is expected),
// per-operation latencies and the errors seen.
type soakState struct {
	mu      sync.Mutex
	posts   []int64
	deleted map[int64]bool
	lat     map[string]*latencies
	errs    []string
	nerr    int
}

func (s *soakState) randomPost() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.posts) == 0 {
		return 0
	}
	return s.posts[rand.IntN(len(s.posts))]
}

func (s *soakState) addPost(id int64) {
	s.mu.Lock()
	s.posts = append(s.posts, id)
	s.mu.Unlock()
}

func (s *soakState) deletePost(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted[id] = true
	for i, p := range s.posts {
		if p == id {
			s.posts = append(s.posts[:i], s.posts[i+1:]...)
			break
		}
	}
}

func (s *soakState) wasDeleted(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleted[id]
}

// op records one request: its latency under name, and an error unless the
// status is one of want.
func (s *soakState) op(name string, start time.Time, r *result, err error, want ...int) bool {
	d := time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lat[name]
	if l == nil {
		l = &latencies{}
		s.lat[name] = l
	}
	l.add(d)
	msg := ""
	switch {
	case err != nil:
		msg = err.Error()
	default:
		ok := false
		for _, w := range want {
			ok = ok || r.code == w
		}
		if !ok {
			msg = fmt.Sprintf("status %d", r.code)
		}
	}
	if msg == "" {
		return true
	}
	s.nerr++
	if len(s.errs) < 10 {
		s.errs = append(s.errs, name+": "+msg)
	}
	return false
}

func (s *soakState) fail(name, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nerr++
	if len(s.errs) < 10 {
		s.errs = append(s.errs, name+": "+msg)
	}
}

type soakSample struct {
	at time.Duration
	procStatus
}

// TestSoak runs mixed read/write/sign-in traffic over loopback for
// SOAK_DURATION (default: an 8 s smoke run; make soak runs 10 minutes) and
// fails on any error answer or error log entry, or when threads, open files
// or resident memory grow after warm-up beyond a tolerance.
func TestSoak(t *testing.T) {
	t.Parallel()
	dur := 8 * time.Second
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Second {
			t.Fatalf("SOAK_DURATION=%q: want a duration of at least 5s", v)
		}
		dur = d
	}
	warm := min(max(dur/5, 3*time.Second), dur/2)
	every := max(dur/120, 250*time.Millisecond)
	rotate := max(dur/20, 2*time.Second)
	db := filepath.Join(t.TempDir(), "quire.db")
	srv := startServer(t, db, "--session-rotate", rotate.String(), "--register-limit", "100000",
		"--login-ip-failures", "100000000", "--login-failures", "100000000")

	st := &soakState{deleted: map[int64]bool{}, lat: map[string]*latencies{}}
	authors := make([]*browser, 4)
	for i := range authors {
		authors[i] = author(t, srv.base, fmt.Sprintf("Author%d", i), fmt.Sprintf("author%d@example.com", i))
		for j := range 5 {
			st.addPost(mustCreate(t, authors[i], fmt.Sprintf("seed %d.%d", i, j)))
		}
	}
	cycler := newBrowser(srv.base)
	t.Cleanup(cycler.close)
	if err := cycler.register("Cycler", "cycler@example.com"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	think := func() { ctxSleep(ctx, time.Duration(1+rand.IntN(4))*time.Millisecond) }
	read := func(b *browser, signedIn bool) {
		var (
			path, name string
			id         int64
		)
		switch n := rand.IntN(10); {
		case n < 3:
			path, name = "/", "GET /"
		case n < 6:
			path, name = "/blog", "GET /blog"
		case n < 9:
			if id = st.randomPost(); id == 0 {
				return
			}
			path, name = "/blog/"+strconv.FormatInt(id, 10), "GET /blog/:id"
		default:
			path, name = "/healthz", "GET /healthz"
		}
		start := time.Now()
		r, err := b.get(path)
		if id != 0 && err == nil && r.code == http.StatusNotFound && st.wasDeleted(id) {
			st.op(name, start, r, nil, http.StatusNotFound)
			return
		}
		if st.op(name, start, r, err, http.StatusOK) && signedIn && path != "/healthz" && !navUser(r.body) {
			st.fail(name, "signed out unexpectedly")
		}
	}
	// Authors: two of them in two tabs at once (concurrent requests on one
	// session across rotations), all reading and writing their own posts.
	for i, b := range authors {
		tabs := 1
		if i < 2 {
			tabs = 2
		}
		var mu sync.Mutex
		var own []int64
		for range tabs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					think()
					switch k := rand.IntN(20); {
					case k < 12:
						read(b, true)
					case k < 16:
						mu.Lock()
						full := len(own) >= 10
						mu.Unlock()
						if full {
							soakDelete(st, b, &mu, &own)
							continue
						}
						start := time.Now()
						r, err := b.post("/blog", url.Values{"title": {fmt.Sprintf("a%d n%d", i, n)}, "content": {strings.Repeat("soak text ", 50)}})
						if st.op("POST /blog", start, r, err, http.StatusSeeOther) {
							id, _ := postID(r.location())
							st.addPost(id)
							mu.Lock()
							own = append(own, id)
							mu.Unlock()
						}
					case k < 18:
						mu.Lock()
						var id int64
						if len(own) > 0 {
							id = own[rand.IntN(len(own))]
						}
						mu.Unlock()
						if id == 0 {
							continue
						}
						start := time.Now()
						r, err := b.post(fmt.Sprintf("/blog/%d/edit", id), url.Values{"title": {fmt.Sprintf("a%d n%d edited", i, n)}, "content": {"edited"}})
						if err == nil && r.code == http.StatusNotFound && st.wasDeleted(id) {
							continue // the other tab deleted it
						}
						st.op("POST /blog/:id/edit", start, r, err, http.StatusSeeOther)
					default:
						soakDelete(st, b, &mu, &own)
					}
				}
			}()
		}
	}
	// Anonymous readers.
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := newBrowser(srv.base)
			defer b.close()
			for ctx.Err() == nil {
				think()
				read(b, false)
			}
		}()
	}
	// Sign-in, account page, sign-out cycles, and a failed sign-in now and then.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ctx.Err() == nil; n++ {
			think()
			start := time.Now()
			if _, err := cycler.get("/login"); err != nil {
				st.fail("GET /login", err.Error())
				continue
			}
			if n%5 == 4 {
				r, err := cycler.post("/login", url.Values{"email": {"cycler@example.com"}, "password": {"wrong password"}})
				st.op("POST /login (wrong)", start, r, err, http.StatusUnauthorized)
				continue
			}
			r, err := cycler.post("/login", url.Values{"email": {"cycler@example.com"}, "password": {testPassword}})
			if !st.op("POST /login", start, r, err, http.StatusSeeOther) {
				continue
			}
			start = time.Now()
			r, err = cycler.get("/account")
			st.op("GET /account", start, r, err, http.StatusOK)
			start = time.Now()
			r, err = cycler.post("/logout", nil)
			st.op("POST /logout", start, r, err, http.StatusSeeOther)
		}
	}()

	// Sample the process after warm-up.
	var samples []soakSample
	began := time.Now()
	first, err := srv.status()
	if err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		ctxSleep(ctx, every)
		if ctx.Err() != nil {
			break
		}
		ps, err := srv.status()
		if err != nil {
			t.Fatalf("read /proc: %v", err)
		}
		if at := time.Since(began); at >= warm {
			samples = append(samples, soakSample{at: at, procStatus: ps})
		}
	}
	wg.Wait()
	last, _ := srv.status()

	// Figures.
	names := make([]string, 0, len(st.lat))
	total := 0
	for name, l := range st.lat {
		names = append(names, name)
		l.mu.Lock()
		total += len(l.d)
		l.mu.Unlock()
	}
	sort.Strings(names)
	t.Logf("soak: %v of mixed traffic (warm-up %v, sample every %v, token rotation every %v): %d requests, %.0f/s, %d errors",
		dur, warm, every, rotate, total, float64(total)/dur.Seconds(), st.nerr)
	for _, name := range names {
		t.Logf("  %-22s %v", name, st.lat[name])
	}
	if len(samples) < 6 {
		t.Fatalf("only %d samples after warm-up", len(samples))
	}
	third := len(samples) / 3
	head, tailS := median(samples[:third]), median(samples[len(samples)-third:])
	peak := soakSample{}
	for _, s := range samples {
		peak.Threads, peak.OpenFiles = max(peak.Threads, s.Threads), max(peak.OpenFiles, s.OpenFiles)
		peak.RSSKiB = max(peak.RSSKiB, s.RSSKiB)
	}
	t.Logf("  at start:           threads %3d, open files %3d, RSS %4d MiB", first.Threads, first.OpenFiles, first.RSSKiB/1024)
	t.Logf("  after warm-up (median of first third): threads %3d, open files %3d, RSS %4d MiB", head.Threads, head.OpenFiles, head.RSSKiB/1024)
	t.Logf("  at the end (median of last third):    threads %3d, open files %3d, RSS %4d MiB", tailS.Threads, tailS.OpenFiles, tailS.RSSKiB/1024)
	t.Logf("  peak:               threads %3d, open files %3d, RSS %4d MiB, VmHWM %d MiB; %d samples",
		peak.Threads, peak.OpenFiles, peak.RSSKiB/1024, last.HWMKiB/1024, len(samples))
	if fi, err := os.Stat(db); err == nil {
		wal, _ := os.Stat(db + "-wal")
		walSize := int64(0)
		if wal != nil {
			walSize = wal.Size()
		}
		t.Logf("  database: %d KiB + WAL %d KiB; %d posts live", fi.Size()/1024, walSize/1024, len(st.posts))
	}

	if st.nerr > 0 {
		t.Errorf("%d errors, first: %v", st.nerr, st.errs)
	}
	if n := srv.log.errorCount(); n > 0 {
		t.Errorf("%d error entries in the server log", n)
	}
	// Tolerances: a few descriptors or threads come and go with connection
	// churn and blocking syscalls; memory may settle a little higher as the
	// heap finds its size. Steady growth beyond these is a leak.
	if tailS.OpenFiles > head.OpenFiles+10 {
		t.Errorf("open files grew from %d to %d", head.OpenFiles, tailS.OpenFiles)
	}
	if tailS.Threads > head.Threads+8 {
		t.Errorf("threads grew from %d to %d", head.Threads, tailS.Threads)
	}
	if tailS.RSSKiB > head.RSSKiB*13/10+20*1024 {
		t.Errorf("RSS grew from %d MiB to %d MiB", head.RSSKiB/1024, tailS.RSSKiB/1024)
	}
}

// soakDelete deletes the oldest of an author's own posts.
func soakDelete(st *soakState, b *browser, mu *sync.Mutex, own *[]int64) {
	mu.Lock()
	if len(*own) == 0 {
		mu.Unlock()
		return
	}
	id := (*own)[0]
	*own = (*own)[1:]
	mu.Unlock()
	st.deletePost(id)
	start := time.Now()
	r, err := b.post(fmt.Sprintf("/blog/%d/delete", id), nil)
	st.op("POST /blog/:id/delete", start, r, err, http.StatusSeeOther)
}

// median returns the per-field median of samples.
func median(samples []soakSample) soakSample {
	pick := func(f func(soakSample) int) int {
		v := make([]int, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		sort.Ints(v)
		return v[len(v)/2]
	}
	var m soakSample
	m.Threads = pick(func(s soakSample) int { return s.Threads })
	m.OpenFiles = pick(func(s soakSample) int { return s.OpenFiles })
	m.RSSKiB = pick(func(s soakSample) int { return s.RSSKiB })
	return m
}
