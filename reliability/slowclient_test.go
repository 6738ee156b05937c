package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSlowClientsCutOff holds connections open by sending request headers
// one line per second (slowloris): the server cuts each off after its
// read-header timeout (5 s) and keeps serving everyone else meanwhile.
func TestSlowClientsCutOff(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "quire.db"))
	const slow = 30
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		held []time.Duration
		bad  []string
	)
	start := time.Now()
	for i := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", srv.addr)
			if err != nil {
				mu.Lock()
				bad = append(bad, err.Error())
				mu.Unlock()
				return
			}
			defer conn.Close()
			opened := time.Now()
			fmt.Fprintf(conn, "GET /blog HTTP/1.1\r\nHost: %s\r\n", srv.addr)
			stop := make(chan struct{})
			go func() {
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					case <-time.After(time.Second):
					}
					if _, err := fmt.Fprintf(conn, "X-Slow-%d-%d: x\r\n", i, n); err != nil {
						return
					}
				}
			}()
			_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			buf := make([]byte, 512)
			n, err := conn.Read(buf)
			close(stop)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200"):
				bad = append(bad, "a slow request was served")
			case err != nil && err != io.EOF && !isConnErr(err):
				bad = append(bad, err.Error())
			}
			held = append(held, time.Since(opened))
		}()
	}
	// Everyone else is served while the slow connections are held.
	b := newBrowser(srv.base)
	defer b.close()
	served := 0
	for time.Since(start) < 3*time.Second {
		r, err := b.get("/blog")
		if err != nil || r.code != http.StatusOK {
			t.Fatalf("normal request while slow clients hold connections: %v", err)
		}
		served++
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d slow connections misbehaved: %v", len(bad), bad[0])
	}
	var longest time.Duration
	for _, d := range held {
		longest = max(longest, d)
		if d < 4*time.Second {
			t.Errorf("a slow connection was cut after %v, before the 5 s header timeout", d)
		}
	}
	if longest > 12*time.Second {
		t.Errorf("a slow client held its connection for %v", longest)
	}
	t.Logf("%d slowloris connections cut off after at most %v; %d normal requests served meanwhile", len(held), longest.Round(10*time.Millisecond), served)
}

// TestHeaderLimitsThroughBinary sends oversized headers (431) and an
// absolute-form target naming another host (no link built from it) to the
// real binary.
func TestHeaderLimitsThroughBinary(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "quire.db"))
	raw := func(req string) (*http.Response, string) {
		t.Helper()
		conn, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(body)
	}
	host := "Host: " + srv.addr + "\r\n"
	for _, tt := range []struct {
		name, req string
		want      int
	}{
		{"normal", "GET /blog HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", http.StatusOK},
		{"100 KiB header", "GET /blog HTTP/1.1\r\n" + host + "X-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"80 KiB cookie", "GET /blog HTTP/1.1\r\n" + host + "Cookie: quire_session=" + strings.Repeat("c", 80<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"absolute-form target", "GET http://evil.example/blog/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", http.StatusMovedPermanently},
	} {
		res, body := raw(tt.req)
		if res.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.want)
		}
		if loc := res.Header.Get("Location"); strings.Contains(loc, "evil") || strings.Contains(body, "evil.example") {
			t.Errorf("%s: a link was built from the client's host: Location %q", tt.name, loc)
		}
	}
}
