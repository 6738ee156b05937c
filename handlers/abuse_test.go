package handlers

// The bad-input matrix of issue 9: what a hostile or broken client can send
// to the web tier, and the answer it must get. Process-level faults (crash,
// shutdown, database trouble, floods, soak) live in ../reliability.

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"quire/store"
	"quire/store/storetest"
)

func TestAbuseOversizedBodies(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	id := c.createPost(t, "Original", "text")
	c.get("/blog/new")
	big := func(field string) string { return field + "=" + strings.Repeat("a", 1<<20) }
	tests := []struct {
		name, method, path, body, ctype string
		chunked                         bool // no Content-Length: the limit must hold while reading
	}{
		{"login", http.MethodPost, "/login", big("email"), formType, false},
		{"register", http.MethodPost, "/register", big("first_name"), formType, false},
		{"create post", http.MethodPost, "/blog", "title=x&" + big("content"), formType, false},
		{"create post chunked", http.MethodPost, "/blog", "title=x&" + big("content") + big("&more"), formType, true},
		{"create post multipart", http.MethodPost, "/blog", abMultipart("content", strings.Repeat("a", 1<<20+10)), "multipart/form-data; boundary=" + abBoundary, false},
		{"edit post", http.MethodPost, postPath(id) + "/edit", "title=x&" + big("content"), formType, false},
		{"put post", http.MethodPut, postPath(id), "title=x&" + big("content"), formType, true},
		{"preview", http.MethodPost, "/blog/preview", big("content"), formType, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length: ContentLength -1
			}
			req := c.newRequest(tt.method, tt.path, body)
			req.Header.Set("Content-Type", tt.ctype)
			req.Header.Set("X-CSRF-Token", c.csrf)
			if tt.chunked && req.ContentLength != -1 {
				t.Fatalf("ContentLength = %d, want -1", req.ContentLength)
			}
			r := c.do(req)
			wantCode(t, r, http.StatusRequestEntityTooLarge)
			wantIn(t, r.body, "<!doctype html>", "larger than this site accepts")
		})
	}
	posts := abPosts(t, app.store)
	if len(posts) != 1 || posts[0].Title != "Original" || posts[0].Content != "text" {
		t.Errorf("posts after oversized requests = %+v", posts)
	}
	if us := abUsers(t, app.store); len(us) != 1 {
		t.Errorf("users = %v", us)
	}
	// The session survived every 413.
	wantCode(t, c.get("/account"), http.StatusOK)
}

const (
	formType   = "application/x-www-form-urlencoded"
	abBoundary = "ab0undary"
)

func abMultipart(field, value string) string {
	return "--" + abBoundary + "\r\nContent-Disposition: form-data; name=\"" + field + "\"\r\n\r\n" +
		value + "\r\n--" + abBoundary + "--\r\n"
}

// abMalformedPost is what an author can type into the post form that must
// be refused with the field's message.
var abMalformedPost = []struct {
	name string
	form url.Values
	msg  string
}{
	{"no fields", url.Values{}, "Title is required."},
	{"missing title", url.Values{"content": {"body"}}, "Title is required."},
	{"blank title", url.Values{"title": {" \t "}, "content": {"body"}}, "Title is required."},
	{"repeated title", url.Values{"title": {"One", "Two"}, "content": {"body"}}, "Title was sent more than once."},
	{"repeated content", url.Values{"title": {"T"}, "content": {"a", "b"}}, "Content was sent more than once."},
	{"invalid UTF-8 title", url.Values{"title": {"caf\xe9"}, "content": {"x"}}, "Title contains invalid characters (not valid UTF-8)."},
	{"invalid UTF-8 content", url.Values{"title": {"T"}, "content": {"ok \xc3\x28"}}, "Content contains invalid characters (not valid UTF-8)."},
	{"NUL in title", url.Values{"title": {"a\x00b"}, "content": {"x"}}, "Title contains a NUL character."},
	{"NUL in content", url.Values{"title": {"T"}, "content": {"x\x00"}}, "Content contains a NUL character."},
	{"1 MB title", url.Values{"title": {strings.Repeat("t", 1_000_000)}, "content": {"x"}}, "Title must be at most 200 characters."},
	{"content over the limit", url.Values{"title": {"T"}, "content": {strings.Repeat("c", maxContent+1)}}, "Content must be at most 100000 characters."},
	{"bell in title", url.Values{"title": {"ding\x07"}, "content": {"x"}}, "Title contains control characters."},
	{"escape in content", url.Values{"title": {"T"}, "content": {"\x1b[31mred"}}, "Content contains control characters."},
	{"DEL in title", url.Values{"title": {"a\x7f"}}, "Title contains control characters."},
	{"C1 control in title", url.Values{"title": {"a\u0085b"}}, "Title contains control characters."},
	{"newline in title", url.Values{"title": {"two\nlines"}}, "Title must be a single line."},
	{"RTL override in title", url.Values{"title": {"invoice\u202egpj.exe"}}, "Title contains text-direction override characters."},
	{"isolate in title", url.Values{"title": {"\u2067abc\u2069"}}, "Title contains text-direction override characters."},
}

