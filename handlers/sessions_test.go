package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"
)

// rotateAfter is the default rotation interval the tests step over.
const rotateAfter = 15 * time.Minute

func TestSessionRotation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	name := c.authCookie()
	first := c.cookieValue(name)

	// Before the interval: no new cookie.
	app.clock.Advance(rotateAfter - time.Second)
	r := c.get("/")
	if ck := r.cookie(name); ck != nil {
		t.Fatalf("rotated early: %+v", ck)
	}
	// Past it: a new value in Set-Cookie, with the same attributes.
	app.clock.Advance(2 * time.Second)
	r = c.get("/")
	ck := r.cookie(name)
	if ck == nil || ck.Value == "" || ck.Value == first {
		t.Fatalf("no rotation after the interval: %+v", ck)
	}
	if !ck.HttpOnly || ck.Path != "/" || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 {
		t.Errorf("rotated cookie attributes: %+v", ck)
	}
	wantIn(t, r.body, `class="nav-user">Ada Tester<`)
	// The new one works and is stable until the next interval.
	r = c.get("/account")
	wantCode(t, r, http.StatusOK)
	if r.cookie(name) != nil {
		t.Error("rotated again at once")
	}
	// CSRF tokens survive rotation (they belong to the login).
	before := c.csrf
	app.clock.Advance(rotateAfter + time.Second)
	c.get("/")
	if c.csrf != before {
		t.Error("CSRF token changed with rotation")
	}
	c.createPost(t, "After rotation", "still works")
}

func TestSessionGraceAndReuse(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	name := c.authCookie()
	old := c.cookieValue(name)
	app.clock.Advance(rotateAfter + time.Second)
	r := c.get("/")
	ck := r.cookie(name)
	if ck == nil || ck.Value == old {
		t.Fatal("no rotation")
	}
	successor := ck.Value

	// A parallel tab still holding the old token, within the grace window:
	// it works and is handed the same successor.
	app.clock.Advance(5 * time.Second)
	tab := app.client()
	tab.setCookie(name, old)
	r = tab.get("/")
	wantIn(t, r.body, `class="nav-user">Ada Tester<`)
	if got := r.cookie(name); got == nil || got.Value != successor {
		t.Fatalf("grace request got %+v, want the successor %q", got, successor)
	}

	// The old token after the grace window is a replay: the family dies,
	// including the successor the real user holds.
	app.clock.Advance(6 * time.Second)
	thief := app.client()
	thief.setCookie(name, old)
	if got := thief.signedInAs(); got != "" {
		t.Fatalf("replayed token after grace signs in as %q", got)
	}
	if got := c.signedInAs(); got != "" {
		t.Fatalf("successor still works after reuse was detected (%q)", got)
	}
	if got := tab.signedInAs(); got != "" {
		t.Fatalf("tab still signed in as %q", got)
	}
	// A fresh login is unaffected by the dead family.
	c.login(t, "ada@example.com", testPassword)
	if c.signedInAs() == "" {
		t.Fatal("cannot sign in again")
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	// Use slides the idle window.
	for i := 0; i < 3; i++ {
		app.clock.Advance(7*24*time.Hour - time.Minute)
		if c.signedInAs() == "" {
			t.Fatalf("signed out after %d idle periods of use", i+1)
		}
	}
	app.clock.Advance(7 * 24 * time.Hour)
	if got := c.signedInAs(); got != "" {
		t.Fatalf("still signed in as %q after 7 idle days", got)
	}
	wantCode(t, c.get("/account"), http.StatusSeeOther)
}

func TestSessionAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.user(t, "Ada", "ada@example.com")
	start := app.clock.Now()
	for _, at := range []time.Duration{6, 12, 18, 24} {
		app.clock.Advance(start.Add(at * 24 * time.Hour).Sub(app.clock.Now()))
		if c.signedInAs() == "" {
			t.Fatalf("signed out on day %d despite use", at)
		}
	}
	app.clock.Advance(start.Add(30*24*time.Hour - time.Hour).Sub(app.clock.Now()))
	if c.signedInAs() == "" {
		t.Fatal("signed out before the absolute limit")
	}
	app.clock.Advance(time.Hour)
	if got := c.signedInAs(); got != "" {
		t.Fatalf("still signed in as %q after 30 days", got)
	}
}

