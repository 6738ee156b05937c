package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"quire/password"
	"quire/store"
)

func TestRegisterThenFlashOnLogin(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	c.register(t, "Ada", "Lovelace", "  Ada@Example.COM ", testPassword)
	r := c.get("/login")
	wantCode(t, r, http.StatusOK)
	wantIn(t, r.body, "Account created — sign in.")
	// The flash is shown once.
	wantNotIn(t, c.get("/login").body, "Account created")

	u, err := app.store.UserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatalf("stored email is not normalized: %v", err)
	}
	if u.FirstName != "Ada" || u.LastName != "Lovelace" || u.Role != store.RoleAuthor || u.Status != store.StatusActive {
		t.Errorf("user = %+v", u)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || strings.Contains(u.PasswordHash, testPassword) {
		t.Errorf("password hash = %q", u.PasswordHash)
	}
}

func TestRegisterHTMXRedirects(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	c.get("/register")
	r := c.htmx(http.MethodPost, "/register", url.Values{"first_name": {"A"}, "last_name": {"B"}, "email": {"hx@example.com"}, "password": {testPassword}})
	wantCode(t, r, http.StatusOK)
	if got := r.header.Get("HX-Redirect"); got != "/login" {
		t.Errorf("HX-Redirect = %q", got)
	}
	// Invalid input over htmx swaps only the form.
	r = c.htmx(http.MethodPost, "/register", url.Values{"first_name": {""}, "last_name": {"B"}, "email": {"hx2@example.com"}, "password": {testPassword}})
	wantCode(t, r, http.StatusUnprocessableEntity)
	if !strings.HasPrefix(r.body, `<form id="register-form"`) || strings.Contains(r.body, "<html") {
		t.Errorf("want the form fragment, got\n%s", snippet(r.body))
	}
}

func TestRegisterDuplicateEmailOtherCase(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.client().register(t, "Ada", "Lovelace", "ada@example.com", testPassword)
	c := app.client()
	c.get("/register")
	r := c.postForm("/register", url.Values{"first_name": {"Eve"}, "last_name": {"Mallory"}, "email": {"ADA@Example.com"}, "password": {"another long password"}})
	wantCode(t, r, http.StatusConflict)
	wantIn(t, r.body, `id="email-error">A user with this email already exists`, `value="Eve"`, `value="Mallory"`)
	wantNotIn(t, r.body, "another long password")
}

var fieldErrRe = regexp.MustCompile(`<p class="field-error" id="([a-z_]+)-error">([^<]*)</p>`)

func TestRegisterInvalidInput(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ok := url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}, "email": {"grace@example.com"}, "password": {"a sufficiently long secret"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for kk, vv := range ok {
			out[kk] = vv
		}
		out.Set(k, v)
		return out
	}
	long := strings.Repeat("x", 101)
	tests := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"missing first name", with("first_name", "  "), "first_name", "First name is required."},
		{"missing last name", with("last_name", ""), "last_name", "Last name is required."},
		{"missing email", with("email", ""), "email", "Email is required."},
		{"bad email", with("email", "not-an-email"), "email", "Enter a valid email address"},
		{"missing password", with("password", ""), "password", password.ErrTooShort.Error()},
		{"short password", with("password", "short7!"), "password", password.ErrTooShort.Error()},
		{"common password", with("password", "password123"), "password", password.ErrTooCommon.Error()},
		{"long password", with("password", strings.Repeat("p", 257)), "password", password.ErrTooLong.Error()},
		{"long first name", with("first_name", long), "first_name", "at most 100 characters"},
		{"long last name", with("last_name", long), "last_name", "at most 100 characters"},
		{"control characters", with("first_name", "Gr\x00ace"), "first_name", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := app.client()
			c.get("/register")
			r := c.postForm("/register", tt.form)
			wantCode(t, r, http.StatusUnprocessableEntity)
			errs := fieldErrRe.FindAllStringSubmatch(r.body, -1)
			if len(errs) != 1 || errs[0][1] != tt.field || !strings.Contains(errs[0][2], tt.msg) {
				t.Fatalf("field errors = %q, want one on %s containing %q", errs, tt.field, tt.msg)
			}
			// The message sits next to its field and the field is marked.
			wantIn(t, r.body, `id="`+tt.field+`" name="`+tt.field+`"`, `aria-describedby="`+tt.field+`-error"`)
			// What was typed is kept, except the password.
			for _, k := range []string{"first_name", "last_name", "email"} {
				if k == tt.field {
					continue
				}
				wantIn(t, r.body, `name="`+k+`" type="`+map[string]string{"email": "email"}[k]+typeText(k)+`" value="`+tt.form.Get(k)+`"`)
			}
			wantIn(t, r.body, `name="password" type="password" value=""`)
			if pw := tt.form.Get("password"); len(pw) >= 4 {
				wantNotIn(t, r.body, pw)
			}
			if _, err := app.store.UserByEmail(context.Background(), strings.ToLower(tt.form.Get("email"))); err == nil {
				t.Error("a user was stored from an invalid form")
			}
		})
	}
}