func TestAbuseMalformedPostForm(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			a := abNewApp(t, d, io.Discard)
			b := abSignIn(t, a, "192.0.2.1", "ada@example.com")
			r := b.form("/blog", url.Values{"title": {"Kept"}, "content": {"kept"}})
			if r.code != http.StatusSeeOther {
				t.Fatalf("create: %d", r.code)
			}
			edit := r.header.Get("Location") + "/edit"
			for _, tt := range abMalformedPost {
				for _, path := range []string{"/blog", edit} {
					r := b.form(path, tt.form)
					if r.code != http.StatusUnprocessableEntity {
						t.Errorf("%s %s: status %d, want 422\n%s", tt.name, path, r.code, snippet(r.body))
						continue
					}
					if !strings.Contains(r.body, html.EscapeString(tt.msg)) || !strings.Contains(r.body, "<form") {
						t.Errorf("%s %s: the form lacks %q", tt.name, path, tt.msg)
					}
				}
			}
			posts := abPosts(t, a.store)
			if len(posts) != 1 || posts[0].Title != "Kept" || posts[0].Content != "kept" || !posts[0].DateUpdated.IsZero() {
				t.Errorf("stored posts changed: %+v", posts)
			}
		})
	}
}

func TestAbuseMalformedRegisterForm(t *testing.T) {
	t.Parallel()
	valid := url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}, "email": {"grace@example.com"}, "password": {testPassword}}
	with := func(k string, v ...string) url.Values {
		out := url.Values{}
		for kk, vv := range valid {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		form url.Values
		msg  string
	}{
		{"no fields", url.Values{}, "First name is required."},
		{"missing email", with("email"), "Email is required."},
		{"missing password", with("password"), "Password"},
		{"repeated email", with("email", "grace@example.com", "evil@example.com"), "Email was sent more than once."},
		{"repeated first name", with("first_name", "A", "B"), "First name was sent more than once."},
		{"repeated password", with("password", testPassword, "another long password"), "Password was sent more than once."},
		{"RTL override in first name", with("first_name", "\u202eecarG"), "First name contains text-direction override characters."},
		{"RTL embedding in last name", with("last_name", "\u202bHopper"), "Last name contains text-direction override characters."},
		{"NUL in last name", with("last_name", "Hop\x00per"), "Last name contains a NUL character."},
		{"invalid UTF-8 first name", with("first_name", "\xc0\xaf"), "First name contains invalid characters (not valid UTF-8)."},
		{"escape in first name", with("first_name", "G\x1b[2Jrace"), "First name contains control characters."},
		{"newline in last name", with("last_name", "Hop\r\nper"), "Last name must be a single line."},
		{"1 MB first name", with("first_name", strings.Repeat("g", 1_000_000)), "First name must be at most 100 characters."},
		{"header injection in email", with("email", "grace@example.com\r\nBcc: all@example.com"), "Enter a valid email address"},
		{"NUL in email", with("email", "grace\x00@example.com"), "Enter a valid email address"},
		{"invalid UTF-8 email", with("email", "gr\xffce@example.com"), "Enter a valid email address"},
		{"RTL override in email", with("email", "grace\u202e@example.com"), "Enter a valid email address"},
		{"control char in email", with("email", "gr\x01ce@example.com"), "Enter a valid email address"},
		{"1 MB email", with("email", strings.Repeat("e", 1_000_000)+"@example.com"), "Enter a valid email address"},
	}
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			a := abNewApp(t, d, io.Discard)
			b := a.browser("192.0.2.7")
			b.do(http.MethodGet, "/register", "", "", nil)
			for _, tt := range tests {
				r := b.form("/register", tt.form)
				if r.code != http.StatusUnprocessableEntity {
					t.Errorf("%s: status %d, want 422\n%s", tt.name, r.code, snippet(r.body))
					continue
				}
				if !strings.Contains(r.body, html.EscapeString(tt.msg)) || !strings.Contains(r.body, "<form") {
					t.Errorf("%s: the form lacks %q", tt.name, tt.msg)
				}
			}
			if us := abUsers(t, a.store); len(us) != 0 {
				t.Errorf("users stored from malformed forms: %q", us)
			}
			// The untouched form still works.
			if r := b.form("/register", valid); r.code != http.StatusSeeOther {
				t.Errorf("valid registration: %d\n%s", r.code, snippet(r.body))
			}
		})
	}
}

