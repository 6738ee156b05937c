// Command quirebench is the harness behind `make bench`: it seeds a fresh
// database through package store, starts the release binary, drives it over
// loopback with wrk (bench/lua/replay.lua) and prints a Markdown report,
// also written to bench/results/<date>.md.
//
// Every knob is a flag with a BENCH_* environment default (see bench/run.sh).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"quire/bench/seed"
	"quire/content"
	"quire/password"
	"quire/session"
	"quire/store"
)

// config is everything a run can be told.
type config struct {
	bin, wrk, script, outDir, workDir string
	posts, users, baseline, tokens    int
	duration                          time.Duration
	threads, conns                    int
	startRuns, rounds                 int
	only                              *regexp.Regexp
	keep                              bool
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envDur(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	if n, err := strconv.Atoi(v); err == nil { // plain seconds, like wrk
		return time.Duration(n) * time.Second
	}
	return def
}

func parseConfig(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("quirebench", flag.ContinueOnError)
	fs.StringVar(&c.bin, "bin", envStr("BENCH_BIN", "bin/quire"), "quire binary to measure (BENCH_BIN)")
	fs.StringVar(&c.wrk, "wrk", envStr("BENCH_WRK", "wrk"), "wrk executable (BENCH_WRK)")
	fs.StringVar(&c.script, "script", envStr("BENCH_SCRIPT", "bench/lua/replay.lua"), "wrk Lua script")
	out, set := os.LookupEnv("BENCH_OUT")
	if !set {
		out = "bench/results"
	}
	fs.StringVar(&c.outDir, "out", out, "directory for the Markdown report (BENCH_OUT; empty = none)")
	fs.StringVar(&c.workDir, "work", os.Getenv("BENCH_WORK"), "directory for databases and logs (BENCH_WORK; default a temp dir)")
	fs.IntVar(&c.posts, "posts", envInt("BENCH_POSTS", 10_000), "posts to seed (BENCH_POSTS)")
	fs.IntVar(&c.users, "users", envInt("BENCH_USERS", 50), "users to seed (BENCH_USERS)")
	fs.IntVar(&c.baseline, "baseline", envInt("BENCH_BASELINE", 10_000), "when -posts is larger, also measure the read scenarios on this many posts in the same run (0 = no)")
	fs.IntVar(&c.tokens, "tokens", envInt("BENCH_TOKENS", 80_000), "one-time session and refresh tokens minted for the rotation and refresh scenarios (BENCH_TOKENS)")
	fs.DurationVar(&c.duration, "duration", envDur("BENCH_DURATION", 10*time.Second), "load per scenario (BENCH_DURATION)")
	fs.IntVar(&c.threads, "threads", envInt("BENCH_THREADS", 2), "wrk threads (BENCH_THREADS)")
	fs.IntVar(&c.conns, "connections", envInt("BENCH_CONNECTIONS", 32), "wrk connections (BENCH_CONNECTIONS)")
	fs.IntVar(&c.startRuns, "start-runs", envInt("BENCH_START_RUNS", 5), "start-up timings to take")
	fs.IntVar(&c.rounds, "rounds", envInt("BENCH_ROUNDS", 2), "passes over the read-only scenarios, interleaved; the best is reported (BENCH_ROUNDS)")
	only := fs.String("only", os.Getenv("BENCH_ONLY"), "regexp: run only scenarios whose key matches (BENCH_ONLY)")
	fs.BoolVar(&c.keep, "keep", os.Getenv("BENCH_KEEP") != "", "keep the work directory (BENCH_KEEP)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return nil, fmt.Errorf("-only: %w", err)
		}
		c.only = re
	}
	if c.users < 2 {
		return nil, errors.New("-users must be at least 2")
	}
	if c.posts < 100 {
		return nil, errors.New("-posts must be at least 100")
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "quirebench:", err)
			os.Exit(1)
		}
	}
}

