package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"quire/assets"
	"quire/content"
	"quire/password"
	"quire/session"
	"quire/store"
	"quire/store/storetest"
	"quire/views"
)

// fakeClock is the one clock of a test app: the session Manager, the state
// store and the handlers all read it, so advancing it moves rotation, expiry
// and rate-limit windows together.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// testEpoch is far from the real time on purpose: anything that reads the
// wall clock instead of the injected one shows up as wrong values.
var testEpoch = time.Date(2031, time.March, 14, 9, 26, 53, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{t: testEpoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cheapParams keep argon2id fast in tests; one test uses DefaultParams.
var cheapParams = password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// syncBuffer collects an app's logs; they are printed when a test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// appOptions tweak the app a test builds.
type appOptions struct {
	cfg     Config
	session session.Config
	params  password.Params
}

// testApp is the real App built from the real parts on a temporary SQLite
// file, driven in-process (no network) with a fake clock.
type testApp struct {
	t      *testing.T
	engine *gin.Engine
	store  *store.Store
	clock  *fakeClock
	web    *session.Web
	assets *assets.Assets
	base   *url.URL
	logs   *syncBuffer

	mu     sync.Mutex
	nextIP int
}

// testDeps builds the real dependencies every handler test harness shares
// (assets, views, content, the common-password list, sessions over st),
// as main's buildApp does; callers add the hasher, config and the rest.
func testDeps(tb testing.TB, st *store.Store, scfg session.Config, secure bool, now func() time.Time, log *slog.Logger) (Deps, *session.Manager) {
	tb.Helper()
	ctx := context.Background()
	as, err := assets.New()
	if err != nil {
		tb.Fatal(err)
	}
	vs, err := views.Parse(TemplateFuncs(as.Path))
	if err != nil {
		tb.Fatal(err)
	}
	common, err := password.LoadCommon()
	if err != nil {
		tb.Fatal(err)
	}
	rotKey, err := st.Secret(ctx, "session-rotation-key", 32)
	if err != nil {
		tb.Fatal(err)
	}
	csrfKey, err := st.Secret(ctx, "csrf-key", 32)
	if err != nil {
		tb.Fatal(err)
	}
	mgr := session.NewManager(st, scfg, rotKey, now, log)
	states := session.NewStateStore(st, secure, now)
	return Deps{
		Store: st, Web: session.NewWeb(mgr, st, states, secure, csrfKey, log), States: states,
		Views: vs, Assets: as, Content: content.New(), Common: common, Log: log, Now: now,
	}, mgr
}

func newTestApp(t *testing.T, opts ...func(*appOptions)) *testApp {
	t.Helper()
	o := appOptions{params: cheapParams}
	for _, f := range opts {
		f(&o)
	}
	st := storetest.Open(t, store.DialectSQLite)
	clock := newFakeClock()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})

	secure := o.cfg.Secure
	d, _ := testDeps(t, st, o.session, secure, clock.Now, log)
	d.Hasher, d.Config = password.NewHasher(o.params, 4), o.cfg
	engine, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://quire.test"
	if secure {
		base = "https://quire.test"
	}
	u, _ := url.Parse(base)
	return &testApp{t: t, engine: engine, store: st, clock: clock, web: d.Web, assets: d.Assets, base: u, logs: logs}
}

// client is one browser: its own cookie jar and client IP, redirects off.
type client struct {
	app  *testApp
	jar  *cookiejar.Jar
	ip   string
	ua   string
	csrf string // last CSRF token seen on a page
}

func (a *testApp) client() *client {
	a.mu.Lock()
	a.nextIP++
	n := a.nextIP
	a.mu.Unlock()
	jar, err := cookiejar.New(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return &client{app: a, jar: jar, ip: fmt.Sprintf("192.0.2.%d", n), ua: fmt.Sprintf("TestBrowser/%d", n)}
}

// resp is a finished response with its body read.
type resp struct {
	code    int
	header  http.Header
	body    string
	cookies []*http.Cookie
}

func (r *resp) location() string { return r.header.Get("Location") }

// cookie returns the Set-Cookie for name in this response, or nil.
func (r *resp) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var (
	csrfInputRe  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	csrfHeaderRe = regexp.MustCompile(`"X-CSRF-Token": "([^"]+)"`)
)

// do sends req through the App with this client's cookies and address and
// records what it set.
func (c *client) do(req *http.Request) *resp {
	req.RemoteAddr = c.ip + ":40000"
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.ua)
	}
	for _, ck := range c.jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.app.engine.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	r := &resp{code: res.StatusCode, header: res.Header, body: string(body), cookies: res.Cookies()}
	c.jar.SetCookies(req.URL, r.cookies)
	if m := csrfInputRe.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	} else if m := csrfHeaderRe.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	return r
}