// TestAbuseLoginBytes sends sign-in emails no account can have; PostgreSQL
// refuses NUL and invalid UTF-8 in text, which must not become a 500.
func TestAbuseLoginBytes(t *testing.T) {
	t.Parallel()
	emails := []string{
		"ada\x00@example.com", "\xff\xfe@example.com", "ada@example.com\x00", "ada@exa\x01mple.com",
		strings.Repeat("a", 5000) + "@example.com", "' OR '1'='1' --", "\u202e@example.com", "ada@example.com%00",
	}
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			a := abNewApp(t, d, io.Discard)
			abSignIn(t, a, "192.0.2.1", "ada@example.com")
			b := a.browser("192.0.2.2")
			b.do(http.MethodGet, "/login", "", "", nil)
			for _, e := range emails {
				for _, pw := range []string{testPassword, "wrong\x00password"} {
					r := b.form("/login", url.Values{"email": {e}, "password": {pw}})
					if r.code != http.StatusUnauthorized || !strings.Contains(r.body, msgBadLogin) {
						t.Errorf("login %q: status %d, want 401 %q\n%s", e, r.code, msgBadLogin, snippet(r.body))
					}
					if _, ok := b.cookies["quire_session"]; ok {
						t.Fatalf("login %q signed in", e)
					}
				}
			}
			// The account itself still signs in.
			r := b.form("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
			if r.code != http.StatusSeeOther {
				t.Errorf("real login after the attempts: %d", r.code)
			}
		})
	}
}

func TestAbuseForgedSessionCookies(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			logs := &syncBuffer{}
			a := abNewApp(t, d, logs)
			alice := abSignIn(t, a, "192.0.2.1", "alice@example.com")
			bob := abSignIn(t, a, "192.0.2.2", "bob@example.com")
			const name = "quire_session"
			at, bt := alice.cookies[name], bob.cookies[name]
			if len(at) != 66 || len(bt) != 66 {
				t.Fatalf("unexpected token shapes %q %q", at, bt)
			}
			aID, aSec, bID, bSec := at[:22], at[23:], bt[:22], bt[23:]
			flipped := []byte(aSec) // another valid base64 letter in the middle
			flipped[5] = 'A'
			if aSec[5] == 'A' {
				flipped[5] = 'B'
			}
			tests := []struct {
				name, value string
				mismatch    bool // a known id with a wrong secret: logged
			}{
				{"garbage", "garbage", false},
				{"dot", ".", false},
				{"one char short", at[:65], false},
				{"one char long", at + "A", false},
				{"no separator", aID + "A" + aSec, false},
				{"not base64", strings.Repeat("*", 22) + "." + strings.Repeat("*", 43), false},
				{"unknown id", strings.Repeat("A", 22) + "." + aSec, false},
				{"valid id, wrong secret", aID + "." + string(flipped), true},
				{"valid id, other user's secret", aID + "." + bSec, true},
				{"other user's id, own secret", bID + "." + aSec, true},
				{"huge", strings.Repeat("A", 3800), false},
				{"sql", "x'%20OR%20'1'='1", false},
				{"unicode", "ключ.секрет", false},
			}
			for _, tt := range tests {
				before := strings.Count(logs.String(), "session secret mismatch")
				f := a.browser("198.51.100.9")
				h := http.Header{"Cookie": {name + "=" + tt.value}}
				r := f.do(http.MethodGet, "/", "", "", h)
				if r.code != http.StatusOK {
					t.Errorf("%s: GET / = %d", tt.name, r.code)
				}
				if navUserRe.MatchString(r.body) {
					t.Errorf("%s: signed in", tt.name)
				}
				r = f.do(http.MethodGet, "/account", "", "", h)
				if r.code != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
					t.Errorf("%s: GET /account = %d %q, want the login redirect", tt.name, r.code, r.header.Get("Location"))
				}
				if tt.mismatch && !abCleared(r.header, name) {
					t.Errorf("%s: the forged cookie was not cleared", tt.name)
				}
				after := strings.Count(logs.String(), "session secret mismatch")
				if got := after > before; got != tt.mismatch {
					t.Errorf("%s: mismatch logged = %v, want %v", tt.name, got, tt.mismatch)
				}
			}
			if !strings.Contains(logs.String(), "event=security") {
				t.Error("forgeries not logged as security events")
			}
			// Forgeries signed nobody out.
			for _, b := range []*abBrowser{alice, bob} {
				if r := b.do(http.MethodGet, "/account", "", "", nil); r.code != http.StatusOK {
					t.Errorf("owner signed out by a forgery: %d", r.code)
				}
			}

			// A revoked token (after logout) and an expired one sign out too.
			old := bob.cookies[name]
			bob.do(http.MethodGet, "/", "", "", nil)
			if r := bob.form("/logout", nil); r.code != http.StatusSeeOther {
				t.Fatalf("logout: %d", r.code)
			}
			replay := a.browser("192.0.2.2")
			replay.cookies[name] = old
			if r := replay.do(http.MethodGet, "/account", "", "", nil); r.code != http.StatusSeeOther || !abCleared(r.header, name) {
				t.Errorf("revoked token: %d, cleared %v", r.code, abCleared(r.header, name))
			}
			a.clock.Advance(8 * 24 * time.Hour)
			if r := alice.do(http.MethodGet, "/account", "", "", nil); r.code != http.StatusSeeOther {
				t.Errorf("expired token: %d", r.code)
			}
			if _, ok := alice.cookies[name]; ok {
				t.Error("expired cookie not cleared")
			}
		})
	}
}

