package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// report collects one run's figures and renders them as Markdown.
type report struct {
	cfg                          *config
	started, finished            time.Time
	version, cpu, goVersion      string
	cores                        int
	binSize, dbBytes             int64
	bodyBytes                    int
	loadBefore, loadAfter        float64
	hash, hashCPU                time.Duration
	ceiling                      float64 // measured argon2id hashes/s with every CPU hashing
	hashRuns                     int
	mainSeed, baseSeed, mintTime time.Duration
	startups                     []time.Duration
	idleRSS, idleAfterRSS, hwm   int64 // kB
	logErrors, logCanceled       int
	logSamples                   []string
	results, baseline            []*result
}

func find(rs []*result, key string) *result {
	for _, r := range rs {
		if r.sc.key == key && r.Skipped == "" {
			return r
		}
	}
	return nil
}

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// estimate is the throughput quire and wrk would reach with both cores to
// themselves: cores divided by their CPU time per request. It removes the
// other processes' share but not their effect on caches, so it is an upper
// estimate, shown next to the measured figure and never instead of it.
func (rep *report) estimate(r *result) float64 {
	if r.Requests == 0 {
		return 0
	}
	per := (r.ServerCPU + r.WrkCPU).Seconds() / float64(r.Requests)
	if per == 0 {
		return 0
	}
	return float64(rep.cores) / per
}

func (rep *report) table(sb *strings.Builder, rs []*result) {
	sb.WriteString("| Scenario | req/s | p50 | p99 | errors | quire CPU/req | req/s if alone (est.) | peak RSS | other CPU |\n")
	sb.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		if r.Skipped != "" {
			fmt.Fprintf(sb, "| %s | skipped: %s | | | | | | | |\n", r.sc.name, r.Skipped)
			continue
		}
		name := r.sc.name
		if r.Exhausted {
			name += " (ran out of one-time tokens before the end: req/s is understated; raise BENCH_TOKENS)"
		}
		if len(r.Others) > 0 {
			var o []string
			for _, x := range r.Others {
				o = append(o, fmt.Sprintf("%s req/s, p99 %s", thousands(x.rps()), us(x.P99)))
			}
			name += fmt.Sprintf(" (best of %d passes; other: %s)", len(r.Others)+1, strings.Join(o, "; "))
		}
		other := 0.0
		if r.Wall > 0 {
			other = r.OtherCPU.Seconds() / r.Wall.Seconds() * 100 / float64(rep.cores)
		}
		fmt.Fprintf(sb, "| %s | %s | %s | %s | %d | %d µs | %s | %s | %.0f%% |\n", name, thousands(r.rps()),
			us(r.P50), us(r.P99), r.errors(), r.cpuPerReq().Microseconds(), thousands(rep.estimate(r)),
			mb(r.PeakRSSKB), other)
	}
}