// sessionRowRe finds the revoke forms of other sessions on /account.
var sessionRowRe = regexp.MustCompile(`action="/account/sessions/([A-Za-z0-9_-]+)/revoke"`)

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a, _ := app.user(t, "Ada", "ada@example.com")
	b := app.client()
	b.login(t, "ada@example.com", testPassword)

	a.get("/account")
	tests := []struct {
		name      string
		cur, next string
		field     string
	}{
		{"wrong current", "not my password", "a brand new passphrase", "current_password"},
		{"too short", testPassword, "short", "new_password"},
		{"too common", testPassword, "password1234", "new_password"},
	}
	for _, tt := range tests {
		r := a.postForm("/account/password", url.Values{"current_password": {tt.cur}, "new_password": {tt.next}})
		wantCode(t, r, http.StatusUnprocessableEntity)
		wantIn(t, r.body, `id="`+tt.field+`-error"`)
		wantNotIn(t, r.body, tt.cur, tt.next)
	}
	if b.signedInAs() == "" {
		t.Fatal("a failed change signed the other session out")
	}

	r := a.postForm("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"a brand new passphrase"}})
	wantCode(t, r, http.StatusSeeOther)
	if r.location() != "/account" {
		t.Errorf("Location = %q", r.location())
	}
	wantIn(t, a.get("/account").body, "Password changed.")
	if b.signedInAs() != "" {
		t.Error("the other session survived the password change")
	}
	if a.signedInAs() == "" {
		t.Error("the current session was ended")
	}
	// Old password no longer works; the new one does.
	c := app.client()
	c.get("/login")
	wantCode(t, c.postForm("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), http.StatusUnauthorized)
	c.login(t, "ada@example.com", "a brand new passphrase")
}

func TestAccountSessions(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a, u := app.user(t, "Ada", "ada@example.com")
	b := app.client()
	b.login(t, "ada@example.com", testPassword)
	c := app.client()
	c.login(t, "ada@example.com", testPassword)

	page := a.get("/account")
	wantCode(t, page, http.StatusOK)
	wantIn(t, page.body, "This session", a.ua, b.ua, c.ua, b.ip, "Sign out all other sessions")
	others := sessionRowRe.FindAllStringSubmatch(page.body, -1)
	if len(others) != 2 {
		t.Fatalf("want 2 other sessions, got %d", len(others))
	}
	fams, err := app.store.FamiliesByUser(context.Background(), u.ID, app.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	familyOf := map[string]string{}
	for _, f := range fams {
		familyOf[f.UserAgent] = f.ID
	}

	// "Sign out this session" on b's row ends b only.
	r := a.postForm("/account/sessions/"+familyOf[b.ua]+"/revoke", nil)
	wantCode(t, r, http.StatusSeeOther)
	wantIn(t, a.get("/account").body, "That session has been signed out.")
	if b.signedInAs() != "" {
		t.Error("revoked session still works")
	}
	if c.signedInAs() == "" || a.signedInAs() == "" {
		t.Error("revoking one session ended another")
	}
	// Someone else's session id is just not found.
	x, _ := app.user(t, "Xavier", "x@example.com")
	r = x.postForm("/account/sessions/"+familyOf[c.ua]+"/revoke", nil)
	wantCode(t, r, http.StatusNotFound)
	if c.signedInAs() == "" {
		t.Error("another user revoked c's session")
	}

	// htmx "sign out all other sessions" swaps the table.
	a.get("/account")
	r = a.htmx(http.MethodPost, "/account/sessions/revoke-others", nil)
	wantCode(t, r, http.StatusOK)
	wantIn(t, r.body, `<section id="sessions"`, "All other sessions have been signed out.")
	wantNotIn(t, r.body, "<html", c.ua)
	if c.signedInAs() != "" {
		t.Error("other session survived revoke-others")
	}
	if a.signedInAs() == "" {
		t.Error("revoke-others ended the current session")
	}

	// Ending the current session from its own row signs out here.
	fams, _ = app.store.FamiliesByUser(context.Background(), u.ID, app.clock.Now())
	if len(fams) != 1 {
		t.Fatalf("live families = %d, want 1", len(fams))
	}
	r = a.postForm("/account/sessions/"+fams[0].ID+"/revoke", nil)
	wantCode(t, r, http.StatusSeeOther)
	if a.signedInAs() != "" {
		t.Error("still signed in after ending this session")
	}
}

func TestEndAllUserSessions(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.user(t, "Ada", "ada@example.com")
	// Ending all sessions (as the CLI does on role change) signs out.
	n, err := app.web.Manager().EndUserSessions(context.Background(), u.ID, "")
	if err != nil || n != 1 {
		t.Fatalf("EndUserSessions = %d, %v", n, err)
	}
	if c.signedInAs() != "" {
		t.Error("still signed in after all sessions ended")
	}
}