// abCleared reports whether h clears the cookie name.
func abCleared(h http.Header, name string) bool {
	for _, line := range h.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=;") && strings.Contains(line, "Max-Age=0") {
			return true
		}
	}
	return false
}

func TestAbuseForgedStateCookie(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	for i, v := range []string{"garbage", strings.Repeat("A", 24), strings.Repeat("*", 24), strings.Repeat("A", 4000), "ключ"} {
		c := app.client()
		c.setCookie("quire_state", v)
		r := c.get("/register")
		wantCode(t, r, http.StatusOK)
		// The form works with the page's token: the forged id was replaced
		// or is harmless.
		r = c.postForm("/register", url.Values{"first_name": {"A"}, "last_name": {"B"},
			"email": {fmt.Sprintf("s%d@example.com", i)}, "password": {testPassword}})
		if r.code != http.StatusSeeOther {
			t.Errorf("state cookie %.20q: register %d\n%s", v, r.code, snippet(r.body))
		}
	}
}

func TestAbuseForgedPostIDs(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	id := c.createPost(t, "Kept", "kept")
	c.get("/blog/new")
	ids := []string{
		"abc", "-1", "0", "00", "1.5", "1e3", "+1", "0x1", "1%20", "%201", "%091",
		"99999999999999999999", "9223372036854775808", "9223372036854775807", "18446744073709551616",
		"1%20OR%201=1", "1'%20OR%20'1'='1", "1;DROP%20TABLE%20posts", "1--", "1%00", "%00", "%E2%80%AE1",
		"%EF%BC%91", "1)%20UNION%20SELECT%20*%20FROM%20users--", strconv.FormatInt(id, 10) + "abc",
	}
	routes := []struct{ method, path string }{
		{http.MethodGet, "/blog/%s"},
		{http.MethodGet, "/blog/%s/edit"},
		{http.MethodGet, "/blog/%s/delete"},
		{http.MethodPost, "/blog/%s/edit"},
		{http.MethodPost, "/blog/%s/delete"},
		{http.MethodPut, "/blog/%s"},
		{http.MethodDelete, "/blog/%s"},
	}
	n := 0
	for _, raw := range ids {
		for _, rt := range routes {
			var v url.Values
			if rt.method != http.MethodGet {
				v = url.Values{"title": {"Hijacked"}, "content": {"x"}}
			}
			r := c.send(rt.method, fmt.Sprintf(rt.path, raw), v, http.Header{"X-Csrf-Token": {c.csrf}})
			n++
			if r.code != http.StatusNotFound {
				t.Errorf("%s %s = %d, want 404", rt.method, fmt.Sprintf(rt.path, raw), r.code)
			}
		}
	}
	t.Logf("%d forged-id requests answered 404", n)
	posts := abPosts(t, app.store)
	if len(posts) != 1 || posts[0].ID != id || posts[0].Title != "Kept" {
		t.Errorf("posts after forged ids = %+v", posts)
	}
}

func TestAbuseMethodGames(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	phone := app.client()
	phone.login(t, "ada@example.com", testPassword)
	id := c.createPost(t, "Kept", "kept")
	p := postPath(id)
	c.get("/blog/new")
	override := func(m string) http.Header {
		return http.Header{"X-Http-Method-Override": {m}, "X-Method-Override": {m}, "X-Http-Method": {m}}
	}
	tests := []struct {
		name, method, path string
		form               url.Values
		header             http.Header
		want               int
	}{
		{"GET logout", http.MethodGet, "/logout", nil, nil, http.StatusMethodNotAllowed},
		{"HEAD logout", http.MethodHead, "/logout", nil, nil, http.StatusMethodNotAllowed},
		{"GET change password", http.MethodGet, "/account/password", nil, nil, http.StatusMethodNotAllowed},
		{"GET revoke others", http.MethodGet, "/account/sessions/revoke-others", nil, nil, http.StatusMethodNotAllowed},
		{"GET revoke one", http.MethodGet, "/account/sessions/x/revoke", nil, nil, http.StatusMethodNotAllowed},
		{"GET preview", http.MethodGet, "/blog/preview", nil, nil, http.StatusNotFound},
		{"GET delete shows the confirmation", http.MethodGet, p + "/delete", nil, nil, http.StatusOK},
		{"GET with override DELETE", http.MethodGet, p, nil, override(http.MethodDelete), http.StatusOK},
		{"GET delete page with override POST", http.MethodGet, p + "/delete", nil, override(http.MethodPost), http.StatusOK},
		{"GET logout with override POST", http.MethodGet, "/logout", nil, override(http.MethodPost), http.StatusMethodNotAllowed},
		{"POST post with override DELETE", http.MethodPost, p, c.withToken(url.Values{}), override(http.MethodDelete), http.StatusMethodNotAllowed},
		{"POST edit with override DELETE", http.MethodPost, p + "/edit?_method=DELETE",
			c.withToken(url.Values{"title": {"Edited"}, "content": {"kept"}, "_method": {"DELETE"}}), override(http.MethodDelete), http.StatusSeeOther},
		{"TRACE", "TRACE", "/", nil, http.Header{"X-Secret": {"echo-me"}}, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.send(tt.method, tt.path, tt.form, tt.header)
			wantCode(t, r, tt.want)
			wantNotIn(t, r.body, "echo-me")
		})
	}
	// No effect beyond the one legitimate edit: the post exists, both
	// sessions are alive.
	got, err := app.store.PostByID(context.Background(), id)
	if err != nil || got.Title != "Edited" {
		t.Errorf("post after method games: %+v %v", got, err)
	}
	for _, cl := range []*client{c, phone} {
		if cl.signedInAs() == "" {
			t.Error("a session ended by a GET")
		}
	}
}