// logf prints progress to stderr, keeping stdout for the report.
type logf func(format string, args ...any)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	say := logf(func(format string, a ...any) {
		fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
	})
	if _, err := exec.LookPath(cfg.wrk); err != nil {
		return fmt.Errorf("wrk not found (apt-get install -y wrk): %w", err)
	}
	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		return err
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("quire binary: %w (run make build)", err)
	}
	if cfg.workDir == "" {
		if cfg.workDir, err = os.MkdirTemp("", "quirebench-"); err != nil {
			return err
		}
		if !cfg.keep {
			defer os.RemoveAll(cfg.workDir)
		}
	} else if err := os.MkdirAll(cfg.workDir, 0o755); err != nil {
		return err
	}

	rep := &report{cfg: cfg, started: time.Now(), binSize: fi.Size(), cores: runtime.NumCPU(),
		cpu: cpuModel(), goVersion: runtime.Version(), loadBefore: loadAvg()}
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		rep.version = strings.TrimSpace(string(out))
	}

	say("timing argon2id (password.DefaultParams) on this machine")
	rep.hash, rep.hashCPU, rep.hashRuns = timeHash(ctx, 12)
	say("one hash: %s wall (median of %d), %s CPU", rep.hash.Round(10*time.Microsecond), rep.hashRuns,
		rep.hashCPU.Round(10*time.Microsecond))

	// The scale run compares against a small database in the same run.
	var base *site
	if cfg.baseline > 0 && cfg.posts > cfg.baseline {
		if base, err = prepareSite(ctx, cfg, "baseline", cfg.baseline, 0, say); err != nil {
			return err
		}
		rep.baseSeed = base.seedTime
	}
	main, err := prepareSite(ctx, cfg, "main", cfg.posts, cfg.tokens, say)
	if err != nil {
		return err
	}
	rep.mainSeed, rep.mintTime, rep.dbBytes = main.seedTime, main.mintTime, main.dbBytes
	rep.bodyBytes = main.seed.BodyBytes

	say("start-up: %d timed starts on the seeded database", cfg.startRuns)
	for i := 0; i < cfg.startRuns; i++ {
		s, err := startServer(ctx, bin, filepath.Join(cfg.workDir, "startup.log"), main.serveArgs())
		if err != nil {
			return err
		}
		rep.startups = append(rep.startups, s.ready.Sub(s.started))
		if err := s.stop(); err != nil {
			return err
		}
	}

	gen := &loadGen{wrk: cfg.wrk, dir: cfg.workDir, threads: cfg.threads, conns: cfg.conns,
		duration: cfg.duration, timeout: 10 * time.Second, sampleEvery: 50 * time.Millisecond}
	if gen.script, err = filepath.Abs(cfg.script); err != nil {
		return err
	}

	if base != nil {
		say("baseline: read scenarios on %d posts", cfg.baseline)
		res, _, err := measureSite(ctx, cfg, gen, bin, base, true, say)
		if err != nil {
			return err
		}
		rep.baseline = res
	}
	res, srv, err := measureSite(ctx, cfg, gen, bin, main, false, say)
	if err != nil {
		return err
	}
	rep.results = res
	rep.idleRSS, rep.idleAfterRSS, rep.hwm, rep.logErrors = srv.idleRSS, srv.idleAfterRSS, srv.hwm, srv.logErrors
	rep.logCanceled, rep.logSamples, rep.ceiling = srv.logCanceled, srv.logSamples, srv.ceiling
	rep.loadAfter = loadAvg()
	rep.finished = time.Now()

	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if cfg.outDir != "" {
		if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
			return err
		}
		name := rep.started.Format("2006-01-02")
		if cfg.posts != 10_000 {
			name += fmt.Sprintf("-%dposts", cfg.posts)
		}
		path := filepath.Join(cfg.outDir, name+".md")
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			return err
		}
		say("report written to %s", path)
	}
	return nil
}

// timeHash measures one argon2id hash with the production parameters: the
// median wall time of n hashes one after another, and their mean CPU time.
func timeHash(ctx context.Context, n int) (wall, cpu time.Duration, runs int) {
	h := password.NewHasher(password.DefaultParams(), 1)
	_, _ = h.Hash(ctx, "warm-up password") // first use pays page faults
	d := make([]time.Duration, 0, n)
	cpu0 := selfCPU()
	for i := 0; i < n; i++ {
		start := time.Now()
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			return 0, 0, 0
		}
		d = append(d, time.Since(start))
	}
	cpu = (selfCPU() - cpu0) / time.Duration(n)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2], cpu, n
}

