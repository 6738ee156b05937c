package handlers

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"quire/store"
)

func postPath(id int64) string { return "/blog/" + strconv.FormatInt(id, 10) }

func TestCreatePost(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.user(t, "Ada", "ada@example.com")
	wantCode(t, c.get("/blog/new"), http.StatusOK)
	md := "# Notes\n\nSome **bold** and ~~old~~ text.\n\n- [x] done\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfmt.Println(1)\n```\n\nSee https://example.com"
	r := c.postForm("/blog", url.Values{"title": {"  My first post  "}, "content": {md}})
	wantCode(t, r, http.StatusSeeOther)
	m := postLocRe.FindStringSubmatch(r.location())
	if m == nil {
		t.Fatalf("Location = %q", r.location())
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)

	page := c.get(r.location())
	wantCode(t, page, http.StatusOK)
	wantIn(t, page.body, "<title>My first post · Quire</title>", "<h1>My first post</h1>", "Post published.",
		"<strong>bold</strong>", "<del>old</del>", `<table>`, `class="language-go"`, `type="checkbox"`,
		`<a href="https://example.com" rel="nofollow noopener">`, "Ada Tester", `<time datetime="2031-03-14T09:26:53Z">Mar 14, 2031</time>`)
	wantNotIn(t, page.body, "(edited")

	p, err := app.store.PostByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "My first post" || p.Content != md || p.UserCreated != u.ID || !p.DateCreated.Equal(app.clock.Now()) || p.UserUpdated != "" {
		t.Errorf("stored post = %+v", p)
	}
	// It is on the listing and the home page for everyone.
	anon := app.client()
	wantIn(t, anon.get("/blog").body, `<a href="/blog/`+m[1]+`">My first post</a>`, "Some bold and old text.")
	wantIn(t, anon.get("/").body, "Latest posts", "My first post")
}

func TestCreatePostInvalid(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	c.get("/blog/new")
	tests := []struct {
		name      string
		title     string
		content   string
		field     string
		msg       string
		keptTitle string // the title value attribute as re-rendered (escaped)
		keptBody  string // the textarea text re-rendered ("" = content as sent)
	}{
		{"empty title", "   ", "draft **text** kept", "title", "Title is required.", "", ""},
		{"too long title", strings.Repeat("t", 201), "kept", "title", "at most 200 characters", strings.Repeat("t", 201), ""},
		{"long title in runes", strings.Repeat("é", 201), "kept", "title", "at most 200 characters", strings.Repeat("é", 201), ""},
		{"invalid UTF-8 title", "Caf\xff\xfe", "kept", "title", "not valid UTF-8", "Caf", ""},
		{"invalid UTF-8 content", "Fine title", "bad \xc3\x28 bytes", "content", "not valid UTF-8", "Fine title", "bad ( bytes"},
		{"NUL in title", "a\x00b", "kept", "title", "NUL", "a\ufffdb", ""},
		{"NUL in content", "Fine title", "a\x00b", "content", "NUL", "Fine title", "-"},
		{"newline in title", "two\nlines", "kept", "title", "single line", "two\nlines", ""},
		{"too long content", "Fine title", strings.Repeat("x", 100_001), "content", "at most 100000 characters", "Fine title", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.postForm("/blog", url.Values{"title": {tt.title}, "content": {tt.content}})
			wantCode(t, r, http.StatusUnprocessableEntity)
			errs := fieldErrRe.FindAllStringSubmatch(r.body, -1)
			if len(errs) != 1 || errs[0][1] != tt.field || !strings.Contains(html.UnescapeString(errs[0][2]), tt.msg) {
				t.Fatalf("field errors = %q, want one on %s with %q", errs, tt.field, tt.msg)
			}
			wantIn(t, r.body, `name="title" type="text" value="`+tt.keptTitle+`"`)
			switch tt.keptBody {
			case "":
				wantIn(t, r.body, ">"+html.EscapeString(tt.content)+"</textarea>")
			case "-":
			default:
				wantIn(t, r.body, ">"+tt.keptBody+"</textarea>")
			}
		})
	}
	// Raw bytes straight in the body, not percent-encoded.
	body := "title=Bad+\xff\xfe+title&content=x&csrf_token=" + url.QueryEscape(c.csrf)
	req := c.newRequest(http.MethodPost, "/blog", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := c.do(req)
	wantCode(t, r, http.StatusUnprocessableEntity)
	wantIn(t, r.body, "Title contains invalid characters (not valid UTF-8).")
	if strings.Contains(r.body, "\xff") || !strings.Contains(r.body, `value="Bad  title"`) {
		t.Errorf("invalid bytes echoed or text lost:\n%s", snippet(r.body))
	}
	if posts, _ := app.store.ListPosts(context.Background(), store.ListPostsQuery{Limit: 10}); len(posts) != 0 {
		t.Errorf("invalid posts stored: %d", len(posts))
	}
}