func TestAbuseCSRFMatrix(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	alice := app.client()
	alice.register(t, "Alice", "A", "alice@example.com", testPassword)
	alice.get("/login")
	preLogin := alice.csrf
	alice.login(t, "alice@example.com", testPassword)
	laptop := app.client()
	laptop.login(t, "alice@example.com", testPassword)
	bob, _ := app.user(t, "Bob", "bob@example.com")
	anon := app.client()
	anon.get("/register")
	id := alice.createPost(t, "Kept", "kept")
	alice.get("/blog/new")

	tokens := []struct{ name, token string }{
		{"missing", ""},
		{"garbage", "not-a-token"},
		{"empty-looking", strings.Repeat("A", 43)},
		{"another user's", bob.csrf},
		{"own other session's", laptop.csrf},
		{"signed-out visitor's", anon.csrf},
		{"own from before sign-in", preLogin},
		{"own with a suffix", alice.csrf + "A"},
		{"own truncated", alice.csrf[:len(alice.csrf)-1]},
	}
	if laptop.csrf == alice.csrf || preLogin == alice.csrf {
		t.Fatal("tokens are not per session")
	}
	routes := []struct {
		path string
		form url.Values
	}{
		{"/blog", url.Values{"title": {"Forged"}, "content": {"x"}}},
		{postPath(id) + "/delete", url.Values{}},
		{postPath(id) + "/edit", url.Values{"title": {"Forged"}, "content": {"x"}}},
		{"/logout", url.Values{}},
		{"/account/sessions/revoke-others", url.Values{}},
		{"/account/password", url.Values{"current_password": {testPassword}, "new_password": {"forged new password"}}},
	}
	n := 0
	for _, rt := range routes {
		for _, tk := range tokens {
			for _, inHeader := range []bool{false, true} {
				f := url.Values{}
				for k, v := range rt.form {
					f[k] = v
				}
				var h http.Header
				switch {
				case tk.token == "":
				case inHeader:
					h = http.Header{"X-Csrf-Token": {tk.token}}
				default:
					f.Set("csrf_token", tk.token)
				}
				r := alice.send(http.MethodPost, rt.path, f, h)
				n++
				if r.code != http.StatusForbidden {
					t.Errorf("POST %s with %s token (header %v) = %d, want 403", rt.path, tk.name, inHeader, r.code)
				}
			}
		}
		// The right token from a cross-site context is refused as well.
		for _, h := range []http.Header{
			{"Origin": {"https://evil.example"}},
			{"Origin": {"null"}},
			{"Sec-Fetch-Site": {"cross-site"}},
			{"Sec-Fetch-Site": {"same-site"}},
			{"Origin": {"http://quire.test.evil.example"}},
		} {
			r := alice.send(http.MethodPost, rt.path, alice.withToken(rt.form), h)
			n++
			if r.code != http.StatusForbidden {
				t.Errorf("POST %s with %v = %d, want 403", rt.path, h, r.code)
			}
		}
	}
	t.Logf("%d forged state-changing requests refused", n)
	posts := abPosts(t, app.store)
	if len(posts) != 1 || posts[0].Title != "Kept" {
		t.Errorf("posts = %+v", posts)
	}
	for _, c := range []*client{alice, laptop} {
		if c.signedInAs() == "" {
			t.Error("a forged request ended a session")
		}
	}
	alice.login(t, "alice@example.com", testPassword) // the password is unchanged
}

