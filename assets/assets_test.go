package assets

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func mustNew(t *testing.T) *Assets {
	t.Helper()
	a, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func embedded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(files, name)
	if err != nil {
		t.Fatalf("read embedded %s: %v", name, err)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestServeHTTP(t *testing.T) {
	a := mustNew(t)

	const (
		css = "text/css; charset=utf-8"
		js  = "text/javascript; charset=utf-8"
		svg = "image/svg+xml"
	)
	cssURL := a.Path("css/quire.css")
	htmxURL := a.Path("js/htmx.min.js")
	cssETag := `"` + sha256Hex(embedded(t, "css/quire.css")) + `"`
	htmxETag := `"` + sha256Hex(embedded(t, "js/htmx.min.js")) + `"`
	if cssURL == "" || htmxURL == "" {
		t.Fatalf("Path returned empty for a known asset: css=%q htmx=%q", cssURL, htmxURL)
	}

	tests := []struct {
		name       string
		method     string
		target     string
		header     map[string]string
		wantStatus int
		wantType   string
		wantCache  string
		wantFile   string // embedded name whose bytes the body must equal
		wantETag   string
		wantAllow  string
	}{
		{name: "fingerprinted css", method: "GET", target: cssURL, wantStatus: 200, wantType: css, wantCache: cacheImmutable, wantFile: "css/quire.css", wantETag: cssETag},
		{name: "fingerprinted htmx", method: "GET", target: htmxURL, wantStatus: 200, wantType: js, wantCache: cacheImmutable, wantFile: "js/htmx.min.js", wantETag: htmxETag},
		{name: "fingerprinted quire.js", method: "GET", target: a.Path("js/quire.js"), wantStatus: 200, wantType: js, wantCache: cacheImmutable, wantFile: "js/quire.js"},
		{name: "fingerprinted avatar svg", method: "GET", target: a.Path("img/avatar.svg"), wantStatus: 200, wantType: svg, wantCache: cacheImmutable, wantFile: "img/avatar.svg"},
		{name: "fingerprinted favicon svg", method: "GET", target: a.Path("img/favicon.svg"), wantStatus: 200, wantType: svg, wantCache: cacheImmutable, wantFile: "img/favicon.svg"},
		{name: "HEAD has headers and no body", method: "HEAD", target: cssURL, wantStatus: 200, wantType: css, wantCache: cacheImmutable, wantETag: cssETag},
		{name: "If-None-Match same etag", method: "GET", target: cssURL, header: map[string]string{"If-None-Match": cssETag}, wantStatus: 304, wantCache: cacheImmutable, wantETag: cssETag},
		{name: "If-None-Match list with weak match", method: "GET", target: htmxURL, header: map[string]string{"If-None-Match": `"nope", W/` + htmxETag}, wantStatus: 304, wantCache: cacheImmutable, wantETag: htmxETag},
		{name: "If-None-Match star", method: "GET", target: cssURL, header: map[string]string{"If-None-Match": "*"}, wantStatus: 304, wantCache: cacheImmutable, wantETag: cssETag},
		{name: "If-None-Match stale etag", method: "GET", target: cssURL, header: map[string]string{"If-None-Match": `"0123"`}, wantStatus: 200, wantType: css, wantCache: cacheImmutable, wantFile: "css/quire.css", wantETag: cssETag},
		{name: "HEAD with matching etag", method: "HEAD", target: cssURL, header: map[string]string{"If-None-Match": cssETag}, wantStatus: 304, wantCache: cacheImmutable, wantETag: cssETag},
		{name: "plain url is no-cache", method: "GET", target: "/assets/css/quire.css", wantStatus: 200, wantType: css, wantCache: cacheRevalidate, wantFile: "css/quire.css", wantETag: cssETag},
		{name: "plain svg url", method: "GET", target: "/assets/img/avatar.svg", wantStatus: 200, wantType: svg, wantCache: cacheRevalidate, wantFile: "img/avatar.svg"},
		{name: "plain url revalidates to 304", method: "GET", target: "/assets/js/htmx.min.js", header: map[string]string{"If-None-Match": htmxETag}, wantStatus: 304, wantCache: cacheRevalidate, wantETag: htmxETag},
		{name: "wrong hash", method: "GET", target: "/assets/css/quire.0000000000.css", wantStatus: 404},
		{name: "short hash", method: "GET", target: cssURL[:len(cssURL)-len(".css")-1] + ".css", wantStatus: 404},
		{name: "full hash instead of prefix", method: "GET", target: "/assets/css/quire." + strings.Trim(cssETag, `"`) + ".css", wantStatus: 404},
		{name: "unknown file", method: "GET", target: "/assets/css/other.css", wantStatus: 404},
		{name: "prefix only", method: "GET", target: "/assets/", wantStatus: 404},
		{name: "directory", method: "GET", target: "/assets/css/", wantStatus: 404},
		{name: "directory without slash", method: "GET", target: "/assets/css", wantStatus: 404},
		{name: "version notes are not served", method: "GET", target: "/assets/js/HTMX_VERSION.md", wantStatus: 404},
		{name: "missing prefix", method: "GET", target: "/css/quire.css", wantStatus: 404},
		{name: "traversal dotdot", method: "GET", target: "/assets/../embed.go", wantStatus: 404},
		{name: "traversal encoded slash", method: "GET", target: "/assets/css/..%2fembed.go", wantStatus: 404},
		{name: "traversal encoded dots", method: "GET", target: "/assets/%2e%2e/embed.go", wantStatus: 404},
		{name: "traversal to sibling asset", method: "GET", target: "/assets/img/../css/quire.css", wantStatus: 404},
		{name: "POST", method: "POST", target: cssURL, wantStatus: 405, wantAllow: "GET, HEAD"},
		{name: "PUT on plain url", method: "PUT", target: "/assets/css/quire.css", wantStatus: 405, wantAllow: "GET, HEAD"},
		{name: "DELETE", method: "DELETE", target: htmxURL, wantStatus: 405, wantAllow: "GET, HEAD"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tc.method, tc.target, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)

			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %.80q)", res.StatusCode, tc.wantStatus, body)
			}
			if tc.wantAllow != "" && res.Header.Get("Allow") != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", res.Header.Get("Allow"), tc.wantAllow)
			}
			if tc.wantStatus != 200 && tc.wantStatus != 304 {
				if res.Header.Get("Cache-Control") != "" || res.Header.Get("ETag") != "" {
					t.Errorf("error response carries cache headers: Cache-Control=%q ETag=%q",
						res.Header.Get("Cache-Control"), res.Header.Get("ETag"))
				}
				return
			}
			if got := res.Header.Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tc.wantCache)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			etag := res.Header.Get("ETag")
			if !regexp.MustCompile(`^"[0-9a-f]{64}"$`).MatchString(etag) {
				t.Errorf("ETag = %q, want a strong quoted sha256", etag)
			}
			if tc.wantETag != "" && etag != tc.wantETag {
				t.Errorf("ETag = %q, want %q", etag, tc.wantETag)
			}
			if tc.wantType != "" {
				if got := res.Header.Get("Content-Type"); got != tc.wantType {
					t.Errorf("Content-Type = %q, want %q", got, tc.wantType)
				}
			}
			switch {
			case tc.wantStatus == 304 || tc.method == "HEAD":
				if len(body) != 0 {
					t.Errorf("body has %d bytes, want none", len(body))
				}
			case tc.wantFile != "":
				want := embedded(t, tc.wantFile)
				if string(body) != string(want) {
					t.Errorf("body (%d bytes) differs from embedded %s (%d bytes)", len(body), tc.wantFile, len(want))
				}
				if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
					t.Errorf("Content-Length = %q, want %d", cl, len(want))
				}
			}
			if tc.method == "HEAD" && tc.wantStatus == 200 {
				if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(embedded(t, "css/quire.css"))) {
					t.Errorf("HEAD Content-Length = %q", cl)
				}
			}
		})
	}
}