func typeText(field string) string {
	if field == "email" {
		return ""
	}
	return "text"
}

func TestLogin(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.client().register(t, "Ada", "Lovelace", "ada@example.com", testPassword)

	c := app.client()
	c.get("/login")
	r := c.postForm("/login", url.Values{"email": {" ADA@example.com "}, "password": {testPassword}})
	wantCode(t, r, http.StatusSeeOther)
	if r.location() != "/" {
		t.Errorf("Location = %q", r.location())
	}
	home := c.get("/")
	wantIn(t, home.body, `class="nav-user">Ada Lovelace</a>`, "Sign out", "Welcome back, Ada")
	wantNotIn(t, home.body, `<a href="/login"`)

	// Wrong password and unknown email: same status, same message, and the
	// form tells nothing else apart.
	bad := map[string]url.Values{
		"wrong password": {"email": {"ada@example.com"}, "password": {"not the password"}},
		"unknown email":  {"email": {"nobody@example.com"}, "password": {"not the password"}},
	}
	var bodies []string
	for name, form := range bad {
		t.Run(name, func(t *testing.T) {
			c := app.client()
			c.get("/login")
			r := c.postForm("/login", form)
			wantCode(t, r, http.StatusUnauthorized)
			wantIn(t, r.body, "Invalid email or password.")
			wantNotIn(t, r.body, "not the password", "Sign out")
			body := strings.ReplaceAll(r.body, form.Get("email"), "EMAIL")
			bodies = append(bodies, csrfInputRe.ReplaceAllString(csrfHeaderRe.ReplaceAllString(body, ""), ""))
		})
	}
	if len(bodies) == 2 && bodies[0] != bodies[1] {
		t.Error("wrong-password and unknown-email pages differ")
	}
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.cfg.LoginFailures = 3 })
	app.client().register(t, "Ada", "Lovelace", "ada@example.com", testPassword)
	c := app.client()
	c.get("/login")
	fail := url.Values{"email": {"ada@example.com"}, "password": {"wrong wrong wrong"}}
	for i := 0; i < 3; i++ {
		wantCode(t, c.postForm("/login", fail), http.StatusUnauthorized)
	}
	// Now even the right password must wait; the answer says how long.
	r := c.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	wantCode(t, r, http.StatusTooManyRequests)
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	wantIn(t, r.body, "Too many failed sign-in attempts")
	// Throttling is per account: another account from elsewhere is unaffected.
	app.client().register(t, "Bob", "B", "bob@example.com", testPassword)
	app.client().login(t, "bob@example.com", testPassword)

	// A further failure after the wait grows the delay...
	app.clock.Advance(time.Duration(ra) * time.Second)
	wantCode(t, c.postForm("/login", fail), http.StatusUnauthorized)
	r = c.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	wantCode(t, r, http.StatusTooManyRequests)
	ra2, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if ra2 <= ra {
		t.Errorf("delay did not grow: %d then %d", ra, ra2)
	}
	// ...but there is no permanent lockout: after the wait the owner gets in.
	app.clock.Advance(time.Duration(ra2) * time.Second)
	r = c.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	wantCode(t, r, http.StatusSeeOther)
	// Success resets the account's counter.
	c2 := app.client()
	c2.get("/login")
	wantCode(t, c2.postForm("/login", fail), http.StatusUnauthorized)
	wantCode(t, c2.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), http.StatusSeeOther)
}