func TestAbuseOpenRedirects(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.client().register(t, "Ada", "L", "ada@example.com", testPassword)
	nexts := []string{
		"//evil.com", "///evil.com", "////evil.com", "/\\evil.com", "/\\/evil.com", "\\/evil.com",
		"https://evil.com", "https:/evil.com", "https:evil.com", "//evil.com/%2e%2e", "/%2F%2Fevil.com",
		"/%2f%2fevil.com", "/%5Cevil.com", "/%09/evil.com", "/\t/evil.com", "/\r\n/evil.com", " //evil.com",
		"javascript:alert(1)", "data:text/html,x", "evil.com", "@evil.com", "/@evil.com", "//evil.com@quire.test",
		"/blog/new#//evil.com", "/.//evil.com", "%2F%2Fevil.com",
	}
	for _, next := range nexts {
		t.Run(next, func(t *testing.T) {
			t.Parallel()
			c := app.client()
			page := c.get("/login?next=" + url.QueryEscape(next))
			wantCode(t, page, http.StatusOK)
			r := c.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {next}})
			wantCode(t, r, http.StatusSeeOther)
			if !abLocal(r.location()) {
				t.Errorf("login redirect to %q", r.location())
			}
			r = c.get("/login?next=" + url.QueryEscape(next))
			if !abLocal(r.location()) {
				t.Errorf("signed-in login redirect to %q", r.location())
			}
		})
	}
	// Other redirects: after a signed-out POST (htmx names the page), the
	// original app's paths, and gin's trailing-slash fix with proxy headers.
	anon := app.client()
	anon.get("/")
	for _, cur := range []string{"https://evil.com//evil.com/x", "//evil.com", "http://quire.test//evil.com"} {
		r := anon.send(http.MethodPost, "/blog", anon.withToken(url.Values{"title": {"x"}}),
			http.Header{"Hx-Request": {"true"}, "Hx-Current-Url": {cur}, "X-Csrf-Token": {anon.csrf}})
		if loc := r.header.Get("HX-Redirect"); r.code != http.StatusUnauthorized || !abLocal(loc) {
			t.Errorf("signed-out htmx POST from %q: %d HX-Redirect %q", cur, r.code, loc)
		}
	}
	for _, p := range []string{"/post/update-post/..", "/post/update-post/%5Cevil.com", "/post/update-post/%2F%2Fevil.com", "/blog/", "/blog//"} {
		for _, h := range []http.Header{nil, {"X-Forwarded-Prefix": {"//evil.com"}}, {"X-Forwarded-Prefix": {"https://evil.com"}}, {"X-Forwarded-Host": {"evil.com"}}} {
			req := anon.newRequest(http.MethodGet, p, nil)
			// As the server hands it over: the target is a path (main's
			// server refuses to keep an absolute-form target's host).
			req.URL.Scheme, req.URL.Host = "", ""
			for k, v := range h {
				req.Header[k] = v
			}
			r := anon.do(req)
			if !abLocal(r.location()) {
				t.Errorf("GET %s %v: Location %q", p, h, r.location())
			}
		}
	}
}