func TestPathAndHas(t *testing.T) {
	a := mustNew(t)
	tests := []struct {
		name    string
		pattern string // "" means the asset must be unknown
	}{
		{"css/quire.css", `^/assets/css/quire\.([0-9a-f]{10})\.css$`},
		{"js/htmx.min.js", `^/assets/js/htmx\.min\.([0-9a-f]{10})\.js$`},
		{"js/quire.js", `^/assets/js/quire\.([0-9a-f]{10})\.js$`},
		{"img/avatar.svg", `^/assets/img/avatar\.([0-9a-f]{10})\.svg$`},
		{"img/favicon.svg", `^/assets/img/favicon\.([0-9a-f]{10})\.svg$`},
		{"", ""},
		{"css", ""},
		{"css/", ""},
		{"quire.css", ""},
		{"/css/quire.css", ""},
		{"/assets/css/quire.css", ""},
		{"css/missing.css", ""},
		{"js/HTMX_VERSION.md", ""},
		{"../embed.go", ""},
		{"embed.go", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := a.Path(tc.name)
			if tc.pattern == "" {
				if got != "" || a.Has(tc.name) {
					t.Fatalf("unknown asset %q: Path = %q, Has = %v; want \"\" and false", tc.name, got, a.Has(tc.name))
				}
				return
			}
			if !a.Has(tc.name) {
				t.Fatalf("Has(%q) = false", tc.name)
			}
			m := regexp.MustCompile(tc.pattern).FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("Path(%q) = %q, want match for %s", tc.name, got, tc.pattern)
			}
			if want := sha256Hex(embedded(t, tc.name))[:10]; m[1] != want {
				t.Errorf("fingerprint = %s, want first 10 hex of sha256 %s", m[1], want)
			}
		})
	}
}

