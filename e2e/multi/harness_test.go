package multi

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver: schemas and direct checks
	_ "modernc.org/sqlite"             // "sqlite" driver: reads the copied SQLite site

	"quire/store/storetest"
)

// setupHint is named whenever PostgreSQL cannot be reached.
const setupHint = "start it with: bash scripts/test-deps.sh"

// pairArgs are the timings of the shared pair: rotation every 2 s with a
// 1 s grace window, three failed sign-ins per account before delays, and
// per-IP limits high enough for a suite that all comes from 127.0.0.1.
var pairArgs = []string{
	"--session-rotate", "2s", "--session-grace", "1s",
	"--login-failures", "3", "--login-ip-failures", "1000",
	"--register-limit", "1000", "--register-window", "1m",
}

// env is set once by TestMain and only read by the tests.
var env *suite

type suite struct {
	bin  string
	dsn  string  // the pair's schema
	db   *sql.DB // direct access to that schema
	a, b *instance
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "quire-multi-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "multi:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	s, cleanup, err := setUp(tmp)
	defer cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "multi: setup failed:", err)
		return 1
	}
	env = s
	code := m.Run()
	if code != 0 {
		for _, in := range []*instance{s.a, s.b} {
			fmt.Fprintf(os.Stderr, "--- log of instance %s ---\n%s\n", in.name, in.log.String())
		}
	}
	return code
}

// setUp checks PostgreSQL, builds quire, creates an empty schema and starts
// instances A and B on it at the same moment - so they race to migrate it.
// cleanup stops and removes whatever did start, in reverse order.
func setUp(tmp string) (s *suite, cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	base := pgBase()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return nil, cleanup, fmt.Errorf("PostgreSQL DSN %q: %w", base, err)
	}
	undo = append(undo, func() { admin.Close() })
	if err := pgDo(func(ctx context.Context) error { return admin.PingContext(ctx) }); err != nil {
		return nil, cleanup, fmt.Errorf("PostgreSQL at %s is unreachable: %w; %s", base, err, setupHint)
	}

	s = &suite{bin: filepath.Join(tmp, "quire")}
	root, err := filepath.Abs("../..")
	if err != nil {
		return nil, cleanup, err
	}
	build := exec.Command("go", "build", "-o", s.bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, cleanup, fmt.Errorf("go build: %w\n%s", err, out)
	}

	schema := "t_multi_" + strings.ToLower(rand.Text())
	if err := pgDo(func(ctx context.Context) error {
		_, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
		return err
	}); err != nil {
		return nil, cleanup, fmt.Errorf("create schema: %w", err)
	}
	undo = append(undo, func() {
		if err := pgDo(func(ctx context.Context) error {
			_, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
			return err
		}); err != nil {
			fmt.Fprintln(os.Stderr, "multi: drop schema:", err)
		}
	})
	if s.dsn, err = withSearchPath(base, schema); err != nil {
		return nil, cleanup, err
	}
	if s.db, err = sql.Open("pgx", s.dsn); err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { s.db.Close() })

	args := append([]string{"--db", s.dsn}, pairArgs...)
	if s.a, err = start(s.bin, "A", args...); err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, s.a.stop)
	if s.b, err = start(s.bin, "B", args...); err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, s.b.stop)
	for _, in := range []*instance{s.a, s.b} {
		if err := in.waitReady(30 * time.Second); err != nil {
			return nil, cleanup, err
		}
	}
	return s, cleanup, nil
}

// pgDo runs one administrative statement with a timeout of its own.
func pgDo(fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return fn(ctx)
}

// pgBase is the test server's DSN, as storetest uses it.
func pgBase() string {
	if v := os.Getenv("QUIRE_TEST_PG"); v != "" {
		return v
	}
	return storetest.DefaultPostgres
}

