package handlers

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"quire/bench/seed"
	"quire/content"
	"quire/password"
	"quire/session"
	"quire/store"
	"quire/store/storetest"
	"quire/views"
)

// benchSite is the real App over a seeded SQLite file, driven in-process,
// so these benchmarks measure the handler stack without the network.
type benchSite struct {
	engine *gin.Engine
	views  *views.Views
	store  *store.Store
	seed   *seed.Result
	guest  string // Cookie header of a returning visitor
	member string // Cookie header of a signed-in author
}

func newBenchSite(b *testing.B, posts int) *benchSite {
	b.Helper()
	ctx := context.Background()
	st := storetest.Open(b, store.DialectSQLite)
	cheap := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	res, err := seed.Seed(ctx, st, content.New(), cheap, seed.Options{Users: 10, Posts: posts, Bodies: 200})
	if err != nil {
		b.Fatal(err)
	}
	// Production logging: one text line per request, here to io.Discard.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, _ := testDeps(b, st, session.Config{}, false, nil, log)
	d.Hasher, d.Now = cheap, nil
	engine, err := New(d)
	if err != nil {
		b.Fatal(err)
	}
	s := &benchSite{engine: engine, views: d.Views, store: st, seed: res}

	// A returning visitor holds a state cookie; a member signs in for real.
	w := s.do("GET", "/login", "", "")
	s.guest = cookieHeader(w)
	tok := csrfInputRe.FindStringSubmatch(w.Body.String())
	if tok == nil {
		b.Fatal("no CSRF token on /login")
	}
	form := url.Values{"email": {res.Users[1].Email}, "password": {res.Password}, "csrf_token": {tok[1]}}
	w = s.do("POST", "/login", s.guest, form.Encode())
	if w.Code != http.StatusSeeOther {
		b.Fatalf("sign-in: status %d", w.Code)
	}
	s.member = cookieHeader(w)
	return s
}

// cookieHeader turns a response's Set-Cookie headers into a Cookie header.
func cookieHeader(w *httptest.ResponseRecorder) string {
	var parts []string
	for _, c := range w.Result().Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return strings.Join(parts, "; ")
}

func (s *benchSite) do(method, path, cookie, form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(form))
	req.RemoteAddr = "127.0.0.1:40000"
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	s.engine.ServeHTTP(w, req)
	return w
}

// BenchmarkListingTemplate is the template alone: the full /blog layout
// with 20 post cards, as a signed-in author sees it.
func BenchmarkListingTemplate(b *testing.B) {
	s := newBenchSite(b, 200)
	posts, err := s.store.ListPosts(context.Background(), store.ListPostsQuery{Limit: pageSize})
	if err != nil || len(posts) != pageSize {
		b.Fatalf("ListPosts: %d posts, %v", len(posts), err)
	}
	u, err := s.store.UserByEmail(context.Background(), s.seed.Users[1].Email)
	if err != nil {
		b.Fatal(err)
	}
	page := &BlogPage{BasePath: "/blog", Next: "1700000000000-42"}
	for _, p := range posts {
		mine := p.UserCreated == u.ID
		page.Cards = append(page.Cards, PostCard{Post: p, CanEdit: mine, CanDelete: mine})
	}
	v := View{User: &u, CSRF: strings.Repeat("x", 43), Path: "/blog", Version: "bench", Data: page}
	// "cards" renders every card through the template; "memo" is what a
	// request does once the cards are in the card memo.
	for _, bc := range []struct {
		name string
		memo bool
	}{{"cards", false}, {"memo", true}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := range page.Cards {
				page.Cards[i].HTML = ""
				if bc.memo {
					k := page.Cards[i]
					h, err := s.views.Fragment("blog", "post_card", k)
					if err != nil {
						b.Fatal(err)
					}
					page.Cards[i].HTML = h
				}
			}
			var buf bytes.Buffer
			if err := s.views.Render(&buf, "blog", "layout", v); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(buf.Len()))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := s.views.Render(&buf, "blog", "layout", v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRequests runs whole requests through the gin engine on a seeded
// database: middleware, session, store query, template and headers.
func BenchmarkRequests(b *testing.B) {
	s := newBenchSite(b, 2000)
	n := len(s.seed.PostIDs)
	mid := n / 2
	deep := "/blog?before=" + strconv.FormatInt(s.seed.PostDates[mid], 10) + "-" + strconv.FormatInt(s.seed.PostIDs[mid], 10)
	post := "/blog/" + strconv.FormatInt(s.seed.PostIDs[mid], 10)
	for _, bc := range []struct {
		name, path, cookie, want string
	}{
		{"blog/signed-out", "/blog", s.guest, "Sign in"},
		{"blog/signed-in", "/blog", s.member, "Sign out"},
		{"blog-deep/signed-out", deep, s.guest, `id="post-` + strconv.FormatInt(s.seed.PostIDs[mid-1], 10) + `"`},
		{"post/signed-out", post, s.guest, "<article"},
		{"post/signed-in", post, s.member, "Sign out"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := s.do("GET", bc.path, bc.cookie, "")
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), bc.want) {
				b.Fatalf("GET %s: status %d, body lacks %q", bc.path, w.Code, bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				if w := s.do("GET", bc.path, bc.cookie, ""); w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