func TestPostFormHTMXOrFullOn422(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	c.get("/blog/new")
	r := c.htmx(http.MethodPost, "/blog", url.Values{"title": {""}, "content": {"draft"}})
	wantCode(t, r, http.StatusUnprocessableEntity)
	if !strings.HasPrefix(r.body, `<form id="post-form"`) || strings.Contains(r.body, "<html") || strings.Contains(r.body, "<nav") {
		t.Errorf("htmx 422 is not the form fragment:\n%s", snippet(r.body))
	}
	wantIn(t, r.body, "Title is required.", ">draft</textarea>")
	r = c.postForm("/blog", url.Values{"title": {""}, "content": {"draft"}})
	wantCode(t, r, http.StatusUnprocessableEntity)
	wantIn(t, r.body, "<!doctype html>", "<h1>Add New Post</h1>", `<form id="post-form"`, "Title is required.")
	// Success over htmx is a full navigation to the post.
	r = c.htmx(http.MethodPost, "/blog", url.Values{"title": {"Via htmx"}, "content": {"x"}})
	wantCode(t, r, http.StatusOK)
	if !postLocRe.MatchString(r.header.Get("HX-Redirect")) {
		t.Errorf("HX-Redirect = %q", r.header.Get("HX-Redirect"))
	}
}

func TestOversizedFormKeepsSession(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	c.get("/blog/new")
	r := c.postForm("/blog", url.Values{"title": {"Huge"}, "content": {strings.Repeat("x", 2<<20)}})
	wantCode(t, r, http.StatusRequestEntityTooLarge)
	wantIn(t, r.body, "Nothing was saved", `class="nav-user">Ada Tester<`)
	// The page's token still works.
	c.createPost(t, "Small", "fits")
}

var cardRe = regexp.MustCompile(`<article class="card" id="post-(\d+)">`)
var nextRe = regexp.MustCompile(`<a class="button" href="(/blog\?before=[0-9-]+)"`)

func TestListPagination(t *testing.T) {
	t.Parallel()
	for _, step := range []time.Duration{0, time.Second} {
		name := "equal timestamps"
		if step > 0 {
			name = "distinct timestamps"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			app := newTestApp(t)
			c, _ := app.user(t, "Ada", "ada@example.com")
			var ids []int64
			for i := 0; i < 45; i++ {
				ids = append(ids, c.createPost(t, "Post "+strconv.Itoa(i), "Body "+strconv.Itoa(i)))
				app.clock.Advance(step)
			}
			// Newest first: the reverse of creation.
			var want []int64
			for i := len(ids) - 1; i >= 0; i-- {
				want = append(want, ids[i])
			}

			anon := app.client()
			var got []int64
			path := "/blog"
			var pages []int
			for path != "" {
				r := anon.get(path)
				wantCode(t, r, http.StatusOK)
				cards := cardRe.FindAllStringSubmatch(r.body, -1)
				pages = append(pages, len(cards))
				for _, m := range cards {
					id, _ := strconv.ParseInt(m[1], 10, 64)
					got = append(got, id)
				}
				path = ""
				if m := nextRe.FindStringSubmatch(r.body); m != nil {
					path = html.UnescapeString(m[1])
				}
				if len(pages) > 5 {
					t.Fatal("pagination does not end")
				}
			}
			if strconv.Itoa(len(pages)) != "3" || pages[0] != 20 || pages[1] != 20 || pages[2] != 5 {
				t.Errorf("page sizes = %v, want [20 20 5]", pages)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d posts, want %d: %v", len(got), len(want), got)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("order differs at %d: got %v\nwant %v", i, got, want)
				}
			}

			// htmx "Load more" returns only the next cards and button.
			first := anon.get("/blog")
			next := html.UnescapeString(nextRe.FindStringSubmatch(first.body)[1])
			r := anon.htmx(http.MethodGet, next, nil)
			wantCode(t, r, http.StatusOK)
			if !strings.HasPrefix(r.body, `<article class="card"`) || strings.Contains(r.body, "<html") ||
				strings.Contains(r.body, "<h1") || strings.Contains(r.body, "<nav") {
				t.Errorf("load more is not a fragment:\n%s", snippet(r.body))
			}
			if n := len(cardRe.FindAllString(r.body, -1)); n != 20 {
				t.Errorf("load more has %d cards", n)
			}
			wantIn(t, r.body, `<div class="load-more" id="load-more">`, `hx-get="/blog?before=`)
			if r.header.Get("Vary") != "HX-Request" {
				t.Errorf("Vary = %q", r.header.Get("Vary"))
			}
		})
	}
}