func TestLoginThrottlingPerIP(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.cfg.LoginIPLimit = 4 })
	c := app.client()
	c.get("/login")
	// Spraying different accounts from one address is throttled too.
	for i := 0; i < 4; i++ {
		r := c.postForm("/login", url.Values{"email": {"user" + strconv.Itoa(i) + "@example.com"}, "password": {"guess guess"}})
		wantCode(t, r, http.StatusUnauthorized)
	}
	r := c.postForm("/login", url.Values{"email": {"other@example.com"}, "password": {"guess guess"}})
	wantCode(t, r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Another address is not affected.
	c2 := app.client()
	c2.get("/login")
	wantCode(t, c2.postForm("/login", url.Values{"email": {"other@example.com"}, "password": {"guess guess"}}), http.StatusUnauthorized)
}

func TestRegistrationLimitPerIP(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.cfg.RegisterPerIP = 2; o.cfg.RegisterWindow = time.Minute })
	c := app.client()
	for i := 0; i < 2; i++ {
		c.register(t, "U", "V", "u"+strconv.Itoa(i)+"@example.com", testPassword)
	}
	c.get("/register")
	r := c.postForm("/register", url.Values{"first_name": {"U"}, "last_name": {"V"}, "email": {"u9@example.com"}, "password": {testPassword}})
	wantCode(t, r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	wantIn(t, r.body, "Too many registrations", `value="u9@example.com"`)
	if _, err := app.store.UserByEmail(context.Background(), "u9@example.com"); err == nil {
		t.Error("user stored despite the limit")
	}
	// Another address may still register; this one may after the window.
	app.client().register(t, "W", "X", "w@example.com", testPassword)
	app.clock.Advance(time.Minute + time.Second)
	c.register(t, "U", "V", "u9@example.com", testPassword)
}

func TestLogoutEndsSessionOnServer(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	old := c.cookieValue(c.authCookie())
	if old == "" {
		t.Fatal("no session cookie after login")
	}
	r := c.postForm("/logout", nil)
	wantCode(t, r, http.StatusSeeOther)
	if r.location() != "/" {
		t.Errorf("Location = %q", r.location())
	}
	if ck := r.cookie(c.authCookie()); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", ck)
	}
	home := c.get("/")
	wantIn(t, home.body, "You have been signed out.", `<a href="/login">Sign in</a>`)

	// Replaying the old cookie (as a thief who copied it would) gets nothing.
	thief := app.client()
	thief.setCookie(c.authCookie(), old)
	if got := thief.signedInAs(); got != "" {
		t.Fatalf("old cookie still signs in as %q", got)
	}
	r = thief.get("/account")
	wantCode(t, r, http.StatusSeeOther)
}

func TestProtectedPagesRedirect(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	for _, path := range []string{"/blog/new", "/account", "/blog/1/edit", "/blog/1/delete"} {
		t.Run(path, func(t *testing.T) {
			r := c.get(path)
			wantCode(t, r, http.StatusSeeOther)
			if want := "/login?next=" + url.QueryEscape(path); r.location() != want {
				t.Errorf("Location = %q, want %q", r.location(), want)
			}
			r = c.htmx(http.MethodGet, path, nil)
			if r.header.Get("HX-Redirect") != "/login?next="+url.QueryEscape(path) {
				t.Errorf("HX-Redirect = %q", r.header.Get("HX-Redirect"))
			}
			if r.code == http.StatusOK || r.code == http.StatusSeeOther {
				t.Errorf("htmx status = %d", r.code)
			}
		})
	}
	// After signing in, the login form takes the visitor where they were going.
	app.client().register(t, "Ada", "L", "ada@example.com", testPassword)
	r := c.get("/login?next=" + url.QueryEscape("/blog/new"))
	wantIn(t, r.body, `name="next" value="/blog/new"`)
	r = c.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {"/blog/new"}})
	wantCode(t, r, http.StatusSeeOther)
	if r.location() != "/blog/new" {
		t.Errorf("Location = %q", r.location())
	}
	wantCode(t, c.get("/blog/new"), http.StatusOK)
}

