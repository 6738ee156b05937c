package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver: creates and drops the E2E_DB schema
	playwright "github.com/mxschmitt/playwright-go"
)

// setupHint is named in every failure caused by a missing browser or driver.
const setupHint = "install the e2e dependencies with: bash scripts/test-deps.sh"

// chromiumPath is Debian's Chromium; the tests never download a browser.
const chromiumPath = "/usr/bin/chromium"

// chromiumArgs keep a headless Chromium quiet and local: no sandbox (CI runs
// as root), no background services, and no DNS look-ups of outside hosts
// (127.0.0.1 must stay excluded or the app's own pages fail to resolve).
var chromiumArgs = []string{
	"--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--no-first-run", "--disable-gpu",
	"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
}

// baseServerArgs are the timings of the shared server: rotation every 2 s
// with a 1 s grace window so every test also exercises token rotation,
// three failed sign-ins per account before delays (scenario 3), and
// registration and per-IP login limits high enough for the whole suite,
// which all comes from 127.0.0.1.
var baseServerArgs = []string{
	"--session-rotate", "2s", "--session-grace", "1s",
	"--login-failures", "3", "--login-ip-failures", "1000",
	"--register-limit", "1000", "--register-window", "1m",
	"--hash-concurrency", "2",
}

// suite is set once by TestMain and only read by the tests: the built binary,
// the shared server, the one browser of the run and where artifacts go.
var suite *harness

type harness struct {
	tmp       string
	bin       string
	artifacts string
	pgBase    string // E2E_DB; "" = SQLite
	pw        *playwright.Playwright
	browser   playwright.Browser
	expect    playwright.PlaywrightAssertions
	srv       *server
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "quire-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	h, err := setUp(tmp)
	if h != nil {
		defer h.tearDown()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setup failed:", err)
		if h != nil && h.srv != nil {
			fmt.Fprintf(os.Stderr, "--- server log ---\n%s\n", h.srv.log.String())
		}
		return 1
	}
	suite = h
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "e2e: screenshots and page HTML of failed tests are in", h.artifacts)
	} else {
		fmt.Println("e2e: screenshots are in", h.artifacts)
	}
	return code
}

// setUp checks the dependencies, builds quire, starts the shared server and
// the browser. A half-built harness is returned with the error so the caller
// can stop what did start.
func setUp(tmp string) (*harness, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	driverDir, err := driverDirectory(root, tmp)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		return nil, fmt.Errorf("Chromium not found at %s; %s", chromiumPath, setupHint)
	}
	h := &harness{tmp: tmp, pgBase: os.Getenv("E2E_DB"), expect: playwright.NewPlaywrightAssertions(10_000)}
	h.artifacts = os.Getenv("E2E_ARTIFACTS")
	if h.artifacts == "" {
		h.artifacts = filepath.Join(os.TempDir(), "quire-e2e-artifacts")
	}
	if err := prepareArtifacts(h.artifacts); err != nil {
		return nil, err
	}

	h.bin = os.Getenv("E2E_BIN")
	if h.bin == "" {
		h.bin = filepath.Join(tmp, "quire")
		build := exec.Command("go", "build", "-o", h.bin, ".")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %w\n%s", err, out)
		}
	}

	h.pw, err = playwright.Run(&playwright.RunOptions{DriverDirectory: driverDir, SkipInstallBrowsers: true, Verbose: false})
	if err != nil {
		return h, fmt.Errorf("start the Playwright driver: %w; %s", err, setupHint)
	}
	h.browser, err = h.pw.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: playwright.String(chromiumPath),
		Headless:       playwright.Bool(true),
		Args:           chromiumArgs,
	})
	if err != nil {
		return h, fmt.Errorf("launch %s: %w; %s", chromiumPath, err, setupHint)
	}
	h.srv, err = h.startServer("main", baseServerArgs...)
	if err != nil {
		return h, err
	}
	return h, nil
}