// hashCeiling is the machine's argon2id throughput: hashes per second with
// one goroutine hashing per CPU for about d. It is measured right before
// the login scenario, in the same conditions: argon2 is memory-bound, and
// hashes running side by side share caches and memory bandwidth, so this is
// lower than CPUs divided by the time of one hash alone.
func hashCeiling(ctx context.Context, d time.Duration) float64 {
	h := password.NewHasher(password.DefaultParams(), 0)
	workers := runtime.NumCPU()
	run := func(d time.Duration) float64 {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			done int
		)
		start := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < d {
					if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
						return
					}
					mu.Lock()
					done++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return float64(done) / time.Since(start).Seconds()
	}
	// Warm up first, as a flooded server is: its heap has grown to hold
	// the hashes' memory, which a fresh process would first fault in.
	run(time.Second)
	return run(d)
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// site is a seeded database and what the scenarios need to know about it.
type site struct {
	name, db           string
	posts              int
	seed               *seed.Result
	rotate, refresh    []string // one-time tokens
	seedTime, mintTime time.Duration
	dbBytes            int64
}

// serveArgs are the flags every measured server gets. Throttling is raised
// so that the login scenario measures hashing rather than the limiter (the
// limiter itself is measured by the reliability tests, not here).
func (s *site) serveArgs() []string {
	return []string{"--db", s.db, "--login-failures", "1000000", "--login-ip-failures", "1000000",
		"--register-limit", "1000000"}
}

