package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// floodCounts tallies the answers of one flood.
type floodCounts struct {
	byCode sync.Map // int -> *atomic.Int64
	errs   atomic.Int64
}

func (f *floodCounts) add(r *result, err error) {
	if err != nil {
		f.errs.Add(1)
		return
	}
	v, _ := f.byCode.LoadOrStore(r.code, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (f *floodCounts) get(code int) int64 {
	v, ok := f.byCode.Load(code)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (f *floodCounts) String() string {
	s := ""
	f.byCode.Range(func(k, v any) bool {
		s += fmt.Sprintf("%d:%d ", k, v.(*atomic.Int64).Load())
		return true
	})
	return s + fmt.Sprintf("errors:%d", f.errs.Load())
}

// TestLoginAndRegistrationFloods floods sign-in and registration from one
// address and from many (X-Forwarded-For through a trusted proxy): the
// floods get 429, signed-in readers keep getting /blog (latency is logged,
// not asserted) and memory stays bounded.
func TestLoginAndRegistrationFloods(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "quire.db")
	srv := startServer(t, db, "--trusted-proxies", "127.0.0.1", "--login-failures", "5", "--login-ip-failures", "20",
		"--register-limit", "3", "--register-window", "10m")
	newAt := func(ip string) *browser {
		b := newBrowser(srv.base)
		b.xff = ip
		t.Cleanup(b.close)
		return b
	}
	writer := newAt("10.0.0.1")
	if err := writer.register("Ada", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := writer.login("ada@example.com"); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		mustCreate(t, writer, fmt.Sprintf("post %d", i))
	}
	victim := newAt("10.0.0.2")
	if err := victim.register("Vic", "victim@example.com"); err != nil {
		t.Fatal(err)
	}
	readers := make([]*browser, 3)
	for i := range readers {
		readers[i] = newAt(fmt.Sprintf("10.0.1.%d", i+1))
		if err := readers[i].register("Reader", fmt.Sprintf("reader%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
		if err := readers[i].login(fmt.Sprintf("reader%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}

	// Signed-in readers for the whole test.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		phase     atomic.Value // *latencies of the current phase
		readerBad atomic.Int64
		rwg       sync.WaitGroup
	)
	phase.Store(&latencies{})
	for _, b := range readers {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				r, err := b.get("/blog")
				if err != nil || r.code != http.StatusOK || !navUser(r.body) {
					readerBad.Add(1)
				} else {
					phase.Load().(*latencies).add(time.Since(start))
				}
				ctxSleep(ctx, 5*time.Millisecond)
			}
		}()
	}
	var peakHWM atomic.Int64
	sampleMem := func() {
		if st, err := srv.status(); err == nil && int64(st.HWMKiB) > peakHWM.Load() {
			peakHWM.Store(int64(st.HWMKiB))
		}
	}

	time.Sleep(time.Second)
	baseline := phase.Load().(*latencies)
	phase.Store(&latencies{})

	// flood runs workers until d passes; each gets its own browser with a
	// CSRF token from the login page.
	flood := func(d time.Duration, workers int, ip func() string, send func(b *browser, n int) (*result, error)) *floodCounts {
		counts := &floodCounts{}
		fctx, fcancel := context.WithTimeout(ctx, d)
		defer fcancel()
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := newBrowser(srv.base)
				defer b.close()
				b.xff = ip()
				if _, err := b.get("/login"); err != nil {
					counts.add(nil, err)
					return
				}
				for n := 0; fctx.Err() == nil; n++ {
					b.xff = ip()
					r, err := send(b, n)
					counts.add(r, err)
				}
			}()
		}
		for fctx.Err() == nil {
			sampleMem()
			ctxSleep(fctx, 200*time.Millisecond)
		}
		wg.Wait()
		return counts
	}
	var seq atomic.Int64
	wrongLogin := func(email func() string) func(b *browser, n int) (*result, error) {
		return func(b *browser, n int) (*result, error) {
			return b.post("/login", url.Values{"email": {email()}, "password": {"not the password"}})
		}
	}
	registration := func(b *browser, n int) (*result, error) {
		e := fmt.Sprintf("flood%d@example.com", seq.Add(1))
		return b.post("/register", url.Values{"first_name": {"F"}, "last_name": {"L"}, "email": {e}, "password": {testPassword}})
	}
	oneIP := func() string { return "203.0.113.7" }
	randomIP := func() string { return fmt.Sprintf("198.18.%d.%d", rand.IntN(256), 1+rand.IntN(254)) }
	fewIPs := func() string { return fmt.Sprintf("192.0.2.%d", 1+rand.IntN(12)) }
	randomEmail := func() string { return fmt.Sprintf("nobody%d@example.com", rand.IntN(1_000_000)) }

	type phaseResult struct {
		name   string
		counts *floodCounts
		lat    *latencies
	}
	var results []phaseResult
	run := func(name string, workers int, ip func() string, send func(*browser, int) (*result, error)) {
		lat := &latencies{}
		phase.Store(lat)
		c := flood(3*time.Second, workers, ip, send)
		results = append(results, phaseResult{name: name, counts: c, lat: lat})
	}
	run("login, one address, random accounts", 8, oneIP, wrongLogin(randomEmail))
	run("login, many addresses, one account", 8, randomIP, wrongLogin(func() string { return "victim@example.com" }))
	run("registration, one address", 4, func() string { return "203.0.113.9" }, registration)
	run("registration, 12 addresses", 4, fewIPs, registration)
	cancel()
	rwg.Wait()
	sampleMem()

	t.Logf("GET /blog for signed-in readers before the floods: %v", baseline)
	for _, p := range results {
		t.Logf("%s: answers %v; readers' GET /blog during it: %v", p.name, p.counts, p.lat)
		if p.counts.get(http.StatusTooManyRequests) == 0 {
			t.Errorf("%s: no 429", p.name)
		}
		for _, code := range []int{500, 502, 503, 504} {
			if n := p.counts.get(code); n > 0 {
				t.Errorf("%s: %d answers with %d", p.name, n, code)
			}
		}
		if n := p.counts.errs.Load(); n > 0 {
			t.Errorf("%s: %d connection errors", p.name, n)
		}
	}
	if n := readerBad.Load(); n > 0 {
		t.Errorf("signed-in readers got %d bad answers during the floods", n)
	}
	const limitMiB = 300
	hwm := peakHWM.Load() / 1024
	t.Logf("peak resident memory (VmHWM) %d MiB (limit %d MiB)", hwm, limitMiB)
	if hwm == 0 || hwm > limitMiB {
		t.Errorf("VmHWM = %d MiB", hwm)
	}
	if n := srv.log.errorCount(); n > 0 {
		t.Errorf("%d error entries in the log", n)
	}
}

// navUser reports whether a page shows a signed-in user in the nav.
func navUser(body string) bool { return navUserRe.MatchString(body) }

var navUserRe = regexp.MustCompile(`class="nav-user">[^<]+</a>`)
