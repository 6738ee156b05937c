package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const testVersion = "v9.9.9-test"

// buildBinary builds quire the way "make build" does (static, no cgo,
// version stamped) into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "quire")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-ldflags", "-X main.version="+testVersion, "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is the environment without QUIRE_* settings of the developer.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QUIRE_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer collects a child's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBinaryServesFromEmptyDirectory starts the real binary in an empty
// directory: templates, assets and migrations come from the binary, the
// SQLite file is created, and SIGTERM shuts it down cleanly.
func TestBinaryServesFromEmptyDirectory(t *testing.T) {
	bin := buildBinary(t)

	t.Run("version and usage", func(t *testing.T) {
		tests := []struct {
			args     []string
			code     int
			stdout   string
			stderr   string
			inStdout bool
		}{
			{[]string{"version"}, 0, "quire " + testVersion + "\n", "", true},
			{[]string{"help"}, 0, "Usage:", "", true},
			{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`, false},
		}
		for _, tt := range tests {
			cmd := exec.Command(bin, tt.args...)
			cmd.Dir = t.TempDir()
			cmd.Env = cleanEnv()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("quire %v exit %d, want %d", tt.args, code, tt.code)
			}
			if tt.inStdout && !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("quire %v stdout %q, want %q", tt.args, stdout.String(), tt.stdout)
			}
			if tt.stderr != "" && !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("quire %v stderr %q, want %q", tt.args, stderr.String(), tt.stderr)
			}
		}
	})

	dir := t.TempDir()
	addr := freePort(t)
	cmd := exec.Command(bin, "serve", "--addr", addr)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})

	base := "http://" + addr
	hc := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, http.Header, string) {
		t.Helper()
		res, err := hc.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := hc.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("server exited before it was healthy: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy after 30s (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	code, _, body := get("/")
	if code != http.StatusOK {
		t.Fatalf("GET / = %d", code)
	}
	for _, want := range []string{">Home</a>", ">Posts</a>", ">Create Post</a>", ">Sign in</a>"} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	m := regexp.MustCompile(`<link rel="stylesheet" href="(/assets/css/quire\.[0-9a-f]{10}\.css)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no fingerprinted stylesheet link in\n%s", body)
	}
	code, hdr, css := get(m[1])
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") ||
		!strings.Contains(hdr.Get("Cache-Control"), "immutable") || len(css) == 0 {
		t.Errorf("GET %s = %d %q %q (%d bytes)", m[1], code, hdr.Get("Content-Type"), hdr.Get("Cache-Control"), len(css))
	}
	if code, _, _ := get("/register"); code != http.StatusOK {
		t.Errorf("GET /register = %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "quire.db")); err != nil {
		t.Errorf("default database not created in the working directory: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
	if out := logs.String(); !strings.Contains(out, "stopped") {
		t.Errorf("no clean-stop log line:\n%s", out)
	}
}

// TestRunCommands covers the command dispatch in-process.
func TestRunCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"version"}, 0, "quire " + version, ""},
		{[]string{"help"}, 0, "quire [serve] [flags]", ""},
		// --help alone is the general usage; "serve --help" lists the serve flags.
		{[]string{"--help"}, 0, "quire [serve] [flags]", ""},
		{[]string{"nope"}, 2, "", `unknown command "nope"`},
		{[]string{"serve", "--help"}, 0, "", "-session-rotate"},
		{[]string{"serve", "--no-such-flag"}, 1, "", "flag provided but not defined"},
		{[]string{"serve", "--session-grace", "soon"}, 1, "", "invalid value"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
		})
	}
}
