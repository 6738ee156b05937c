package handlers

// The profile, author and admin tests' own harness (names start with pf so
// they never clash with the shared one in testing_test.go): the real App on
// a real database of either dialect, driven in-process, one cookie jar per
// browser, CSRF tokens scraped from the pages like a browser submits them.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"quire/assets"
	"quire/avatar"
	"quire/password"
	"quire/session"
	"quire/store"
	"quire/store/storetest"
)

const (
	pfBase     = "http://quire.test"
	pfPassword = "correct horse battery staple"
)

type pfApp struct {
	t      *testing.T
	engine *gin.Engine
	store  *store.Store
	mgr    *session.Manager
	hasher *password.Hasher
	assets *assets.Assets

	mu     sync.Mutex
	nextIP int
}

// pfNewApp builds the App as main does, on a fresh database of dialect.
func pfNewApp(t *testing.T, dialect string) *pfApp {
	t.Helper()
	st := storetest.Open(t, dialect)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	d, mgr := testDeps(t, st, session.Config{}, false, nil, log)
	hasher := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4)
	d.Hasher, d.Avatars, d.Now = hasher, avatar.New(2), nil
	engine, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	return &pfApp{t: t, engine: engine, store: st, mgr: mgr, hasher: hasher, assets: d.Assets}
}

// pfClient is one browser.
type pfClient struct {
	app  *pfApp
	jar  *cookiejar.Jar
	ip   string
	csrf string
}

type pfResp struct {
	code   int
	header http.Header
	body   string
}

func (a *pfApp) client() *pfClient {
	a.mu.Lock()
	a.nextIP++
	n := a.nextIP
	a.mu.Unlock()
	jar, err := cookiejar.New(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return &pfClient{app: a, jar: jar, ip: fmt.Sprintf("198.51.100.%d", n)}
}

var pfCSRFRe = regexp.MustCompile(`(?:name="csrf_token" value="|"X-CSRF-Token": ")([^"]+)"`)

func (c *pfClient) do(req *http.Request) *pfResp {
	req.RemoteAddr = c.ip + ":50000"
	for _, ck := range c.jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.app.engine.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	c.jar.SetCookies(req.URL, res.Cookies())
	if m := pfCSRFRe.FindStringSubmatch(string(body)); m != nil {
		c.csrf = m[1]
	}
	return &pfResp{code: res.StatusCode, header: res.Header, body: string(body)}
}

func (c *pfClient) request(method, path string, body io.Reader, header http.Header) *pfResp {
	req := httptest.NewRequest(method, pfBase+path, body)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return c.do(req)
}

func (c *pfClient) get(path string) *pfResp { return c.request(http.MethodGet, path, nil, nil) }

// post submits a form with the page's CSRF token unless v has one.
func (c *pfClient) post(path string, v url.Values) *pfResp {
	return c.form(path, v, nil)
}

// htmx posts as htmx does: HX-Request and the token in X-CSRF-Token.
func (c *pfClient) htmx(path string, v url.Values) *pfResp {
	h := http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.csrf}}
	return c.form(path, v, h)
}

func (c *pfClient) form(path string, v url.Values, h http.Header) *pfResp {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	if _, ok := out["csrf_token"]; !ok && h == nil {
		out.Set("csrf_token", c.csrf)
	}
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.request(http.MethodPost, path, strings.NewReader(out.Encode()), h)
}

// upload posts the profile form as multipart with an optional file.
func (c *pfClient) upload(path string, fields url.Values, fileName string, file []byte, htmx bool) *pfResp {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, ok := fields["csrf_token"]; !ok && !htmx {
		_ = mw.WriteField("csrf_token", c.csrf)
	}
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("avatar", fileName)
		if err != nil {
			c.app.t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	h := http.Header{"Content-Type": {mw.FormDataContentType()}}
	if htmx {
		h.Set("HX-Request", "true")
		h.Set("X-CSRF-Token", c.csrf)
	}
	return c.request(http.MethodPost, path, &body, h)
}

func (r *pfResp) location() string { return r.header.Get("Location") }

// pfUser stores a user with the test password and role.
func (a *pfApp) user(first, email, role string) store.User {
	a.t.Helper()
	hash, err := a.hasher.Hash(context.Background(), pfPassword)
	if err != nil {
		a.t.Fatal(err)
	}
	u := store.User{FirstName: first, LastName: "Tester", Email: email, PasswordHash: hash, Role: role}
	if err := a.store.CreateUser(context.Background(), &u); err != nil {
		a.t.Fatal(err)
	}
	return u
}

// login signs in through the form and loads a page, so the client holds a
// CSRF token of its new session. It returns the login's answer.
func (c *pfClient) login(email string) *pfResp {
	c.get("/login")
	r := c.post("/login", url.Values{"email": {email}, "password": {pfPassword}})
	if r.code == http.StatusSeeOther {
		c.get("/")
	}
	return r
}

// signedIn creates a user and a browser signed in as them.
func (a *pfApp) signedIn(first, email, role string) (*pfClient, store.User) {
	a.t.Helper()
	u := a.user(first, email, role)
	c := a.client()
	if r := c.login(email); r.code != http.StatusSeeOther {
		a.t.Fatalf("login %s = %d\n%s", email, r.code, pfSnippet(r.body))
	}
	return c, u
}

var pfPostLocRe = regexp.MustCompile(`^/blog/(\d+)$`)

func (c *pfClient) createPost(title string) int64 {
	c.app.t.Helper()
	c.get("/blog/new")
	r := c.post("/blog", url.Values{"title": {title}, "content": {"Some *text* for " + title}})
	m := pfPostLocRe.FindStringSubmatch(r.location())
	if r.code != http.StatusSeeOther || m == nil {
		c.app.t.Fatalf("create post %q = %d %q\n%s", title, r.code, r.location(), pfSnippet(r.body))
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func pfSnippet(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}

func pfWantCode(t *testing.T, r *pfResp, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d (Location %q)\n%s", r.code, code, r.location(), pfSnippet(r.body))
	}
}

func pfWantIn(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q\n%s", s, pfSnippet(body))
		}
	}
}

func pfWantNotIn(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("body has %q\n%s", s, pfSnippet(body))
		}
	}
}

// Test pictures: w x h, left half one color, right half another.

func pfPicture(w, h int, left, right color.Color) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if x < w/2 {
				img.Set(x, y, left)
			} else {
				img.Set(x, y, right)
			}
		}
	}
	return img
}

func pfPNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pfJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pfGIF(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
