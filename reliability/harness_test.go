package reliability

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // "sqlite" driver: the tests inspect the database file directly
)

// quireBin is the binary under test, built once by TestMain and only read
// afterwards.
var quireBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "quire-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildQuire(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	quireBin = bin
	return m.Run()
}

// buildQuire builds the binary as production does (no race detector, no
// cgo), whatever flags the test run itself has.
func buildQuire(dir string) (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "quire")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// requireRoot fails (never skips) a test that needs root, naming why.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test must run as root (%s); CI and the dev container do", why)
	}
}

// logBuffer keeps a process's JSON log lines: all of them except that
// routine request lines stop being kept after the first maxRequestLines (a
// soak logs millions), and it counts error entries.
type logBuffer struct {
	mu       sync.Mutex
	lines    []string
	requests int
	errors   int
}

const maxRequestLines = 20_000

func (l *logBuffer) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	isErr := strings.Contains(line, `"level":"ERROR"`)
	if isErr {
		l.errors++
	}
	if strings.Contains(line, `"msg":"request"`) && !isErr {
		l.requests++
		if l.requests > maxRequestLines {
			return
		}
	}
	l.lines = append(l.lines, line)
}

// errorCount is the number of error-level entries logged so far.
func (l *logBuffer) errorCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errors
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// count returns how many log entries have msg and contain every sub.
func (l *logBuffer) count(msg string, subs ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		var e struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Msg != msg {
			continue
		}
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			n++
		}
	}
	return n
}

// server is one running quire process.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	pid  int
	addr string // 127.0.0.1:port
	base string // http://addr
	log  *logBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done closes
}

// startServer runs "quire serve" on a free loopback port with db and extra
// flags, waits until it listens, and kills it when the test ends.
func startServer(t *testing.T, db string, args ...string) *server {
	t.Helper()
	full := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json",
		"--hash-concurrency", "2"}, args...)
	cmd := exec.Command(quireBin, full...)
	// Only this test's settings: no QUIRE_* from the environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QUIRE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	s := &server{t: t, cmd: cmd, log: &logBuffer{}, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start quire: %v", err)
	}
	s.pid = cmd.Process.Pid
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			s.log.add(line)
			var e struct {
				Msg, Addr string
			}
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "quire listening" {
				select {
				case listening <- e.Addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		s.err = cmd.Wait()
		_ = pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("quire log (pid %d):\n%s", s.pid, tail(s.log.String(), 60))
		}
	})
	select {
	case s.addr = <-listening:
	case <-s.done:
		t.Fatalf("quire exited before listening: %v\n%s", s.err, s.log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("quire did not listen within 60s\n%s", s.log.String())
	}
	s.base = "http://" + s.addr
	return s
}

// kill ends the process with SIGKILL (no clean-up of any kind) and waits.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// exitCode waits up to d for the process to exit and returns its code
// (-1 when it was killed by a signal or did not exit in time).
func (s *server) exitCode(d time.Duration) (int, bool) {
	select {
	case <-s.done:
	case <-time.After(d):
		return -1, false
	}
	if s.cmd.ProcessState == nil {
		return -1, true
	}
	return s.cmd.ProcessState.ExitCode(), true
}

// procStatus is what /proc tells about a running server.
type procStatus struct {
	Threads   int
	RSSKiB    int
	HWMKiB    int
	OpenFiles int
}

func (s *server) status() (procStatus, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return procStatus{}, err
	}
	var ps procStatus
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		switch k {
		case "Threads":
			ps.Threads = n
		case "VmRSS":
			ps.RSSKiB = n
		case "VmHWM":
			ps.HWMKiB = n
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid))
	if err != nil {
		return procStatus{}, err
	}
	ps.OpenFiles = len(fds)
	return ps, nil
}