// withSearchPath selects schema in a postgres:// URL.
func withSearchPath(dsn, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("postgres DSN: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// instance is one running quire process and its captured output.
type instance struct {
	name    string
	base    string // http://127.0.0.1:port once ready
	cmd     *exec.Cmd
	log     *logWriter
	done    chan struct{} // closed when the process has exited
	exitErr error         // set before done is closed
}

var listenLine = regexp.MustCompile(`msg="quire listening" addr=(\S+)`)

// start runs "quire serve" on a port of the kernel's choosing (read back
// from the log, so no port can be taken in between) without waiting for it.
func start(bin, name string, args ...string) (*instance, error) {
	in := &instance{name: name, log: &logWriter{ready: make(chan string, 1)}, done: make(chan struct{})}
	in.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	in.cmd.Env = childEnv()
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	if err := in.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		in.exitErr = in.cmd.Wait()
		close(in.done)
	}()
	return in, nil
}

// childEnv is this process's environment without QUIRE_* settings, so the
// flags given are the whole configuration.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QUIRE_") {
			out = append(out, kv)
		}
	}
	return out
}

// waitReady waits until the instance listens and its health check passes.
func (in *instance) waitReady(timeout time.Duration) error {
	deadline := time.After(timeout)
	select {
	case addr := <-in.log.ready:
		in.base = "http://" + addr
	case <-in.done:
		return fmt.Errorf("instance %s exited during start-up: %v\n%s", in.name, in.exitErr, in.log.String())
	case <-deadline:
		return fmt.Errorf("instance %s did not listen within %s\n%s", in.name, timeout, in.log.String())
	}
	for {
		resp, err := http.Get(in.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-in.done:
			return fmt.Errorf("instance %s exited during start-up: %v\n%s", in.name, in.exitErr, in.log.String())
		case <-deadline:
			return fmt.Errorf("instance %s not healthy within %s (last: %v)\n%s", in.name, timeout, err, in.log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop shuts the process down gracefully, killing it if it hangs.
func (in *instance) stop() {
	select {
	case <-in.done:
		return
	default:
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.done
	}
}

// startServer starts one more instance for a single test, stopped when the
// test ends; its log is printed if the test failed.
func startServer(t *testing.T, name string, args ...string) *instance {
	t.Helper()
	in, err := start(env.bin, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.stop()
		if t.Failed() {
			t.Logf("--- log of instance %s ---\n%s", in.name, in.log.String())
		}
	})
	if err := in.waitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return in
}

// logWriter collects a process's output and reports its listen address
// once.
type logWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan string
	found bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.found {
		if m := listenLine.FindSubmatch(w.buf.Bytes()); m != nil {
			w.found = true
			w.ready <- string(m[1])
		}
	}
	return len(p), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// page is one HTTP response, read in full.
type page struct {
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie // as set by this response
}

func (p *page) location() string { return p.header.Get("Location") }

// cookie returns the value this response set for name, whether it was set,
// and whether it was a deletion.
func (p *page) cookie(name string) (value string, set, cleared bool) {
	for _, c := range p.cookies {
		if c.Name == name {
			return c.Value, true, c.MaxAge < 0 || c.Value == ""
		}
	}
	return "", false, false
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf scrapes the form token from the page.
func (p *page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf_token on the page (status %d):\n%s", p.status, p.body)
	}
	return html.UnescapeString(m[1])
}

// sessionCookie is the auth cookie's name over plain HTTP.
const sessionCookie = "quire_session"

// browser is a visitor: cookies kept by hand across whichever instance
// answers, redirects not followed.
type browser struct {
	mu  sync.Mutex
	jar map[string]string
}

func newBrowser() *browser { return &browser{jar: map[string]string{}} }

// client never follows redirects: tests look at each 303 themselves.
func client() *http.Client {
	return &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// cookies returns a copy of the jar.
func (b *browser) cookies() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]string, len(b.jar))
	for k, v := range b.jar {
		out[k] = v
	}
	return out
}

// with returns a second visitor holding a copy of these cookies, with
// overrides (e.g. an old session token) applied.
func (b *browser) with(overrides map[string]string) *browser {
	c := &browser{jar: b.cookies()}
	for k, v := range overrides {
		c.jar[k] = v
	}
	return c
}

// session returns the current auth token.
func (b *browser) session() string { return b.cookies()[sessionCookie] }

func (b *browser) get(t *testing.T, in *instance, path string) *page {
	t.Helper()
	return b.do(t, in, http.MethodGet, path, nil)
}

func (b *browser) post(t *testing.T, in *instance, path string, form url.Values) *page {
	t.Helper()
	return b.do(t, in, http.MethodPost, path, form)
}

// do sends one request with the jar's cookies and keeps what the response
// sets or clears.
func (b *browser) do(t *testing.T, in *instance, method, path string, form url.Values) *page {
	t.Helper()
	p, err := send(in, method, path, form, b.cookies())
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, in.name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range p.cookies {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c.Value
		}
	}
	return p
}