// prepareSite seeds a new SQLite database and mints one-time tokens.
func prepareSite(ctx context.Context, cfg *config, name string, posts, tokens int, say logf) (*site, error) {
	s := &site{name: name, db: filepath.Join(cfg.workDir, name+".db"), posts: posts}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(s.db + suffix)
	}
	st, err := store.Open(ctx, s.db, store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	say("%s: seeding %d users and %d posts", name, cfg.users, posts)
	start := time.Now()
	last := time.Now()
	s.seed, err = seed.Seed(ctx, st, content.New(), password.NewHasher(password.DefaultParams(), 0), seed.Options{
		Users: cfg.users, Posts: posts, Seed: 1,
		Progress: func(done, total int) {
			if time.Since(last) > 10*time.Second {
				last = time.Now()
				say("%s: %d/%d posts", name, done, total)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	s.seedTime = time.Since(start)
	say("%s: seeded in %s (render %s, insert %s)", name, s.seedTime.Round(time.Millisecond),
		s.seed.Render.Round(time.Millisecond), s.seed.Insert.Round(time.Millisecond))

	if tokens > 0 {
		start = time.Now()
		key, err := st.Secret(ctx, "session-rotation-key", 32)
		if err != nil {
			return nil, err
		}
		// Sign-ins from an hour ago: with the default 15-minute rotation
		// interval each token is due, so its first use rotates it - exactly
		// a returning visitor's request.
		past := time.Now().Add(-time.Hour)
		mgr := session.NewManager(st, session.Config{}, key, func() time.Time { return past },
			slog.New(slog.DiscardHandler))
		mint := func(kind string) ([]string, error) {
			out := make([]string, 0, tokens)
			for i := 0; i < tokens; i++ {
				u := s.seed.Users[1+i%(len(s.seed.Users)-1)]
				ss, err := mgr.Start(ctx, u.ID, kind, session.Client{UserAgent: "quirebench", IP: "127.0.0.1"})
				if err != nil {
					return nil, err
				}
				out = append(out, ss.Value)
			}
			return out, nil
		}
		say("%s: minting %d web and %d API sessions", name, tokens, tokens)
		if s.rotate, err = mint("web"); err != nil {
			return nil, err
		}
		if s.refresh, err = mint("api"); err != nil {
			return nil, err
		}
		s.mintTime = time.Since(start)
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(s.db + suffix); err == nil {
			s.dbBytes += fi.Size()
		}
	}
	return s, nil
}

// serverFigures are the process-level measurements of the main run.
type serverFigures struct {
	idleRSS, idleAfterRSS, hwm int64
	logErrors, logCanceled     int
	logSamples                 []string
	ceiling                    float64 // argon2id hashes/s, all CPUs
}

// measureSite starts quire on the site's database and runs the scenarios
// (only the read-only ones for a baseline).
func measureSite(ctx context.Context, cfg *config, gen *loadGen, bin string, s *site, baseline bool, say logf) ([]*result, *serverFigures, error) {
	logPath := filepath.Join(cfg.workDir, s.name+"-server.log")
	srv, err := startServer(ctx, bin, logPath, s.serveArgs())
	if err != nil {
		return nil, nil, err
	}
	defer srv.stop()
	fig := &serverFigures{}
	// Idle: started, nothing served yet but the health checks.
	time.Sleep(2 * time.Second)
	fig.idleRSS, _, _ = procStatus(srv.pid())
	gen.serverPID = srv.pid()

	scs, err := buildScenarios(srv.addr, s, baseline)
	if err != nil {
		return nil, nil, err
	}
	// The read-only scenarios (those with a warm-up) run first, in
	// cfg.rounds interleaved passes: other processes on a shared machine
	// only ever slow a run down, so the best pass is reported, the others
	// beside it. The rest run once, writes last.
	var order []*scenario
	for round := 0; round < max(1, cfg.rounds); round++ {
		for _, sc := range scs {
			if sc.warmup {
				order = append(order, sc)
			}
		}
	}
	for _, sc := range scs {
		if !sc.warmup {
			order = append(order, sc)
		}
	}
	var out []*result
	best := map[*scenario]*result{}
	skipped := map[*scenario]bool{}
	for _, sc := range order {
		if cfg.only != nil && !cfg.only.MatchString(sc.key) || skipped[sc] {
			continue
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if sc.check != nil {
			if err := sc.check(srv.addr); err != nil {
				say("%s: %s: skipped: %v", s.name, sc.key, err)
				out = append(out, &result{sc: sc, Skipped: err.Error()})
				skipped[sc] = true
				continue
			}
		}
		if sc.key == "login" {
			fig.ceiling = hashCeiling(ctx, 3*time.Second)
			say("%s: argon2id ceiling: %.1f hashes/s with every CPU hashing", s.name, fig.ceiling)
		}
		say("%s: %s (%s, %d prepared requests)", s.name, sc.key, sc.name, len(sc.requests))
		r, err := gen.run(ctx, srv.addr, sc)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", sc.key, err)
		}
		say("%s: %s: %.0f req/s, p50 %s, p99 %s, errors %d, quire CPU %s/req, peak RSS %d MB",
			s.name, sc.key, r.rps(), us(r.P50), us(r.P99), r.errors(), r.cpuPerReq().Round(time.Microsecond), r.PeakRSSKB>>10)
		switch b := best[sc]; {
		case b == nil:
			best[sc] = r
			out = append(out, r)
		case r.rps() > b.rps():
			r.Others = append(b.Others, b)
			b.Others = nil
			best[sc] = r
			for i := range out {
				if out[i] == b {
					out[i] = r
				}
			}
		default:
			b.Others = append(b.Others, r)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !baseline {
		time.Sleep(3 * time.Second)
		fig.idleAfterRSS, fig.hwm, _ = procStatus(srv.pid())
	}
	if err := srv.stop(); err != nil {
		return nil, nil, err
	}
	if b, err := os.ReadFile(logPath); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			// A request whose client left is logged at info level.
			if strings.Contains(line, `msg="client went away"`) {
				fig.logCanceled++
				continue
			}
			// Each failed request logs its error and an access line;
			// count the error.
			if !strings.Contains(line, "level=ERROR") || strings.Contains(line, "msg=request ") {
				continue
			}
			// wrk closes its connections when a run ends; requests still
			// in flight then fail (context canceled, or a transaction the
			// cancellation rolled back) just after a scenario's end.
			if strings.Contains(line, "context canceled") || cutOff(line, out) {
				fig.logCanceled++
				continue
			}
			fig.logErrors++
			if len(fig.logSamples) < 5 {
				fig.logSamples = append(fig.logSamples, line)
			}
		}
	}
	return out, fig, nil
}

// cutOff reports whether a log line was written within a moment after one
// of the scenarios ended, when wrk had just closed its connections.
func cutOff(line string, rs []*result) bool {
	f := strings.Fields(line)
	if len(f) == 0 || !strings.HasPrefix(f[0], "time=") {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
	if err != nil {
		return false
	}
	for _, r := range rs {
		for _, x := range append([]*result{r}, r.Others...) {
			if !x.End.IsZero() && t.After(x.End.Add(-2*time.Second)) && t.Before(x.End.Add(time.Second)) {
				return true
			}
		}
	}
	return false
}

// us formats microseconds as milliseconds.
func us(v int64) string { return fmt.Sprintf("%.2f ms", float64(v)/1000) }

// buildScenarios prepares the requests of every scenario against a running
// server: it signs in through the real forms to get cookies and CSRF tokens.
func buildScenarios(addr string, s *site, baseline bool) ([]*scenario, error) {
	r := rand.New(rand.NewPCG(2, 2))
	res := s.seed
	n := len(res.PostIDs)

	visitor := newBrowser(addr)
	if _, err := visitor.csrf("/blog"); err != nil {
		return nil, err
	}
	guest := [][2]string{{"Cookie", visitor.cookieHeader()}}
	member := newBrowser(addr)
	memberCSRF, err := member.login(res.Users[1].Email, res.Password)
	if err != nil {
		return nil, err
	}
	signedIn := [][2]string{{"Cookie", member.cookieHeader()}}

	get := func(path string, h [][2]string) string { return rawRequest(addr, "GET", path, h, "") }
	many := func(k int, f func(i int) string) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	postIDs := many(1000, func(int) string { return strconv.FormatInt(res.PostIDs[r.IntN(n)], 10) })
	// Deep: cursors anywhere in the older half of the list.
	type cursor struct {
		value string
		next  int64 // first post the page must show
	}
	cursors := make([]cursor, 64)
	for i := range cursors {
		p := 21 + r.IntN(n/2-21)
		cursors[i] = cursor{fmt.Sprintf("%d-%d", res.PostDates[p], res.PostIDs[p]), res.PostIDs[p-1]}
	}

	expect := func(raw string, code int, contains ...string) func(string) error {
		return func(string) error {
			resp, body, err := replay(addr, raw)
			if err != nil {
				return err
			}
			if resp.StatusCode != code {
				return fmt.Errorf("%w: status %d, want %d", errCheck, resp.StatusCode, code)
			}
			for _, c := range contains {
				if !strings.Contains(body, c) && !strings.Contains(fmt.Sprint(resp.Header), c) {
					return fmt.Errorf("%w: response lacks %q", errCheck, c)
				}
			}
			return nil
		}
	}

	blogOut := get("/blog", guest)
	blogIn := get("/blog", signedIn)
	scs := []*scenario{
		{key: "blog-out", name: "GET /blog, signed out", requests: []string{blogOut}, warmup: true,
			check: expect(blogOut, 200, "Sign in", `id="post-`+strconv.FormatInt(res.PostIDs[n-1], 10)+`"`)},
		{key: "blog-in", name: "GET /blog, signed in", requests: []string{blogIn}, warmup: true,
			check: expect(blogIn, 200, "Sign out", `id="post-`+strconv.FormatInt(res.PostIDs[n-1], 10)+`"`)},
		{key: "deep-out", name: "GET /blog?before=… (older half), signed out", warmup: true,
			requests: many(len(cursors), func(i int) string { return get("/blog?before="+cursors[i].value, guest) }),
			check: expect(get("/blog?before="+cursors[0].value, guest), 200,
				`id="post-`+strconv.FormatInt(cursors[0].next, 10)+`"`)},
		{key: "post-out", name: "GET /blog/{id}, signed out", warmup: true,
			requests: many(len(postIDs), func(i int) string { return get("/blog/"+postIDs[i], guest) }),
			check:    expect(get("/blog/"+postIDs[0], guest), 200, "<article")},
	}
	if baseline {
		return scs, nil
	}
	scs = append(scs, &scenario{key: "post-in", name: "GET /blog/{id}, signed in", warmup: true,
		requests: many(len(postIDs), func(i int) string { return get("/blog/"+postIDs[i], signedIn) }),
		check:    expect(get("/blog/"+postIDs[0], signedIn), 200, "Sign out")})

	// Login: a visitor's form with its CSRF token, for every seeded author.
	lv := newBrowser(addr)
	loginCSRF, err := lv.csrf("/login")
	if err != nil {
		return nil, err
	}
	form := func(v ...string) string {
		var sb strings.Builder
		for i := 0; i+1 < len(v); i += 2 {
			if i > 0 {
				sb.WriteByte('&')
			}
			sb.WriteString(url.QueryEscape(v[i]) + "=" + url.QueryEscape(v[i+1]))
		}
		return sb.String()
	}
	formHeaders := func(cookie string) [][2]string {
		return [][2]string{{"Cookie", cookie}, {"Content-Type", "application/x-www-form-urlencoded"},
			{"Sec-Fetch-Site", "same-origin"}, {"Origin", "http://" + addr}}
	}
	logins := many(len(res.Users)-1, func(i int) string {
		return rawRequest(addr, "POST", "/login", formHeaders(lv.cookieHeader()),
			form("email", res.Users[i+1].Email, "password", res.Password, "csrf_token", loginCSRF))
	})
	scs = append(scs, &scenario{key: "login", name: "POST /login (correct password)", requests: logins,
		check: expect(logins[0], 303, "quire_session=")})

	// Rotation: each request presents a different sign-in whose token is
	// due, so each one rotates (one-time use).
	stateCookie := "quire_state=" + member.cookie("quire_state")
	rot := many(len(s.rotate), func(i int) string {
		return get("/blog/"+postIDs[i%len(postIDs)], [][2]string{{"Cookie", "quire_session=" + s.rotate[i] + "; " + stateCookie}})
	})
	if len(rot) > 1 {
		scs = append(scs, &scenario{key: "rotate", name: "GET /blog/{id}, signed in, token rotated", requests: rot[1:], once: true,
			check: expect(rot[0], 200, "Sign out", "quire_session=")})
	}

	// API (skipped by its check when the binary has none).
	apiList := get("/items/posts?limit=20&fields=title,id,content,date_created,user_created.*", nil)
	scs = append(scs, &scenario{key: "api-list", name: "GET /items/posts?limit=20&fields=…,user_created.*", warmup: true,
		requests: []string{apiList}, check: expect(apiList, 200, `"user_created":{`)})
	refresh := many(len(s.refresh), func(i int) string {
		return rawRequest(addr, "POST", "/auth/refresh", [][2]string{{"Content-Type", "application/json"}},
			`{"refresh_token":"`+s.refresh[i]+`","mode":"json"}`)
	})
	if len(refresh) > 1 {
		scs = append(scs, &scenario{key: "api-refresh", name: "POST /auth/refresh (rotates)", requests: refresh[1:], once: true,
			check: expect(refresh[0], 200, `"refresh_token"`)})
	}

	// Writes last: they grow the database the reads above measured. They
	// carry only the session cookie: each success queues a flash message in
	// the visitor's state, which a browser shows (and so clears) on the page
	// it is redirected to; wrk follows no redirects, so a shared state would
	// only grow. Without one, each flash goes to a fresh state row instead.
	writer := [][2]string{{"Cookie", "quire_session=" + member.cookie("quire_session")}}
	writeHeaders := func() [][2]string {
		return append(writer, [2]string{"Content-Type", "application/x-www-form-urlencoded"},
			[2]string{"Sec-Fetch-Site", "same-origin"}, [2]string{"Origin", "http://" + addr})
	}
	cr := rand.New(rand.NewPCG(3, 3))
	creates := many(32, func(int) string {
		return rawRequest(addr, "POST", "/blog", writeHeaders(),
			form("title", seed.Title(cr), "content", seed.Markdown(cr, 3000), "csrf_token", memberCSRF))
	})
	scs = append(scs, &scenario{key: "create", name: "POST /blog (create, ~3 KB Markdown)", requests: creates,
		check: expect(creates[0], 303, "/blog/")})
	owned := res.OwnedBy(1, 64)
	edits := many(len(owned), func(i int) string {
		return rawRequest(addr, "POST", fmt.Sprintf("/blog/%d/edit", owned[i]), writeHeaders(),
			form("title", seed.Title(cr), "content", seed.Markdown(cr, 3000), "csrf_token", memberCSRF))
	})
	scs = append(scs, &scenario{key: "edit", name: "POST /blog/{id}/edit (~3 KB Markdown)", requests: edits,
		check: expect(edits[0], 303, "/blog/")})
	return scs, nil
}