func tail(s string, lines int) string {
	all := strings.Split(s, "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// browser is one visitor: a cookie jar (cookies do not depend on the port,
// so a browser survives a server restart), the last CSRF token seen, and an
// optional X-Forwarded-For address.
type browser struct {
	base string
	hc   *http.Client
	xff  string

	mu   sync.Mutex
	csrf string
}

func newBrowser(base string) *browser {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &browser{base: base, hc: &http.Client{
		Jar: jar, Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// close drops the browser's idle connections.
func (b *browser) close() { b.hc.CloseIdleConnections() }

// result is a finished response with its body.
type result struct {
	code   int
	header http.Header
	body   string
}

func (r *result) location() string { return r.header.Get("Location") }

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"|"X-CSRF-Token": "([^"]+)"`)

func (b *browser) do(req *http.Request) (*result, error) {
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	res, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	r := &result{code: res.StatusCode, header: res.Header, body: string(body)}
	if m := csrfRe.FindStringSubmatch(r.body); m != nil {
		b.mu.Lock()
		b.csrf = m[1] + m[2]
		b.mu.Unlock()
	}
	return r, nil
}

func (b *browser) get(path string) (*result, error) {
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

// post submits a form with the last CSRF token seen.
func (b *browser) post(path string, v url.Values) (*result, error) {
	w := url.Values{}
	for k, vs := range v {
		w[k] = vs
	}
	b.mu.Lock()
	w.Set("csrf_token", b.csrf)
	b.mu.Unlock()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(w.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

const testPassword = "correct horse battery staple"

// register signs up through the form.
func (b *browser) register(first, email string) error {
	if _, err := b.get("/register"); err != nil {
		return err
	}
	r, err := b.post("/register", url.Values{"first_name": {first}, "last_name": {"Tester"}, "email": {email}, "password": {testPassword}})
	if err != nil {
		return err
	}
	if r.code != http.StatusSeeOther {
		return fmt.Errorf("register %s: status %d", email, r.code)
	}
	return nil
}

// login signs in and loads a page, so the next form has this session's token.
func (b *browser) login(email string) error {
	if _, err := b.get("/login"); err != nil {
		return err
	}
	r, err := b.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if err != nil {
		return err
	}
	if r.code != http.StatusSeeOther {
		return fmt.Errorf("login %s: status %d", email, r.code)
	}
	_, err = b.get("/blog/new")
	return err
}

var postLocRe = regexp.MustCompile(`^/blog/(\d+)$`)

// postID extracts the id from a create's Location.
func postID(loc string) (int64, bool) {
	m := postLocRe.FindStringSubmatch(loc)
	if m == nil {
		return 0, false
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	return id, err == nil
}

// author registers and signs in a fresh browser.
func author(t *testing.T, base, first, email string) *browser {
	t.Helper()
	b := newBrowser(base)
	t.Cleanup(b.close)
	if err := b.register(first, email); err != nil {
		t.Fatal(err)
	}
	if err := b.login(email); err != nil {
		t.Fatal(err)
	}
	return b
}

// openSQLite opens a database file for inspection (the server must be
// stopped or not writing).
func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// integrity runs PRAGMA integrity_check and foreign_key_check.
func integrity(t *testing.T, db *sql.DB) {
	t.Helper()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check = %q", res)
	}
	rows, err := db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("foreign_key_check: %v", err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Fatal("foreign_key_check reports violations")
	}
}

// titles returns id -> title of every post.
func titles(t *testing.T, db *sql.DB) map[int64]string {
	t.Helper()
	rows, err := db.Query("SELECT id, title FROM posts")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var title string
		if err := rows.Scan(&id, &title); err != nil {
			t.Fatal(err)
		}
		out[id] = title
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// latencies collects durations and summarises them.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return "no samples"
	}
	s := append([]time.Duration(nil), l.d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) time.Duration {
		return s[min(len(s)-1, int(p*float64(len(s))))].Round(10 * time.Microsecond)
	}
	return fmt.Sprintf("n=%d p50=%v p95=%v p99=%v max=%v", len(s), q(0.50), q(0.95), q(0.99), s[len(s)-1].Round(10*time.Microsecond))
}

// isConnErr reports whether err is a connection-level failure (refused,
// reset, closed) rather than a bad answer.
func isConnErr(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connection")
}

// waitFor polls cond every 100ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cond()
}

// ctxSleep sleeps d or until ctx ends.
func ctxSleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