func (c *client) newRequest(method, path string, body io.Reader) *http.Request {
	req := httptest.NewRequest(method, c.app.base.String()+path, body)
	return req
}

// get loads a page like a browser navigation.
func (c *client) get(path string) *resp {
	return c.do(c.newRequest(http.MethodGet, path, nil))
}

// postForm submits a form. Without a csrf_token key in v, the token from
// the last page is added, as the page's hidden field would.
func (c *client) postForm(path string, v url.Values) *resp {
	return c.send(http.MethodPost, path, c.withToken(v), nil)
}

func (c *client) withToken(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	if _, ok := out["csrf_token"]; !ok && c.csrf != "" {
		out.Set("csrf_token", c.csrf)
	}
	return out
}

// send is the raw form request: exactly v (may be nil) and the headers given.
func (c *client) send(method, path string, v url.Values, header http.Header) *resp {
	var body io.Reader
	if v != nil {
		body = strings.NewReader(v.Encode())
	}
	req := c.newRequest(method, path, body)
	if v != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		for _, x := range vs {
			req.Header.Add(k, x)
		}
	}
	return c.do(req)
}

// htmx sends what htmx sends: HX-Request, the CSRF header from hx-headers,
// the current URL, and v as the form body (nil for none).
func (c *client) htmx(method, path string, v url.Values) *resp {
	h := http.Header{}
	h.Set("HX-Request", "true")
	h.Set("HX-Current-URL", c.app.base.String()+path)
	if c.csrf != "" {
		h.Set("X-CSRF-Token", c.csrf)
	}
	if v == nil && method != http.MethodGet {
		v = url.Values{}
	}
	return c.send(method, path, v, h)
}

// cookieValue returns the value of a cookie in the jar ("" when none).
func (c *client) cookieValue(name string) string {
	for _, ck := range c.jar.Cookies(c.app.base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie puts a cookie in the jar by hand (to replay an old value).
func (c *client) setCookie(name, value string) {
	c.jar.SetCookies(c.app.base, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// authCookie is the name of the session cookie of this app.
func (c *client) authCookie() string { return c.app.web.CookieName() }

// signedInAs reports the name the nav shows, or "" when signed out.
func (c *client) signedInAs() string {
	r := c.get("/")
	if r.code != http.StatusOK {
		c.app.t.Fatalf("GET / = %d", r.code)
	}
	m := navUserRe.FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	return m[1]
}

var navUserRe = regexp.MustCompile(`class="nav-user">([^<]*)</a>`)

const testPassword = "correct horse battery staple"

// register signs up through the form and expects the redirect to /login.
func (c *client) register(t *testing.T, first, last, email, pw string) {
	t.Helper()
	c.get("/register")
	r := c.postForm("/register", url.Values{"first_name": {first}, "last_name": {last}, "email": {email}, "password": {pw}})
	if r.code != http.StatusSeeOther || r.location() != "/login" {
		t.Fatalf("register %s: %d %q\n%s", email, r.code, r.location(), r.body)
	}
}

// login signs in through the form, expects the redirect, and loads the home
// page so the next form has a token for the new session.
func (c *client) login(t *testing.T, email, pw string) {
	t.Helper()
	c.get("/login")
	r := c.postForm("/login", url.Values{"email": {email}, "password": {pw}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("login %s: %d\n%s", email, r.code, r.body)
	}
	c.get("/")
}

// user registers and signs in a new author on a fresh client and returns
// the client and the stored user.
func (a *testApp) user(t *testing.T, first, email string) (*client, store.User) {
	t.Helper()
	c := a.client()
	c.register(t, first, "Tester", email, testPassword)
	c.login(t, email, testPassword)
	u, err := a.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return c, u
}

var postLocRe = regexp.MustCompile(`^/blog/(\d+)$`)

// createPost publishes through the form and returns the new post's id.
func (c *client) createPost(t *testing.T, title, md string) int64 {
	t.Helper()
	r := c.postForm("/blog", url.Values{"title": {title}, "content": {md}})
	m := postLocRe.FindStringSubmatch(r.location())
	if r.code != http.StatusSeeOther || m == nil {
		t.Fatalf("create post %q: %d %q\n%s", title, r.code, r.location(), r.body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// Assertions that print enough of the response to see why.

func wantCode(t *testing.T, r *resp, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status = %d, want %d; Location %q\n%s", r.code, code, r.location(), snippet(r.body))
	}
}

func wantIn(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q\n%s", s, snippet(body))
		}
	}
}

func wantNotIn(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("body contains %q\n%s", s, snippet(body))
		}
	}
}

func snippet(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}
