package handlers

// Helpers of the abuse tests (abuse_test.go), all prefixed "ab". The tests
// themselves use the shared harness of testing_test.go; the fuzz targets
// need an app built from a testing.TB (a *testing.F builds it once per fuzz
// worker), so abNewApp builds the same real App without it.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"quire/password"
	"quire/session"
	"quire/store"
	"quire/store/storetest"
)

// abApp is the real App as newTestApp builds it, on either dialect, for
// callers that only have a testing.TB.
type abApp struct {
	engine *gin.Engine
	store  *store.Store
	web    *session.Web
	clock  *fakeClock
}

// abNewApp builds the App on a fresh database of dialect with the fake
// clock and cheap password hashing; its log goes to logw.
func abNewApp(tb testing.TB, dialect string, logw io.Writer) *abApp {
	tb.Helper()
	st := storetest.Open(tb, dialect)
	clock := newFakeClock()
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, _ := testDeps(tb, st, session.Config{}, false, clock.Now, log)
	d.Hasher = password.NewHasher(cheapParams, 4)
	// Generous limits: fuzzing registers many accounts from one address.
	d.Config = Config{RegisterPerIP: 1 << 30, LoginIPLimit: 1 << 30}
	engine, err := New(d)
	if err != nil {
		tb.Fatal(err)
	}
	return &abApp{engine: engine, store: st, web: d.Web, clock: clock}
}

// abBrowser is a minimal browser for abApp: cookies by name, the last CSRF
// token seen, one client address.
type abBrowser struct {
	h       http.Handler
	ip      string
	cookies map[string]string
	csrf    string
}

func (a *abApp) browser(ip string) *abBrowser {
	return &abBrowser{h: a.engine, ip: ip, cookies: map[string]string{}}
}

// abResp is a finished response.
type abResp struct {
	code   int
	header http.Header
	body   string
}

// do sends a request with the browser's cookies (plus any Cookie header
// given) and records what it set.
func (b *abBrowser) do(method, path, body, ctype string, header http.Header) abResp {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://quire.test"+path, r)
	req.RemoteAddr = b.ip + ":40000"
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for name, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	for k, vs := range header {
		req.Header[k] = append(req.Header[k], vs...)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	res := rec.Result()
	out, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(b.cookies, ck.Name)
		} else {
			b.cookies[ck.Name] = ck.Value
		}
	}
	if m := csrfInputRe.FindStringSubmatch(string(out)); m != nil {
		b.csrf = m[1]
	} else if m := csrfHeaderRe.FindStringSubmatch(string(out)); m != nil {
		b.csrf = m[1]
	}
	return abResp{code: res.StatusCode, header: res.Header, body: string(out)}
}

// form posts v (with the last CSRF token) as a browser form would.
func (b *abBrowser) form(path string, v url.Values) abResp {
	w := url.Values{}
	for k, vs := range v {
		w[k] = vs
	}
	if _, ok := w["csrf_token"]; !ok {
		w.Set("csrf_token", b.csrf)
	}
	return b.do(http.MethodPost, path, w.Encode(), "application/x-www-form-urlencoded", nil)
}

// abSignIn registers and signs in a new author through the forms.
func abSignIn(tb testing.TB, a *abApp, ip, email string) *abBrowser {
	tb.Helper()
	b := a.browser(ip)
	b.do(http.MethodGet, "/register", "", "", nil)
	r := b.form("/register", url.Values{"first_name": {"Fuzz"}, "last_name": {"Er"}, "email": {email}, "password": {testPassword}})
	if r.code != http.StatusSeeOther {
		tb.Fatalf("register %s: %d\n%s", email, r.code, snippet(r.body))
	}
	b.do(http.MethodGet, "/login", "", "", nil)
	r = b.form("/login", url.Values{"email": {email}, "password": {testPassword}})
	if r.code != http.StatusSeeOther {
		tb.Fatalf("login %s: %d\n%s", email, r.code, snippet(r.body))
	}
	b.do(http.MethodGet, "/blog/new", "", "", nil)
	return b
}

// abPosts returns every post (tests create far fewer than the page limit).
func abPosts(t testing.TB, st *store.Store) []store.Post {
	t.Helper()
	posts, err := st.ListPosts(context.Background(), store.ListPostsQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return posts
}

// abUsers returns every user's email.
func abUsers(t testing.TB, st *store.Store) []string {
	t.Helper()
	us, err := st.ListUsers(context.Background(), store.ListUsersQuery{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Email
	}
	return out
}

// abRawForm posts an already encoded body with the client's cookies and
// CSRF header (so the body itself can be anything).
func (c *client) abRawForm(method, path, body, ctype string) *resp {
	req := c.newRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("X-CSRF-Token", c.csrf)
	return c.do(req)
}

// abLocal reports whether a redirect target stays on this site: a path
// (absolute or relative) that no browser resolves to another host; browsers
// read a backslash as a slash.
func abLocal(loc string) bool {
	norm := strings.ReplaceAll(loc, "\\", "/")
	if strings.HasPrefix(norm, "//") || strings.ContainsAny(loc, "\r\n\t\x00") {
		return false
	}
	u, err := url.Parse(norm)
	return err == nil && u.Host == "" && u.Scheme == "" && u.Opaque == ""
}
