package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestHomeShowsNavigation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	r := app.client().get("/")
	wantCode(t, r, http.StatusOK)
	wantIn(t, r.body, "<!doctype html>", `<nav aria-label="Main">`,
		`<a href="/" aria-current="page">Home</a>`, `<a href="/blog">Posts</a>`,
		`<a href="/blog/new">Create Post</a>`, `<a href="/login">Sign in</a>`,
		"Nothing here yet")
	wantNotIn(t, r.body, "Sign out")
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestNotFoundPageInLayout(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	for _, path := range []string{"/nope", "/blog/1/nope", "/assets/css/missing.css"} {
		t.Run(path, func(t *testing.T) {
			r := app.client().get(path)
			wantCode(t, r, http.StatusNotFound)
			if strings.HasPrefix(path, "/assets/") {
				return // the asset server answers its own plain 404
			}
			wantIn(t, r.body, "<!doctype html>", `<nav aria-label="Main">`, "Page not found", "Back to the home page")
		})
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	r := c.get("/healthz")
	wantCode(t, r, http.StatusOK)
	if r.body != "ok\n" {
		t.Errorf("body = %q", r.body)
	}
	if err := app.store.Close(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.get("/healthz"), http.StatusServiceUnavailable)
}

func TestFragmentOrFullPage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	tests := []struct {
		name    string
		header  http.Header
		full    bool
		mustHas string
	}{
		{"plain", nil, true, "Nothing here yet"},
		{"htmx", http.Header{"Hx-Request": {"true"}}, false, "Nothing here yet"},
		{"boosted", http.Header{"Hx-Request": {"true"}, "Hx-Boosted": {"true"}}, true, "Nothing here yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.send(http.MethodGet, "/", nil, tt.header)
			wantCode(t, r, http.StatusOK)
			wantIn(t, r.body, tt.mustHas)
			if got := strings.Contains(r.body, "<html"); got != tt.full {
				t.Errorf("contains <html = %v, want %v\n%s", got, tt.full, snippet(r.body))
			}
			if !strings.Contains(r.header.Get("Vary"), "HX-Request") {
				t.Errorf("Vary = %q", r.header.Get("Vary"))
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	for _, path := range []string{"/", "/login", "/does-not-exist", "/healthz", app.assets.Path("css/quire.css")} {
		t.Run(path, func(t *testing.T) {
			r := c.get(path)
			csp := r.header.Get("Content-Security-Policy")
			directives := map[string]string{}
			for _, d := range strings.Split(csp, ";") {
				f := strings.Fields(d)
				if len(f) > 0 {
					directives[f[0]] = strings.Join(f[1:], " ")
				}
			}
			if s, ok := directives["script-src"]; !ok || strings.Contains(s, "unsafe-inline") || strings.Contains(s, "unsafe-eval") {
				t.Errorf("script-src = %q (csp %q)", s, csp)
			}
			if strings.Contains(csp, "unsafe-eval") {
				t.Errorf("csp allows eval: %q", csp)
			}
			for d, want := range map[string]string{"object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'none'"} {
				if directives[d] != want {
					t.Errorf("%s = %q, want %q", d, directives[d], want)
				}
			}
			if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if r.header.Get("Referrer-Policy") == "" {
				t.Error("no Referrer-Policy")
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestAssetsThroughRouter(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	home := c.get("/")
	tests := []struct{ name, ctype string }{
		{"css/quire.css", "text/css"},
		{"js/htmx.min.js", "javascript"},
		{"js/quire.js", "javascript"},
		{"img/avatar.svg", "image/svg+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := app.assets.Path(tt.name)
			if p == "" || !strings.HasPrefix(p, "/assets/") || p == "/assets/"+tt.name {
				t.Fatalf("Path(%q) = %q, want a fingerprinted /assets/ URL", tt.name, p)
			}
			r := c.get(p)
			wantCode(t, r, http.StatusOK)
			if ct := r.header.Get("Content-Type"); !strings.Contains(ct, tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", ct, tt.ctype)
			}
			cc := r.header.Get("Cache-Control")
			if !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=") {
				t.Errorf("Cache-Control = %q", cc)
			}
			if len(r.body) == 0 {
				t.Error("empty asset")
			}
			if strings.HasPrefix(tt.name, "css/") || strings.HasPrefix(tt.name, "js/") {
				wantIn(t, home.body, p)
			}
		})
	}
	// No CDN: every script and stylesheet of the page is local.
	for _, m := range regexp.MustCompile(`(?:src|href)="(https?:)?//`).FindAllString(home.body, -1) {
		t.Errorf("external reference %q", m)
	}
}

func TestPanicBecomes500Page(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.engine.GET("/test-panic", func(*gin.Context) { panic("secret-panic-detail db password hunter2") })
	r := app.client().get("/test-panic")
	wantCode(t, r, http.StatusInternalServerError)
	id := r.header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no request id")
	}
	wantIn(t, r.body, "<!doctype html>", "Something went wrong", "Request id: <code>"+id+"</code>")
	wantNotIn(t, r.body, "secret-panic-detail", "hunter2", "goroutine", ".go:")
	if r.header.Get("Content-Security-Policy") == "" {
		t.Error("500 page without CSP")
	}
	if !strings.Contains(app.logs.String(), "secret-panic-detail") {
		t.Error("panic not logged")
	}
}

func TestMethodNotAllowedAndBadForms(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	c.get("/login")
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		ctype  string
		want   int
		text   string
	}{
		{"wrong method", http.MethodPatch, "/login", "", "", http.StatusMethodNotAllowed, "Method not allowed"},
		{"too large", http.MethodPost, "/login", "email=" + strings.Repeat("a", 2<<20), "application/x-www-form-urlencoded", http.StatusRequestEntityTooLarge, "larger than this site accepts"},
		{"malformed", http.MethodPost, "/login", "email=%zz", "application/x-www-form-urlencoded", http.StatusBadRequest, "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := c.newRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			req.Header.Set("X-CSRF-Token", c.csrf)
			r := c.do(req)
			wantCode(t, r, tt.want)
			wantIn(t, r.body, "<!doctype html>", tt.text)
		})
	}
}

// TestClientGoneIsNotAServerError checks that a request whose client has
// already gone (its context cancelled) is not answered or logged as a 500.
func TestClientGoneIsNotAServerError(t *testing.T) {
	app := newTestApp(t)
	for _, path := range []string{"/blog", "/items/posts"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx)
		rec := httptest.NewRecorder()
		app.engine.ServeHTTP(rec, req)
		if rec.Code != 499 {
			t.Errorf("%s with a cancelled request: status %d, want 499", path, rec.Code)
		}
	}
	if logs := app.logs.String(); strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "client went away") {
		t.Errorf("log should record the departure at info level, not an error:\n%s", logs)
	}
}