func TestOpenRedirectRefused(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.client().register(t, "Ada", "L", "ada@example.com", testPassword)
	for _, next := range []string{
		"//evil.com", "/\\evil.com", "https://evil.com", "/%2F%2Fevil.com", "/%5Cevil.com",
		"javascript:alert(1)", "http:evil.com", "\\\\evil.com", "evil.com", "/\t/evil.com", " //evil.com",
	} {
		t.Run(next, func(t *testing.T) {
			t.Parallel()
			c := app.client()
			page := c.get("/login?next=" + url.QueryEscape(next))
			wantNotIn(t, page.body, `name="next"`)
			r := c.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {next}})
			wantCode(t, r, http.StatusSeeOther)
			if r.location() != "/" {
				t.Errorf("Location = %q, want /", r.location())
			}
			// Signed in, /login?next= redirects too: still only locally.
			r = c.get("/login?next=" + url.QueryEscape(next))
			wantCode(t, r, http.StatusSeeOther)
			if r.location() != "/" {
				t.Errorf("signed-in Location = %q, want /", r.location())
			}
		})
	}
}

func TestCSRFRequired(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	author, _ := app.user(t, "Ada", "ada@example.com")
	other, _ := app.user(t, "Bob", "bob@example.com")
	anon := app.client()
	anon.get("/register")

	post := url.Values{"title": {"Hi"}, "content": {"x"}}
	reg := url.Values{"first_name": {"E"}, "last_name": {"F"}, "email": {"e@example.com"}, "password": {testPassword}}
	tests := []struct {
		name  string
		c     *client
		path  string
		form  url.Values
		token string // "" = none sent
	}{
		{"post missing", author, "/blog", post, ""},
		{"post wrong", author, "/blog", post, "AAAA"},
		{"post other user's token", author, "/blog", post, other.csrf},
		{"logout missing", author, "/logout", url.Values{}, ""},
		{"logout wrong", author, "/logout", url.Values{}, strings.Repeat("A", 43)},
		{"register missing", anon, "/register", reg, ""},
		{"register signed-in token", anon, "/register", reg, author.csrf},
		{"password missing", author, "/account/password", url.Values{"current_password": {testPassword}, "new_password": {"a new long password"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range tt.form {
				f[k] = v
			}
			if tt.token != "" {
				f.Set("csrf_token", tt.token)
			}
			r := tt.c.send(http.MethodPost, tt.path, f, nil)
			wantCode(t, r, http.StatusForbidden)
			wantIn(t, r.body, "Your form expired or came from another site.")
			// The same token in the header is just as wrong.
			if tt.token != "" {
				delete(f, "csrf_token")
				r = tt.c.send(http.MethodPost, tt.path, f, http.Header{"X-Csrf-Token": {tt.token}})
				wantCode(t, r, http.StatusForbidden)
			}
		})
	}
	// Nothing happened: no post, still signed in, no user.
	if posts, _ := app.store.ListPosts(context.Background(), store.ListPostsQuery{Limit: 10}); len(posts) != 0 {
		t.Errorf("%d posts created without CSRF", len(posts))
	}
	if author.signedInAs() == "" {
		t.Error("logout without CSRF signed the user out")
	}
	if _, err := app.store.UserByEmail(context.Background(), "e@example.com"); err == nil {
		t.Error("registered without CSRF")
	}
	// The right token in the header (htmx) works.
	r := author.htmx(http.MethodPost, "/blog", post)
	if r.code != http.StatusOK || r.header.Get("HX-Redirect") == "" {
		t.Errorf("htmx create with header token: %d %q", r.code, r.header.Get("HX-Redirect"))
	}
}

func TestCrossSiteRequestsRefused(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"sec-fetch-site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"sec-fetch-site same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"origin elsewhere", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.send(http.MethodPost, "/blog", c.withToken(url.Values{"title": {tt.name}, "content": {"x"}}), tt.header)
			wantCode(t, r, tt.want)
			if tt.want == http.StatusForbidden {
				// The page still knows who is signed in (and its forms work).
				wantIn(t, r.body, "Cross-site requests are not allowed.", "<!doctype html>", `class="nav-user">Ada Tester<`)
			}
		})
	}
	posts, _ := app.store.ListPosts(context.Background(), store.ListPostsQuery{Limit: 10})
	if len(posts) != 1 || posts[0].Title != "same-origin" {
		t.Errorf("posts = %v", posts)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		t.Run("secure="+strconv.FormatBool(secure), func(t *testing.T) {
			t.Parallel()
			app := newTestApp(t, func(o *appOptions) { o.cfg.Secure = secure })
			c := app.client()
			c.register(t, "Ada", "L", "ada@example.com", testPassword)
			c.get("/login")
			r := c.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
			wantCode(t, r, http.StatusSeeOther)
			name := "quire_session"
			if secure {
				name = "__Host-quire_session"
			}
			ck := r.cookie(name)
			if ck == nil {
				t.Fatalf("no %s cookie in %v", name, r.header.Values("Set-Cookie"))
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.Secure != secure {
				t.Errorf("cookie = %+v (raw %q)", ck, r.header.Values("Set-Cookie"))
			}
			// Max-Age follows the session clock: the idle lifetime.
			if want := int((7 * 24 * time.Hour).Seconds()); ck.MaxAge < want-5 || ck.MaxAge > want {
				t.Errorf("Max-Age = %d, want about %d", ck.MaxAge, want)
			}
			if len(ck.Value) != 22+1+43 {
				t.Errorf("cookie value %q is not id.secret", ck.Value)
			}
			stateName := "quire_state"
			if secure {
				// __Host- pins the state cookie (CSRF anchor) to this host.
				stateName = "__Host-quire_state"
			}
			if st := r.cookie(stateName); st == nil || !st.HttpOnly || st.Secure != secure || st.SameSite != http.SameSiteLaxMode || st.Path != "/" {
				t.Errorf("state cookie = %+v", st)
			}
			if secure && r.header.Get("Strict-Transport-Security") == "" {
				t.Error("no HSTS over https")
			}
			// No token is readable by page scripts: the page never contains it.
			wantNotIn(t, c.get("/").body, ck.Value)
		})
	}
}

