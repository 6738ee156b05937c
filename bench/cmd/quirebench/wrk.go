package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// scenario is one load: prepared requests replayed by wrk.
type scenario struct {
	key, name string
	requests  []string
	once      bool // each request at most once (one-time tokens)
	warmup    bool // run 1s first, unmeasured
	// check, when set, validates one request's response before the load.
	check func(addr string) error
}

// result is what one scenario measured.
type result struct {
	sc            *scenario
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	StatusErrors  int64   `json:"status_errors"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	Timeouts      int64   `json:"timeouts"`
	P50           int64   `json:"p50_us"`
	P90           int64   `json:"p90_us"`
	P99           int64   `json:"p99_us"`
	Max           int64   `json:"max_us"`
	Mean          float64 `json:"mean_us"`
	// Measured around the run by the harness.
	PeakRSSKB int64
	ServerCPU time.Duration // quire's user+system time
	WrkCPU    time.Duration
	OtherCPU  time.Duration // every other process on the machine
	Wall      time.Duration
	End       time.Time // when wrk finished (closing its connections)
	Exhausted bool      // "once" scenario ran out of prepared requests
	Skipped   string
	// Others are the other passes of a scenario run more than once; the
	// result itself is the best.
	Others []*result
}

func (r *result) rps() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

func (r *result) errors() int64 {
	return r.StatusErrors + r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.Timeouts
}

// cpuPerReq is quire's CPU time per request, a figure other load on the
// machine disturbs far less than req/s.
func (r *result) cpuPerReq() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Requests)
}

// loadGen runs wrk.
type loadGen struct {
	wrk, script, dir   string
	threads, conns     int
	duration           time.Duration
	serverPID          int
	timeout            time.Duration
	sampleEvery        time.Duration
	requestFileCounter int
}

func (g *loadGen) writeRequests(reqs []string) (string, error) {
	g.requestFileCounter++
	path := filepath.Join(g.dir, fmt.Sprintf("requests-%02d.bin", g.requestFileCounter))
	var buf bytes.Buffer
	for _, r := range reqs {
		if strings.IndexByte(r, 0) >= 0 {
			return "", fmt.Errorf("request holds a NUL byte")
		}
		buf.WriteString(r)
		buf.WriteByte(0)
	}
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}

// run drives the server with one scenario and measures it.
func (g *loadGen) run(ctx context.Context, addr string, sc *scenario) (*result, error) {
	file, err := g.writeRequests(sc.requests)
	if err != nil {
		return nil, err
	}
	mode := "cycle"
	if sc.once {
		mode = "once"
	}
	if sc.warmup {
		if _, _, err := g.wrkOnce(ctx, addr, file, mode, time.Second); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	busy0, _ := machineBusy()
	cpu0, _ := procCPU(g.serverPID)
	sampler := sampleRSS(g.serverPID, g.sampleEvery)
	start := time.Now()
	res, wrkCPU, err := g.wrkOnce(ctx, addr, file, mode, g.duration)
	wall := time.Since(start)
	peak := sampler.end()
	if err != nil {
		return nil, err
	}
	cpu1, _ := procCPU(g.serverPID)
	busy1, _ := machineBusy()
	res.sc = sc
	res.PeakRSSKB = peak
	res.ServerCPU = cpu1 - cpu0
	res.WrkCPU = wrkCPU
	res.OtherCPU = max(0, (busy1-busy0)-res.ServerCPU-wrkCPU)
	res.Wall = wall
	res.End = time.Now()
	// wrk reports the whole duration even when a thread ran out of one-time
	// requests and stopped, so then req/s understates the rate.
	res.Exhausted = sc.once && res.Requests >= int64(len(sc.requests)-g.conns)
	return res, nil
}

// wrkOnce runs wrk once and returns its parsed summary and its CPU time.
func (g *loadGen) wrkOnce(ctx context.Context, addr, file, mode string, d time.Duration) (*result, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d+2*time.Minute)
	defer cancel()
	args := []string{
		"-t", strconv.Itoa(g.threads), "-c", strconv.Itoa(g.conns),
		// wrk takes whole seconds.
		"-d", fmt.Sprintf("%ds", max(1, int(d.Round(time.Second).Seconds()))),
		"--timeout", fmt.Sprintf("%ds", max(1, int(g.timeout.Round(time.Second).Seconds()))),
		"-s", g.script, "http://" + addr + "/", "--", file, mode, strconv.Itoa(g.threads),
	}
	cmd := exec.CommandContext(ctx, g.wrk, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("wrk: %w: %s%s", err, out.String(), errb.String())
	}
	var cpu time.Duration
	if st := cmd.ProcessState; st != nil {
		cpu = st.UserTime() + st.SystemTime()
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "QUIREBENCH "); ok {
			var r result
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				return nil, 0, fmt.Errorf("wrk summary %q: %w", j, err)
			}
			return &r, cpu, nil
		}
	}
	return nil, 0, fmt.Errorf("wrk printed no summary: %s%s", out.String(), errb.String())
}