func TestListEdgeCases(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	r := c.get("/blog")
	wantCode(t, r, http.StatusOK)
	wantIn(t, r.body, "No posts yet.")
	for _, bad := range []string{"x", "1-", "-1-2", "123", "1-0", "99999999999999999999-1"} {
		wantCode(t, c.get("/blog?before="+url.QueryEscape(bad)), http.StatusBadRequest)
	}
	wantCode(t, c.get("/blog?before=1-1"), http.StatusOK)
}

func TestPostDetail(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a, _ := app.user(t, "Ada", "ada@example.com")
	id := a.createPost(t, "Hello", "Body with <script>alert(1)</script> and [x](javascript:alert(2))")
	r := app.client().get(postPath(id))
	wantCode(t, r, http.StatusOK)
	wantIn(t, r.body, "<h1>Hello</h1>", `<a href="/authors/`, "Ada Tester", "Mar 14, 2031", `<img class="avatar" src="/assets/img/avatar.`)
	wantNotIn(t, r.body, "<script>alert", "javascript:", "alert(1)</script>")

	for _, path := range []string{"/blog/999", "/blog/abc", "/blog/-1", "/blog/0", "/blog/99999999999999999999", "/blog/1e3", "/blog/%201"} {
		r := app.client().get(path)
		wantCode(t, r, http.StatusNotFound)
		wantIn(t, r.body, "Page not found")
	}
	for _, path := range []string{"/blog/999/edit", "/blog/abc/edit", "/blog/-1/delete", "/blog/99999999999999999999/edit"} {
		wantCode(t, a.get(path), http.StatusNotFound)
	}
	a.get("/")
	wantCode(t, a.postForm("/blog/999/edit", url.Values{"title": {"x"}}), http.StatusNotFound)
	wantCode(t, a.htmx(http.MethodDelete, "/blog/999", nil), http.StatusNotFound)
}

func TestEditOwnPost(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a, u := app.user(t, "Ada", "ada@example.com")
	md := "Original *markdown* with a < sign"
	id := a.createPost(t, "Original title", md)

	r := a.get(postPath(id) + "/edit")
	wantCode(t, r, http.StatusOK)
	wantIn(t, r.body, "<h1>Update Original title</h1>", `name="title" type="text" value="Original title"`,
		">"+html.EscapeString(md)+"</textarea>", `action="`+postPath(id)+`/edit"`)

	app.clock.Advance(48 * time.Hour)
	r = a.postForm(postPath(id)+"/edit", url.Values{"title": {"New title"}, "content": {"New **body**"}})
	wantCode(t, r, http.StatusSeeOther)
	if r.location() != postPath(id) {
		t.Errorf("Location = %q", r.location())
	}
	page := a.get(postPath(id))
	wantIn(t, page.body, "<h1>New title</h1>", "<strong>body</strong>", "Post updated.", "(edited", "Mar 16, 2031")
	p, _ := app.store.PostByID(context.Background(), id)
	if p.UserUpdated != u.ID || !p.DateUpdated.Equal(app.clock.Now()) || p.UserCreated != u.ID {
		t.Errorf("post = %+v", p)
	}

	// htmx PUT does the same and answers with HX-Redirect.
	r = a.htmx(http.MethodPut, postPath(id), url.Values{"title": {"Put title"}, "content": {"put"}})
	wantCode(t, r, http.StatusOK)
	if r.header.Get("HX-Redirect") != postPath(id) {
		t.Errorf("HX-Redirect = %q", r.header.Get("HX-Redirect"))
	}
	// Invalid edit: 422, text kept, nothing saved.
	r = a.postForm(postPath(id)+"/edit", url.Values{"title": {""}, "content": {"unsaved draft"}})
	wantCode(t, r, http.StatusUnprocessableEntity)
	wantIn(t, r.body, "Title is required.", ">unsaved draft</textarea>", "<h1>Update Put title</h1>")
	if p, _ := app.store.PostByID(context.Background(), id); p.Title != "Put title" {
		t.Errorf("title = %q", p.Title)
	}
}

