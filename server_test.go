package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestNewServerLimits checks the limits that protect the server from slow
// and oversized clients, and that they work on a real listener. The
// process-level tests in ./reliability cut off a real slowloris client.
func TestNewServerLimits(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != "/" {
			// What gin's trailing-slash fix does: copy the request URL.
			u := *r.URL
			u.Path = strings.TrimSuffix(u.Path, "/")
			http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
			return
		}
		fmt.Fprint(w, r.URL.String())
	})
	srv := newServer("127.0.0.1:0", echo, slog.New(slog.DiscardHandler))
	for name, got := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if got <= 0 || got > 2*time.Minute+30*time.Second {
			t.Errorf("%s = %v: every timeout must be set and bounded", name, got)
		}
	}
	if srv.ReadHeaderTimeout > 10*time.Second {
		t.Errorf("ReadHeaderTimeout = %v: a slow client holds a connection that long", srv.ReadHeaderTimeout)
	}
	if srv.MaxHeaderBytes != 64<<10 || srv.ErrorLog == nil {
		t.Errorf("MaxHeaderBytes = %d, ErrorLog %v", srv.MaxHeaderBytes, srv.ErrorLog)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()

	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"small", http.Header{"X-A": {"b"}}, http.StatusOK},
		{"48 KiB header", http.Header{"X-Big": {strings.Repeat("a", 48<<10)}}, http.StatusOK},
		{"100 KiB header", http.Header{"X-Big": {strings.Repeat("a", 100<<10)}}, http.StatusRequestHeaderFieldsTooLarge},
		{"many headers", manyHeaders(2000, 60), http.StatusRequestHeaderFieldsTooLarge},
		{"huge cookie", http.Header{"Cookie": {"quire_session=" + strings.Repeat("c", 80<<10)}}, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/x", nil)
			req.Header = tt.header
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}

	// An absolute-form target is served as its path: no handler sees (or
	// redirects to) the host the client named.
	for _, target := range []string{"http://evil.example/x?q=1", "http://user@evil.example/blog/"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", target)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		conn.Close()
		if strings.Contains(string(body), "evil") || strings.Contains(res.Header.Get("Location"), "evil") {
			t.Errorf("GET %s: %d Location %q body %q", target, res.StatusCode, res.Header.Get("Location"), body)
		}
	}
}

func manyHeaders(n, size int) http.Header {
	h := http.Header{}
	for i := range n {
		h.Set(fmt.Sprintf("X-H%d", i), strings.Repeat("v", size))
	}
	return h
}