func TestAbuseHostHeaderIgnored(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.cfg.BaseURL = "https://blog.example.org" })
	c, _ := app.user(t, "Ada", "ada@example.com")
	id := c.createPost(t, "Hello", "world")
	anon := app.client()
	evil := regexp.MustCompile(`(?i)evil\.example`)
	spoof := func(req *http.Request) {
		req.Host = "evil.example"
		req.Header.Set("X-Forwarded-Host", "evil.example")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Forwarded", "host=evil.example;proto=https")
		req.Header.Set("X-Original-URL", "/account")
		req.Header.Set("X-Rewrite-URL", "/account")
	}
	pages := []string{"/", "/blog", postPath(id), "/login", "/register", "/blog/new", "/account", "/create-post",
		"/post/update-post/" + strconv.FormatInt(id, 10), "/blog/", "/nope", "/login?next=/blog/new"}
	n := 0
	for _, cl := range []*client{anon, c} {
		for _, p := range pages {
			req := cl.newRequest(http.MethodGet, p, nil)
			spoof(req)
			r := cl.do(req)
			n++
			if r.code >= 500 {
				t.Errorf("GET %s = %d", p, r.code)
			}
			if evil.MatchString(r.body) {
				t.Errorf("GET %s: body mentions the spoofed host", p)
			}
			for k, vs := range r.header {
				for _, v := range vs {
					if evil.MatchString(v) {
						t.Errorf("GET %s: header %s: %s", p, k, v)
					}
				}
			}
		}
	}
	// A sign-in and sign-out under a spoofed Host redirect locally.
	cl := app.client()
	cl.get("/login")
	for _, p := range []string{"/login", "/logout"} {
		v := cl.withToken(url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
		req := cl.newRequest(http.MethodPost, p, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", formType)
		spoof(req)
		r := cl.do(req)
		if r.code != http.StatusSeeOther || !abLocal(r.location()) || evil.MatchString(strings.Join(r.header.Values("Set-Cookie"), " ")) {
			t.Errorf("POST %s with spoofed Host: %d %q", p, r.code, r.location())
		}
		cl.get("/")
	}
	t.Logf("%d requests with a spoofed Host built no link from it", n)
}

func TestAbuseMarkdownBombs(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	c.get("/blog/new")
	table := func(cols, rows int) string {
		var b strings.Builder
		b.WriteString(strings.Repeat("|a", cols) + "|\n" + strings.Repeat("|-", cols) + "|\n")
		for range rows {
			b.WriteString("|x\n")
		}
		return b.String()
	}
	bombs := []struct{ name, md string }{
		{"nested lists", strings.Repeat("- ", 20_000) + "a"},
		{"nested ordered lists", strings.Repeat("1. ", 20_000) + "a"},
		{"nested quotes", strings.Repeat(">", maxContent-2) + " a"},
		{"quotes and lists", strings.Repeat("> - ", 10_000) + "a"},
		{"100k-character line", strings.Repeat("abcd ", maxContent/5)},
		{"100k-character word", strings.Repeat("w", maxContent)},
		{"huge table", table(2000, 30_000)},
		{"wide table", table(20_000, 10)},
		{"emphasis", strings.Repeat("*", 40_000) + "a" + strings.Repeat("*", 40_000)},
		{"open links", strings.Repeat("[a](", 24_000)},
		{"brackets", strings.Repeat("[", 49_000) + strings.Repeat("]", 49_000)},
		{"reference links", "[a]: /" + strings.Repeat("x", 40_000) + "\n\n" + strings.Repeat("[a]", 19_000)},
		{"html", strings.Repeat("<div>", 19_000)},
		{"autolinks", strings.Repeat("https://example.com/ ", 4_700)},
		{"code fences", strings.Repeat("```\n", 24_000)},
	}
	for _, b := range bombs {
		t.Run(b.name, func(t *testing.T) {
			if n := utf8.RuneCountInString(b.md); n > maxContent {
				t.Fatalf("bomb of %d characters is over the form limit", n)
			}
			start := time.Now()
			r := c.postForm("/blog", url.Values{"title": {b.name}, "content": {b.md}})
			took := time.Since(start)
			switch r.code {
			case http.StatusSeeOther:
				m := postLocRe.FindStringSubmatch(r.location())
				if m == nil {
					t.Fatalf("Location %q", r.location())
				}
				pid, _ := strconv.ParseInt(m[1], 10, 64)
				p, err := app.store.PostByID(context.Background(), pid)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.ContentHTML) > 2<<20 {
					t.Errorf("stored HTML of %d bytes", len(p.ContentHTML))
				}
				wantCode(t, c.get(r.location()), http.StatusOK)
			case http.StatusUnprocessableEntity:
				wantIn(t, r.body, "Content ")
			default:
				t.Fatalf("status %d\n%s", r.code, snippet(r.body))
			}
			c.get("/blog/new")
			pstart := time.Now()
			pr := c.htmx(http.MethodPost, "/blog/preview", url.Values{"content": {b.md}})
			ptook := time.Since(pstart)
			if pr.code != http.StatusOK || len(pr.body) > 2<<20 {
				t.Errorf("preview: %d, %d bytes", pr.code, len(pr.body))
			}
			// Generous bound: the race detector slows rendering a lot.
			if took > 10*time.Second || ptook > 10*time.Second {
				t.Errorf("took %v to save, %v to preview", took, ptook)
			}
			t.Logf("%d bytes: save %d in %v, preview in %v", len(b.md), r.code, took.Round(time.Millisecond), ptook.Round(time.Millisecond))
		})
	}
}