func TestNewFromFS(t *testing.T) {
	// sha256("a") = ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		wantErr bool
		want    map[string]string // name -> Path
	}{
		{
			name: "fingerprints with known hash",
			fsys: fstest.MapFS{
				"css/x.css":          {Data: []byte("a")},
				"js/lib.min.js":      {Data: []byte("a")},
				"img/icons/deep.svg": {Data: []byte("a")},
			},
			want: map[string]string{
				"css/x.css":          "/assets/css/x.ca978112ca.css",
				"js/lib.min.js":      "/assets/js/lib.min.ca978112ca.js",
				"img/icons/deep.svg": "/assets/img/icons/deep.ca978112ca.svg",
			},
		},
		{
			name:    "unknown extension fails start-up",
			fsys:    fstest.MapFS{"css/x.css": {Data: []byte("a")}, "js/NOTES.md": {Data: []byte("# hi")}},
			wantErr: true,
		},
		{
			name:    "file without extension fails start-up",
			fsys:    fstest.MapFS{"img/LICENSE": {Data: []byte("x")}},
			wantErr: true,
		},
		{
			name: "empty tree is fine",
			fsys: fstest.MapFS{},
			want: map[string]string{"css/x.css": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := newFromFS(tc.fsys)
			if tc.wantErr {
				if err == nil {
					t.Fatal("newFromFS: want error, got nil")
				}
				if !strings.HasPrefix(err.Error(), "assets: ") {
					t.Errorf("error %q not wrapped with package name", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("newFromFS: %v", err)
			}
			for name, want := range tc.want {
				if got := a.Path(name); got != want {
					t.Errorf("Path(%q) = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestHTMXMatchesRecord fails if js/htmx.min.js is swapped or upgraded
// without updating js/HTMX_VERSION.md.
func TestHTMXMatchesRecord(t *testing.T) {
	md, err := os.ReadFile("js/HTMX_VERSION.md")
	if err != nil {
		t.Fatalf("read HTMX_VERSION.md: %v", err)
	}
	row := func(key, value string) string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^\|\s*` + key + `\s*\|\s*(` + value + `)\s*\|\s*$`).FindSubmatch(md)
		if m == nil {
			t.Fatalf("HTMX_VERSION.md has no %q row", key)
		}
		return string(m[1])
	}
	wantSum := row("sha256", `[0-9a-f]{64}`)
	version := row("version", `2\.0\.[0-9]+`)
	row("tarball integrity", `sha512-[A-Za-z0-9+/=]{88}`)

	body := embedded(t, "js/htmx.min.js")
	if got := sha256Hex(body); got != wantSum {
		t.Errorf("sha256(js/htmx.min.js) = %s, HTMX_VERSION.md records %s", got, wantSum)
	}
	if !strings.Contains(string(body), `version:"`+version+`"`) {
		t.Errorf("js/htmx.min.js does not declare version %s recorded in HTMX_VERSION.md", version)
	}

	// What browsers get is the recorded file, under a URL derived from it.
	a := mustNew(t)
	if want := "/assets/js/htmx.min." + wantSum[:10] + ".js"; a.Path("js/htmx.min.js") != want {
		t.Errorf("Path(js/htmx.min.js) = %q, want %q", a.Path("js/htmx.min.js"), want)
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("GET", a.Path("js/htmx.min.js"), nil))
	if got := rec.Header().Get("ETag"); got != `"`+wantSum+`"` {
		t.Errorf("served ETag = %s, want recorded sha256", got)
	}
}

// TestAssetRules keeps the hand-written assets within budget and CSP-safe:
// no eval-like code in quire.js, no script, handlers or links in the SVGs.
func TestAssetRules(t *testing.T) {
	tests := []struct {
		name      string
		maxBytes  int
		forbidden []string // matched case-insensitively
	}{
		{"css/quire.css", 15 * 1024, []string{"@import", "url(http", "expression("}},
		{"js/quire.js", 8 * 1024, []string{"eval(", "new function", "innerhtml", "outerhtml", "document.write", "insertadjacenthtml", "settimeout(\"", "http://", "https://"}},
		{"img/avatar.svg", 4 * 1024, []string{"<script", " on", "href", "<foreignobject"}},
		{"img/favicon.svg", 4 * 1024, []string{"<script", " on", "href", "<foreignobject"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := embedded(t, tc.name)
			if len(b) > tc.maxBytes {
				t.Errorf("%s is %d bytes, budget %d", tc.name, len(b), tc.maxBytes)
			}
			lower := strings.ToLower(string(b))
			for _, f := range tc.forbidden {
				if strings.Contains(lower, f) {
					t.Errorf("%s contains forbidden %q", tc.name, f)
				}
			}
		})
	}
}