func TestSuspendedUserSignedOutAtOnce(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.user(t, "Ada", "ada@example.com")
	if c.signedInAs() == "" {
		t.Fatal("not signed in")
	}
	if err := app.store.SetStatus(context.Background(), u.ID, store.StatusSuspended, app.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := c.signedInAs(); got != "" {
		t.Fatalf("suspended user still signed in as %q", got)
	}
	wantCode(t, c.get("/blog/new"), http.StatusSeeOther)
	// And cannot sign in again (same generic answer).
	c2 := app.client()
	c2.get("/login")
	r := c2.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	wantCode(t, r, http.StatusUnauthorized)
	wantIn(t, r.body, "Invalid email or password.")
}

// TestLoginUpgradesOldHash signs in with a hash made with weaker parameters
// on an app using the real OWASP parameters: the hash is upgraded.
func TestLoginUpgradesOldHash(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.params = password.DefaultParams() })
	ctx := context.Background()
	weak, err := password.NewHasher(cheapParams, 1).Hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{FirstName: "Old", LastName: "Hash", Email: "old@example.com", PasswordHash: weak}
	if err := app.store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	c := app.client()
	c.login(t, "old@example.com", testPassword)
	got, err := app.store.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash not upgraded: %q", got.PasswordHash)
	}
	c2 := app.client()
	c2.login(t, "old@example.com", testPassword)
}