// FuzzPostForm sends arbitrary bodies to the post and registration forms
// (with a valid CSRF header, so decoding and validation are reached): never
// a 5xx, and whatever is stored is clean text within the limits.
func FuzzPostForm(f *testing.F) {
	a := abNewApp(f, store.DialectSQLite, io.Discard)
	author := abSignIn(f, a, "192.0.2.10", "fuzz@example.com")
	r := author.form("/blog", url.Values{"title": {"Target"}, "content": {"x"}})
	if r.code != http.StatusSeeOther {
		f.Fatalf("create: %d", r.code)
	}
	edit := r.header.Get("Location") + "/edit"
	author.do(http.MethodGet, "/blog/new", "", "", nil)
	anon := a.browser("192.0.2.11")
	anon.do(http.MethodGet, "/register", "", "", nil)

	f.Add(uint8(0), "title=Hello&content=World", uint8(0))
	f.Add(uint8(0), "title=a&title=b&content=c&content=d", uint8(0))
	f.Add(uint8(0), "title=%FF%FE&content=%00", uint8(0))
	f.Add(uint8(0), "title=%E2%80%AEevil&content=%1B%5B2J", uint8(0))
	f.Add(uint8(0), "title=x&content="+strings.Repeat("%3E", 300)+"+a", uint8(0))
	f.Add(uint8(0), "title=x&content="+strings.Repeat("-+", 300)+"a", uint8(0))
	f.Add(uint8(0), "title=%zz&content", uint8(0))
	f.Add(uint8(0), ";;&&==title=x", uint8(0))
	f.Add(uint8(2), "title=Edited&content=%5Ba%5D(", uint8(0))
	f.Add(uint8(1), "first_name=A&last_name=B&email=a%40example.com&password=correct+horse+battery+staple", uint8(0))
	f.Add(uint8(1), "first_name=A&last_name=B&email=a%00%40example.com&password=correct+horse+battery+staple", uint8(0))
	f.Add(uint8(1), "first_name=%E2%80%AEA&last_name=B&email=b%40example.com&email=c%40example.com", uint8(0))
	f.Add(uint8(0), abMultipart("title", "Hi"), uint8(1))
	f.Add(uint8(0), "--"+abBoundary+"\r\nContent-Disposition: form-data; name=\"title\"; filename=\"a\"\r\n\r\nx", uint8(1))
	f.Add(uint8(1), "{\"email\":\"a@example.com\"}", uint8(3))
	types := []string{formType, "multipart/form-data; boundary=" + abBoundary, "", "application/json", "multipart/form-data"}
	f.Fuzz(func(t *testing.T, target uint8, body string, ct uint8) {
		b, path := author, "/blog"
		switch target % 3 {
		case 1:
			b, path = anon, "/register"
		case 2:
			path = edit
		}
		r := b.do(http.MethodPost, path, body, types[int(ct)%len(types)], http.Header{"X-Csrf-Token": {b.csrf}})
		if r.code >= 500 {
			t.Fatalf("POST %s %q: %d\n%s", path, body, r.code, snippet(r.body))
		}
		if r.code != http.StatusSeeOther || path == "/register" {
			return
		}
		m := postLocRe.FindStringSubmatch(r.header.Get("Location"))
		if m == nil {
			t.Fatalf("Location %q", r.header.Get("Location"))
		}
		pid, _ := strconv.ParseInt(m[1], 10, 64)
		p, err := a.store.PostByID(context.Background(), pid)
		if err != nil {
			t.Fatal(err)
		}
		if err := abCleanStored(p.Title, maxTitle, false); err != nil {
			t.Fatalf("stored title %q: %v", p.Title, err)
		}
		if err := abCleanStored(p.Content, maxContent, true); err != nil {
			t.Fatalf("stored content: %v", err)
		}
	})
}

// abCleanStored checks stored text against the form rules.
func abCleanStored(s string, maxRunes int, multiline bool) error {
	switch {
	case !utf8.ValidString(s):
		return errors.New("invalid UTF-8")
	case utf8.RuneCountInString(s) > maxRunes:
		return errors.New("too long")
	case !multiline && strings.TrimSpace(s) == "":
		return errors.New("blank")
	}
	for _, r := range s {
		if (unicode.IsControl(r) && r != '\t' && !(multiline && (r == '\n' || r == '\r'))) ||
			(r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
			return fmt.Errorf("character %U", r)
		}
	}
	return nil
}

// FuzzSessionCookie sends arbitrary auth and state cookies: never a 5xx,
// never signed in unless the value is the real token. "{id}" in an input
// stands for the id of a real session, so forgeries near a valid token are
// explored in every fuzz worker.
func FuzzSessionCookie(f *testing.F) {
	a := abNewApp(f, store.DialectSQLite, io.Discard)
	alice := abSignIn(f, a, "192.0.2.20", "alice@example.com")
	real := alice.cookies["quire_session"]
	realID, state := real[:22], alice.cookies["quire_state"]
	f.Add("garbage", "")
	f.Add("{id}."+strings.Repeat("A", 43), "")
	f.Add("{id}."+strings.Repeat("_", 43), "{state}")
	f.Add("{id}.", "")
	f.Add("{id}", "{state}")
	f.Add(strings.Repeat("A", 22)+"."+strings.Repeat("A", 43), "")
	f.Add("{id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", strings.Repeat("A", 24))
	f.Add("\"{id}.x\"", "garbage")
	f.Add("", "{state}x")
	f.Add("{id}\r\n.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "")
	f.Fuzz(func(t *testing.T, auth, st string) {
		auth = strings.ReplaceAll(auth, "{id}", realID)
		st = strings.ReplaceAll(st, "{state}", state)
		h := http.Header{"Cookie": {"quire_session=" + auth + "; quire_state=" + st}}
		// What the server will read as the cookie value.
		probe, _ := http.NewRequest(http.MethodGet, "/", nil)
		probe.Header = h
		got, err := probe.Cookie("quire_session")
		genuine := err == nil && got.Value == real
		b := a.browser("192.0.2.21")
		r := b.do(http.MethodGet, "/account", "", "", h)
		if r.code >= 500 {
			t.Fatalf("cookie %q / %q: %d", auth, st, r.code)
		}
		if genuine {
			return
		}
		if r.code != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
			t.Fatalf("cookie %q: GET /account = %d %q, want the login redirect", auth, r.code, r.header.Get("Location"))
		}
		r = a.browser("192.0.2.21").do(http.MethodGet, "/", "", "", h)
		if r.code != http.StatusOK || navUserRe.MatchString(r.body) {
			t.Fatalf("cookie %q: GET / = %d, signed in %v", auth, r.code, navUserRe.MatchString(r.body))
		}
	})
}
