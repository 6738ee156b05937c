// Package assets embeds Quire's static files (CSS, vendored htmx, quire.js,
// SVG images) and serves them under /assets/ with fingerprinted URLs, so the
// binary needs no CDN and browsers can cache each version forever.
package assets

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// files holds every served asset. The patterns name the served types
// explicitly so that notes such as js/HTMX_VERSION.md stay out of the binary.
//
//go:embed css/*.css js/*.js img/*.svg
var files embed.FS

// Prefix is the URL path the handler is mounted at; request paths arrive
// with it still attached.
const Prefix = "/assets/"

// hashLen is how many hex digits of the sha256 go into a fingerprinted URL.
const hashLen = 10

const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// contentType returns the Content-Type for the only extensions that may be
// served; New fails on any other so an unservable file is noticed at
// start-up, not by a browser.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	}
	return "", false
}

// file is one embedded asset with everything a response needs, computed once.
type file struct {
	name        string // "css/quire.css"
	body        []byte
	sum         string // full sha256, hex
	etag        string // strong ETag: the quoted sum
	contentType string
	hashedURL   string // "/assets/css/quire.3f2a9c01bd.css"
}

// Assets serves the embedded files and maps names to fingerprinted URLs.
// It is read-only after New and safe for concurrent use.
type Assets struct {
	byName map[string]*file // "css/quire.css"
	byURL  map[string]route // every servable request path
}

// route is what a request path resolves to: the file and how long it may be
// cached (fingerprinted URLs never change, plain ones may).
type route struct {
	f            *file
	cacheControl string
}

// New walks the embedded files once, hashing each, so that Path and
// ServeHTTP never touch the file system or hash anything per request.
func New() (*Assets, error) {
	return newFromFS(files)
}

// newFromFS builds Assets from any file tree; tests use it with fstest.MapFS.
func newFromFS(fsys fs.FS) (*Assets, error) {
	a := &Assets{
		byName: make(map[string]*file),
		byURL:  make(map[string]route),
	}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		ext := path.Ext(name)
		ctype, ok := contentType(ext)
		if !ok {
			return fmt.Errorf("unsupported file type %q", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		raw := sha256.Sum256(body)
		sum := hex.EncodeToString(raw[:])
		f := &file{
			name:        name,
			body:        body,
			sum:         sum,
			etag:        `"` + sum + `"`,
			contentType: ctype,
			hashedURL:   Prefix + strings.TrimSuffix(name, ext) + "." + sum[:hashLen] + ext,
		}
		a.byName[name] = f
		a.byURL[f.hashedURL] = route{f: f, cacheControl: cacheImmutable}
		a.byURL[Prefix+name] = route{f: f, cacheControl: cacheRevalidate}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assets: load: %w", err)
	}
	return a, nil
}

// Path returns the fingerprinted URL for name (e.g. "css/quire.css" ->
// "/assets/css/quire.3f2a9c01bd.css"), or "" when there is no such asset,
// so a template func can refuse to start with a broken reference.
func (a *Assets) Path(name string) string {
	f, ok := a.byName[name]
	if !ok {
		return ""
	}
	return f.hashedURL
}

// Has reports whether name (e.g. "js/htmx.min.js") is an embedded asset.
func (a *Assets) Has(name string) bool {
	_, ok := a.byName[name]
	return ok
}

// ServeHTTP serves fingerprinted URLs as immutable and plain URLs with
// no-cache (so old links keep working); both carry a strong ETag and honour
// If-None-Match. Anything else is 404; methods other than GET/HEAD are 405.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	// Exact lookup of known paths: "..", encoded slashes and the like can
	// never match, so there is no path cleaning to get wrong.
	rt, ok := a.byURL[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", rt.f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", rt.cacheControl)
	h.Set("ETag", rt.f.etag)
	// ServeContent handles If-None-Match (304), HEAD and Range from the ETag;
	// a zero modtime keeps Last-Modified out, the hash is the validator.
	http.ServeContent(w, r, rt.f.name, time.Time{}, bytes.NewReader(rt.f.body))
}