// driverDirectory lays out what playwright.Run expects - <dir>/package (the
// npm playwright-core) and <dir>/node - as symlinks, so nothing is
// downloaded.
func driverDirectory(root, tmp string) (string, error) {
	core := filepath.Join(root, "e2e", "node_modules", "playwright-core")
	if _, err := os.Stat(filepath.Join(core, "cli.js")); err != nil {
		return "", fmt.Errorf("npm package playwright-core not installed in e2e/node_modules; %s", setupHint)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("node not found in PATH; %s", setupHint)
	}
	dir := filepath.Join(tmp, "driver")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink(core, filepath.Join(dir, "package")); err != nil {
		return "", err
	}
	if err := os.Symlink(node, filepath.Join(dir, "node")); err != nil {
		return "", err
	}
	return dir, nil
}

// prepareArtifacts creates the folder and removes failure captures of an
// earlier run, so what is there belongs to this run. Other files are left.
func prepareArtifacts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("artifacts folder: %w", err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "FAILED-*"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	return nil
}

func (h *harness) tearDown() {
	if h.srv != nil {
		h.srv.stop()
	}
	if h.browser != nil {
		_ = h.browser.Close()
	}
	if h.pw != nil {
		_ = h.pw.Stop()
	}
}

// server is one running quire process and its captured output.
type server struct {
	name    string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	log     *logBuffer
	done    chan struct{}
	cleanup func()
}

// startServer runs quire on a free 127.0.0.1 port with a fresh database (a
// SQLite file, or a new schema in E2E_DB) and waits until /healthz answers.
func (h *harness) startServer(name string, args ...string) (*server, error) {
	db := filepath.Join(h.tmp, name+".db")
	cleanup := func() {}
	if h.pgBase != "" {
		var err error
		db, cleanup, err = freshSchema(h.pgBase, name)
		if err != nil {
			return nil, err
		}
	}
	s := &server{name: name, log: &logBuffer{}, done: make(chan struct{}), cleanup: cleanup}
	argv := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--log-level", "info"}, args...)
	s.cmd = exec.Command(h.bin, argv...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = serverProcAttr()
	// Only what the flags say: no QUIRE_* settings leak in from the caller.
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + h.tmp, "TMPDIR=" + h.tmp}
	if err := s.cmd.Start(); err != nil {
		cleanup()
		return nil, fmt.Errorf("start quire: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()

	listening := regexp.MustCompile(`msg="quire listening" addr=(127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			cleanup()
			return nil, fmt.Errorf("quire %s exited at start-up:\n%s", name, s.log.String())
		default:
		}
		if s.base == "" {
			if m := listening.FindStringSubmatch(s.log.String()); m != nil {
				s.base = "http://" + m[1]
			}
		}
		if s.base != "" && healthy(s.base) {
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("quire %s did not become healthy in 30s:\n%s", name, s.log.String())
}

func healthy(base string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(base + "/healthz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// stop sends SIGTERM (graceful shutdown), then kills after 10 s.
func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.cleanup()
}

// freshSchema creates an empty schema in the E2E_DB database and returns a
// DSN that selects it, and a function that drops it.
func freshSchema(base, name string) (string, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("E2E_DB: %w", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("E2E_DB %s unreachable: %w (bash scripts/test-deps.sh starts PostgreSQL)", base, err)
	}
	schema := fmt.Sprintf("e2e_%s_%d_%d", name, os.Getpid(), time.Now().UnixNano()%1e6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("E2E_DB: create schema: %w", err)
	}
	drop := func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: drop schema %s: %v\n", schema, err)
		}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		drop()
		return "", nil, errors.New("E2E_DB must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// logBuffer collects a server's output for printing when a test fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len is the current size: a test remembers it to print only its own part.
func (b *logBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Since returns what was written after offset n.
func (b *logBuffer) Since(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if n > len(s) {
		return ""
	}
	return strings.TrimRight(s[n:], "\n")
}