func TestCannotChangeSomeoneElsesPost(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	owner, _ := app.user(t, "Ada", "ada@example.com")
	id := owner.createPost(t, "Ada's post", "Ada's words")
	before, _ := app.store.PostByID(context.Background(), id)
	mallory, _ := app.user(t, "Mallory", "mallory@example.com")
	mallory.get("/blog")

	edit := url.Values{"title": {"Pwned"}, "content": {"pwned"}, "user_created": {""}}
	tests := []struct {
		name string
		do   func() *resp
	}{
		{"GET edit", func() *resp { return mallory.get(postPath(id) + "/edit") }},
		{"POST edit", func() *resp { return mallory.postForm(postPath(id)+"/edit", edit) }},
		{"PUT htmx", func() *resp { return mallory.htmx(http.MethodPut, postPath(id), edit) }},
		{"GET delete", func() *resp { return mallory.get(postPath(id) + "/delete") }},
		{"POST delete", func() *resp { return mallory.postForm(postPath(id)+"/delete", nil) }},
		{"DELETE htmx", func() *resp { return mallory.htmx(http.MethodDelete, postPath(id), nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			wantCode(t, r, http.StatusForbidden)
			wantIn(t, r.body, "You can only change your own posts")
		})
	}
	after, err := app.store.PostByID(context.Background(), id)
	if err != nil {
		t.Fatalf("post gone: %v", err)
	}
	if after.Title != before.Title || after.Content != before.Content || after.UserUpdated != "" || !after.DateUpdated.IsZero() {
		t.Errorf("post changed: %+v", after)
	}
	// And no Edit/Delete for her on the page or the listing.
	for _, path := range []string{postPath(id), "/blog", "/"} {
		body := mallory.get(path).body
		wantNotIn(t, body, postPath(id)+"/edit", postPath(id)+"/delete", `hx-delete="`+postPath(id)+`"`)
	}
	for _, path := range []string{postPath(id), "/blog"} {
		wantIn(t, owner.get(path).body, postPath(id)+"/edit", postPath(id)+"/delete")
	}
	wantNotIn(t, app.client().get(postPath(id)).body, "/edit", "/delete")
}

func TestDeleteOwnPost(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a, _ := app.user(t, "Ada", "ada@example.com")
	id := a.createPost(t, "Doomed", "bye")

	r := a.get(postPath(id) + "/delete")
	wantCode(t, r, http.StatusOK)
	wantIn(t, r.body, "Delete “Doomed”?", `action="`+postPath(id)+`/delete"`, "cannot be undone")
	if _, err := app.store.PostByID(context.Background(), id); err != nil {
		t.Fatal("the confirmation page deleted the post")
	}
	r = a.postForm(postPath(id)+"/delete", nil)
	wantCode(t, r, http.StatusSeeOther)
	if r.location() != "/blog" {
		t.Errorf("Location = %q", r.location())
	}
	wantIn(t, a.get("/blog").body, "Post deleted.")
	wantCode(t, a.get(postPath(id)), http.StatusNotFound)

	// htmx DELETE from the listing: 200 with an empty body (the card goes).
	id2 := a.createPost(t, "Doomed too", "bye")
	a.get("/blog")
	r = a.htmx(http.MethodDelete, postPath(id2), nil)
	wantCode(t, r, http.StatusOK)
	if r.body != "" {
		t.Errorf("body = %q", r.body)
	}
	if _, err := app.store.PostByID(context.Background(), id2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("post still there: %v", err)
	}
	// Deleting again: not found.
	wantCode(t, a.htmx(http.MethodDelete, postPath(id2), nil), http.StatusNotFound)
}

func TestForgedOwnerFieldsIgnored(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	victim, v := app.user(t, "Victim", "victim@example.com")
	victim.createPost(t, "Victim's", "x")
	a, u := app.user(t, "Ada", "ada@example.com")
	forged := url.Values{"title": {"Forged"}, "content": {"x"}, "user_created": {v.ID}, "userId": {v.ID},
		"user_updated": {v.ID}, "date_created": {"2001-01-01"}, "id": {"1"}}
	id := a.createPost(t, "placeholder", "x")
	r := a.postForm("/blog", forged)
	wantCode(t, r, http.StatusSeeOther)
	newID, _ := strconv.ParseInt(postLocRe.FindStringSubmatch(r.location())[1], 10, 64)
	p, _ := app.store.PostByID(context.Background(), newID)
	if p.UserCreated != u.ID || !p.DateCreated.Equal(app.clock.Now()) {
		t.Errorf("forged owner or date accepted: %+v", p)
	}
	// On update too.
	wantCode(t, a.postForm(postPath(id)+"/edit", forged), http.StatusSeeOther)
	p, _ = app.store.PostByID(context.Background(), id)
	if p.UserCreated != u.ID || p.UserUpdated != u.ID {
		t.Errorf("forged owner accepted on update: %+v", p)
	}
	if vp, _ := app.store.PostByID(context.Background(), 1); vp.Title != "Victim's" {
		t.Errorf("victim's post changed: %+v", vp)
	}
}

func TestAdminMayChangeAnyPost(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	author, _ := app.user(t, "Ada", "ada@example.com")
	id := author.createPost(t, "Ada's", "words")
	id2 := author.createPost(t, "Ada's second", "words")
	boss, b := app.user(t, "Boss", "boss@example.com")
	if err := app.store.SetRole(context.Background(), b.ID, store.RoleAdmin, app.clock.Now()); err != nil {
		t.Fatal(err)
	}
	boss.postForm("/logout", nil)
	boss.login(t, "boss@example.com", testPassword)

	// The admin sees Edit/Delete on others' posts.
	wantIn(t, boss.get(postPath(id)).body, postPath(id)+"/edit", postPath(id)+"/delete")
	wantIn(t, boss.get("/blog").body, `hx-delete="`+postPath(id)+`"`)

	r := boss.get(postPath(id) + "/edit")
	wantCode(t, r, http.StatusOK)
	wantIn(t, r.body, `value="Ada&#39;s"`)
	r = boss.postForm(postPath(id)+"/edit", url.Values{"title": {"Moderated"}, "content": {"edited by admin"}})
	wantCode(t, r, http.StatusSeeOther)
	p, _ := app.store.PostByID(context.Background(), id)
	if p.Title != "Moderated" || p.UserCreated == b.ID || p.UserUpdated != b.ID {
		t.Errorf("admin edit: %+v", p)
	}
	// The author still owns it and may still edit it.
	wantCode(t, author.get(postPath(id)+"/edit"), http.StatusOK)

	r = boss.postForm(postPath(id2)+"/delete", nil)
	wantCode(t, r, http.StatusSeeOther)
	if _, err := app.store.PostByID(context.Background(), id2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("admin delete: %v", err)
	}
}

func TestOriginalPathsRedirect(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	for from, to := range map[string]string{
		"/create-post":         "/blog/new",
		"/post/create-post":    "/blog/new",
		"/post/update-post/5":  "/blog/5/edit",
		"/post/update-post/42": "/blog/42/edit",
	} {
		r := c.get(from)
		if r.code != http.StatusMovedPermanently || r.location() != to {
			t.Errorf("%s: %d %q, want 301 %q", from, r.code, r.location(), to)
		}
	}
}

func TestPreview(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	anon := app.client()
	anon.get("/")
	r := anon.postForm("/blog/preview", url.Values{"content": {"**hi**"}})
	wantCode(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.location(), "/login") {
		t.Errorf("Location = %q", r.location())
	}
	r = anon.htmx(http.MethodPost, "/blog/preview", url.Values{"content": {"**hi**"}})
	if r.header.Get("HX-Redirect") == "" || r.code == http.StatusOK {
		t.Errorf("signed-out htmx preview: %d %q", r.code, r.header.Get("HX-Redirect"))
	}

	c, _ := app.user(t, "Ada", "ada@example.com")
	c.get("/blog/new")
	wantCode(t, c.send(http.MethodPost, "/blog/preview", url.Values{"content": {"**hi**"}}, http.Header{"Hx-Request": {"true"}}), http.StatusForbidden)

	tests := []struct {
		name    string
		md      string
		want    []string
		notWant []string
	}{
		{"markdown", "**hi** _there_", []string{"<strong>hi</strong>", "<em>there</em>"}, nil},
		{"script", "<script>alert(1)</script>\n\nok", []string{"<p>ok</p>"}, []string{"<script", "alert(1)"}},
		{"handler", `<img src=x onerror="alert(1)">`, nil, []string{"onerror", "<img src=x"}},
		{"js link", "[x](javascript:alert(1))", nil, []string{"javascript:"}},
		{"iframe", `<iframe src="https://evil.example"></iframe>`, nil, []string{"<iframe"}},
		{"empty", "   ", []string{"Nothing to preview yet."}, nil},
		{"NUL", "a\x00b", []string{"Content contains a NUL character."}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.htmx(http.MethodPost, "/blog/preview", url.Values{"content": {tt.md}})
			wantCode(t, r, http.StatusOK)
			wantIn(t, r.body, tt.want...)
			wantNotIn(t, r.body, append(tt.notWant, "<html", "<nav")...)
		})
	}
	if posts, _ := app.store.ListPosts(context.Background(), store.ListPostsQuery{Limit: 10}); len(posts) != 0 {
		t.Error("preview stored a post")
	}
}
