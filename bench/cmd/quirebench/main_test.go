package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRawRequestParses(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		headers                  [][2]string
	}{
		{"get with cookie", "GET", "/blog?before=1-2", "", [][2]string{{"Cookie", "a=b"}}},
		{"form post", "POST", "/login", "email=a%40b&password=x", [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}},
		{"empty header skipped", "GET", "/", "", [][2]string{{"Cookie", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := rawRequest("127.0.0.1:1", tt.method, tt.path, tt.headers, tt.body)
			req, err := http.ReadRequest(bufioReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != tt.method || req.RequestURI != tt.path || req.Host != "127.0.0.1:1" {
				t.Errorf("parsed %s %s host %s", req.Method, req.RequestURI, req.Host)
			}
			for _, h := range tt.headers {
				if got := req.Header.Get(h[0]); got != h[1] {
					t.Errorf("%s = %q, want %q", h[0], got, h[1])
				}
			}
			if tt.method == "POST" && req.ContentLength != int64(len(tt.body)) {
				t.Errorf("Content-Length %d, want %d", req.ContentLength, len(tt.body))
			}
		})
	}
}

func TestProcReadings(t *testing.T) {
	rss, hwm, err := procStatus(os.Getpid())
	if err != nil || rss <= 0 || hwm < rss {
		t.Fatalf("procStatus = %d, %d, %v", rss, hwm, err)
	}
	// Burn a little CPU so the reading must move.
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(60 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := procCPU(os.Getpid())
	if err != nil || after <= before {
		t.Fatalf("procCPU did not advance: %v -> %v (%v)", before, after, err)
	}
	if b, err := machineBusy(); err != nil || b <= 0 {
		t.Fatalf("machineBusy = %v, %v", b, err)
	}
}

func TestReportMarksTargets(t *testing.T) {
	sc := func(key string) *scenario { return &scenario{key: key, name: key} }
	rep := &report{cfg: &config{posts: 10_000, threads: 2, conns: 32, duration: time.Second}, cores: 2,
		hash: 20 * time.Millisecond, hashCPU: 20 * time.Millisecond,
		results: []*result{
			{sc: sc("blog-out"), Requests: 12_000, DurationUS: 1_000_000, P99: 8_000},
			{sc: sc("deep-out"), Requests: 6_000, DurationUS: 1_000_000, P99: 9_000},
			{sc: sc("post-out"), Requests: 16_000, DurationUS: 1_000_000, P99: 12_000},
			{sc: sc("login"), Requests: 95, DurationUS: 1_000_000, ServerCPU: 95 * 21 * time.Millisecond},
		}}
	md := rep.markdown()
	for _, want := range []string{
		"| blog-out ≥ 10,000 req/s, p99 ≤ 10 ms | 12,000 req/s, p99 8.00 ms | met |",
		"| post-out ≥ 15,000 req/s, p99 ≤ 10 ms | 16,000 req/s, p99 12.00 ms | **missed** |",
		"| Deep page vs first page, signed out: within 1.3× | 2.00× (6,000 vs 12,000 req/s",
		"| POST /login ≥ 90% of the argon2id ceiling | 95% (95.0 of 100.0 logins/s)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