// send is one request with the given cookies; safe to call concurrently.
func send(in *instance, method, path string, form url.Values, cookies map[string]string) (*page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, in.base+path, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &page{status: resp.StatusCode, header: resp.Header, body: string(data), cookies: resp.Cookies()}, nil
}

// password is every test user's password.
const password = "tall-quiet-harbour-lamps-42"

var notAlnum = regexp.MustCompile(`[^A-Za-z0-9]+`)

// newEmail returns an address no other test uses.
func newEmail(t *testing.T) string {
	t.Helper()
	return strings.ToLower(notAlnum.ReplaceAllString(t.Name(), "-")) + "-" + unique() + "@example.com"
}

// unique returns a short random suffix.
func unique() string { return strings.ToLower(rand.Text()[:8]) }

// register creates an account through in's form and checks the redirect to
// the sign-in page.
func register(t *testing.T, b *browser, in *instance, email string) {
	t.Helper()
	form := b.get(t, in, "/register")
	p := b.post(t, in, "/register", url.Values{"csrf_token": {form.csrf(t)}, "first_name": {"Multi"},
		"last_name": {"Instance"}, "email": {email}, "password": {password}})
	if p.status != http.StatusSeeOther || p.location() != "/login" {
		t.Fatalf("register on %s: %d %q, want 303 to /login\n%s", in.name, p.status, p.location(), p.body)
	}
}

// signIn signs b in through in's form and returns the new session token.
func signIn(t *testing.T, b *browser, in *instance, email string) string {
	t.Helper()
	form := b.get(t, in, "/login")
	p := b.post(t, in, "/login", url.Values{"csrf_token": {form.csrf(t)}, "email": {email}, "password": {password}})
	tok, set, _ := p.cookie(sessionCookie)
	if p.status != http.StatusSeeOther || p.location() != "/" || !set || tok == "" {
		t.Fatalf("sign in on %s: %d %q (session cookie set: %v), want 303 to / with a cookie\n%s",
			in.name, p.status, p.location(), set, p.body)
	}
	return tok
}

// newUser registers and signs in a fresh user on in.
func newUser(t *testing.T, in *instance) (*browser, string) {
	t.Helper()
	b := newBrowser()
	email := newEmail(t)
	register(t, b, in, email)
	signIn(t, b, in, email)
	return b, email
}

// signedIn asks in whether b's cookies are a live sign-in: the account
// page answers 200, or 303 to the sign-in page.
func signedIn(t *testing.T, b *browser, in *instance) (bool, *page) {
	t.Helper()
	p := b.get(t, in, "/account")
	switch {
	case p.status == http.StatusOK:
		return true, p
	case p.status == http.StatusSeeOther && strings.HasPrefix(p.location(), "/login"):
		return false, p
	}
	t.Fatalf("GET /account on %s: unexpected %d %q\n%s", in.name, p.status, p.location(), p.body)
	return false, p
}

var postLocation = regexp.MustCompile(`^/blog/([0-9]+)$`)

// createPost publishes a post through in and returns its id.
func createPost(t *testing.T, b *browser, in *instance, title, content string) string {
	t.Helper()
	form := b.get(t, in, "/blog/new")
	p := b.post(t, in, "/blog", url.Values{"csrf_token": {form.csrf(t)}, "title": {title}, "content": {content}})
	m := postLocation.FindStringSubmatch(p.location())
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create post on %s: %d %q, want 303 to /blog/{id}\n%s", in.name, p.status, p.location(), p.body)
	}
	return m[1]
}

// tableDump reads every row of every application table of db, typed and
// sorted, keyed by table, for comparing two databases of any dialect.
func tableDump(t *testing.T, db *sql.DB, tables []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var lines []string
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(cols))
			for i, v := range vals {
				parts[i] = fmt.Sprintf("%s=%T:%q", cols[i], v, fmt.Sprint(v))
			}
			slices.Sort(parts) // column order may differ between dialects
			lines = append(lines, strings.Join(parts, " "))
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
		slices.Sort(lines)
		out[table] = lines
	}
	return out
}