func (rep *report) markdown() string {
	var sb strings.Builder
	c := rep.cfg
	fmt.Fprintf(&sb, "# Quire benchmark, %s\n\n", rep.started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&sb, "- Machine: %s, %d CPUs; %s; %s.\n", rep.cpu, rep.cores, rep.goVersion, rep.version)
	fmt.Fprintf(&sb, "- Load: wrk -t%d -c%d, %s per scenario, over loopback (127.0.0.1); quire and wrk share the machine.\n",
		c.threads, c.conns, c.duration)
	fmt.Fprintf(&sb, "- Database: SQLite, %s posts (mean Markdown body %.1f KB, rendered by content.Renderer) by %d users, %.0f MB; seeded through package store in %s.\n",
		thousands(float64(c.posts)), float64(rep.bodyBytes)/1024, c.users, float64(rep.dbBytes)/(1<<20), rep.mainSeed.Round(100*time.Millisecond))
	if rep.mintTime > 0 {
		fmt.Fprintf(&sb, "- One-time tokens: %s web and %s API sign-ins minted through session.Manager in %s (for the rotation and refresh scenarios).\n",
			thousands(float64(c.tokens)), thousands(float64(c.tokens)), rep.mintTime.Round(100*time.Millisecond))
	}
	fmt.Fprintf(&sb, "- Load average (1 min) before: %.2f, after: %.2f. \"other CPU\" is the share of the machine other processes used during each scenario.\n",
		rep.loadBefore, rep.loadAfter)
	fmt.Fprintf(&sb, "- quire ran with --login-failures/--login-ip-failures/--register-limit at 1000000, so the login scenario measures hashing, not the throttle.\n")
	if c.rounds > 1 {
		fmt.Fprintf(&sb, "- The read-only scenarios ran in %d interleaved passes; each row shows the best pass and lists the others (other processes on a shared machine only slow a pass down).\n", c.rounds)
	}
	fmt.Fprintf(&sb, "- Whole run: %s.\n\n", rep.finished.Sub(rep.started).Round(time.Second))

	sb.WriteString("## Throughput and latency\n\n")
	rep.table(&sb, rep.results)
	sb.WriteString("\n\"req/s if alone\" = CPUs ÷ (quire + wrk CPU time per request): what the two would reach with the machine to themselves. It is an estimate; the measured req/s is the figure.\n")
	if len(rep.baseline) > 0 {
		fmt.Fprintf(&sb, "\n### Same run, %s posts\n\n", thousands(float64(c.baseline)))
		rep.table(&sb, rep.baseline)
	}

	sb.WriteString("\n## Process\n\n| Figure | Value | Target |\n|---|---:|---|\n")
	listingPeak := int64(0)
	for _, k := range []string{"blog-out", "blog-in", "deep-out"} {
		if r := find(rep.results, k); r != nil {
			listingPeak = max(listingPeak, r.PeakRSSKB)
		}
	}
	start := append([]time.Duration(nil), rep.startups...)
	sort.Slice(start, func(i, j int) bool { return start[i] < start[j] })
	var startMed, startMax time.Duration
	if len(start) > 0 {
		startMed, startMax = start[len(start)/2], start[len(start)-1]
	}
	// The ceiling is measured (every CPU hashing, just before the login
	// scenario); CPUs / one hash's time is shown beside it.
	simple := 0.0
	if rep.hash > 0 {
		simple = float64(rep.cores) / rep.hash.Seconds()
	}
	ceiling := rep.ceiling
	if ceiling <= 0 {
		ceiling = simple
	}
	fmt.Fprintf(&sb, "| Idle RSS after start | %s | ≤ 30 MB: %s |\n", mb(rep.idleRSS), mark(rep.idleRSS <= 30*1024))
	fmt.Fprintf(&sb, "| Peak RSS under the listing load | %s | ≤ 100 MB: %s |\n", mb(listingPeak), mark(listingPeak > 0 && listingPeak <= 100*1024))
	if r := find(rep.results, "login"); r != nil {
		fmt.Fprintf(&sb, "| Peak RSS under the login flood | %s | bounded |\n", mb(r.PeakRSSKB))
	}
	fmt.Fprintf(&sb, "| Peak RSS of the whole run (VmHWM) | %s | |\n", mb(rep.hwm))
	fmt.Fprintf(&sb, "| Idle RSS 3 s after the load | %s | |\n", mb(rep.idleAfterRSS))
	fmt.Fprintf(&sb, "| Exec to first 200 on /healthz (median of %d; max) | %.1f ms; %.1f ms | ≤ 150 ms: %s |\n",
		len(start), ms(startMed), ms(startMax), mark(startMed > 0 && startMed <= 150*time.Millisecond))
	fmt.Fprintf(&sb, "| Binary size (make build) | %.1f MB | ≤ 30 MB: %s |\n", float64(rep.binSize)/(1<<20), mark(rep.binSize <= 30<<20))
	fmt.Fprintf(&sb, "| One argon2id hash, m=19 MiB t=2 p=1, alone: wall (median of %d); CPU (mean) | %.1f ms; %.1f ms | |\n",
		rep.hashRuns, ms(rep.hash), ms(rep.hashCPU))
	fmt.Fprintf(&sb, "| Login ceiling: %d CPUs / one hash's time | %.0f logins/s | |\n", rep.cores, simple)
	fmt.Fprintf(&sb, "| Login ceiling: measured, one hash per CPU at once for 3 s, just before the login scenario | %.0f logins/s | |\n", rep.ceiling)
	fmt.Fprintf(&sb, "| Errors in quire's log, other than requests cut off at the end of a run | %d | 0 |\n", rep.logErrors)
	fmt.Fprintf(&sb, "| Requests cut off when wrk closed its connections (logged as \"client went away\") | %d | |\n", rep.logCanceled)

	sb.WriteString("\n## Targets\n\n| Target | Measured | |\n|---|---|---|\n")
	rate := func(key string, min float64) {
		r := find(rep.results, key)
		if r == nil {
			return
		}
		ok := r.rps() >= min && r.P99 <= 10_000 && r.errors() == 0
		fmt.Fprintf(&sb, "| %s ≥ %s req/s, p99 ≤ 10 ms | %s req/s, p99 %s | %s |\n", r.sc.name, thousands(min),
			thousands(r.rps()), us(r.P99), mark(ok))
	}
	rate("blog-out", 10_000)
	rate("blog-in", 10_000)
	rate("post-out", 15_000)
	rate("post-in", 15_000)
	// ratio compares x with its reference ref: how many times slower x is
	// (ref's req/s over x's), and the same in quire CPU per request, which
	// other processes' share of the machine - it can differ between the two
	// scenarios - does not change.
	ratio := func(label string, ref, x *result) {
		if ref == nil || x == nil || x.rps() == 0 {
			return
		}
		f := ref.rps() / x.rps()
		fmt.Fprintf(&sb, "| %s: within 1.3× | %.2f× (%s vs %s req/s; p99 %s vs %s) | %s |\n", label, f,
			thousands(x.rps()), thousands(ref.rps()), us(x.P99), us(ref.P99), mark(f <= 1.3))
		if ref.cpuPerReq() > 0 && x.cpuPerReq() > 0 {
			fmt.Fprintf(&sb, "| (CPU view) the same in quire CPU per request | %.2f× (%d vs %d µs) | |\n",
				x.cpuPerReq().Seconds()/ref.cpuPerReq().Seconds(), x.cpuPerReq().Microseconds(), ref.cpuPerReq().Microseconds())
		}
	}
	ratio("Deep page vs first page, signed out", find(rep.results, "blog-out"), find(rep.results, "deep-out"))
	if len(rep.baseline) > 0 {
		bf := find(rep.baseline, "blog-out")
		n, b := thousands(float64(c.posts)), thousands(float64(c.baseline))
		ratio(fmt.Sprintf("First page on %s posts vs on %s", n, b), bf, find(rep.results, "blog-out"))
		ratio(fmt.Sprintf("Deep page on %s posts vs first page on %s", n, b), bf, find(rep.results, "deep-out"))
		ratio(fmt.Sprintf("GET /blog/{id} on %s posts vs on %s", n, b), find(rep.baseline, "post-out"), find(rep.results, "post-out"))
	}
	if r := find(rep.results, "api-list"); r != nil {
		fmt.Fprintf(&sb, "| API list ≥ 5,000 req/s | %s req/s, p99 %s | %s |\n", thousands(r.rps()), us(r.P99), mark(r.rps() >= 5000 && r.errors() == 0))
	}
	if r := find(rep.results, "api-refresh"); r != nil {
		fmt.Fprintf(&sb, "| POST /auth/refresh with rotation ≥ 3,000 req/s | %s req/s, p99 %s | %s |\n", thousands(r.rps()), us(r.P99), mark(r.rps() >= 3000 && r.errors() == 0))
	}
	if r := find(rep.results, "login"); r != nil && ceiling > 0 {
		x := r.rps() / ceiling
		fmt.Fprintf(&sb, "| POST /login ≥ 90%% of the argon2id ceiling | %.0f%% (%.1f of %.1f logins/s), p99 %s | %s |\n",
			x*100, r.rps(), ceiling, us(r.P99), mark(x >= 0.9 && r.errors() == 0))
	}
	if len(rep.logSamples) > 0 {
		sb.WriteString("\nErrors logged by quire (first few):\n\n```\n")
		for _, l := range rep.logSamples {
			sb.WriteString(l + "\n")
		}
		sb.WriteString("```\n")
	}
	return sb.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
