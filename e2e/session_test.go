package e2e

import (
	"regexp"
	"testing"
	"time"

	playwright "github.com/mxschmitt/playwright-go"
)

// The shared server rotates session tokens older than 2 s and accepts the
// previous token for 1 s after a rotation (baseServerArgs).
const (
	rotateEvery = 2 * time.Second
	graceWindow = 1 * time.Second
)

var loginForAccount = regexp.MustCompile(`/login\?next=%2Faccount$`)

// Scenario 9: across several rotations the user stays signed in while
// navigating - full pages and htmx requests alike - and the cookie changes
// each time.
func TestSessionRotation(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "visitor")
	u := newUser("Rita")
	v.signUp(u)

	seen := map[string]bool{v.cookie(): true}
	prev := v.cookie()
	for i, path := range []string{"/account", "/blog", "/"} {
		pause(rotateEvery + 200*time.Millisecond)
		v.visit(path)
		v.signedInAs(u)
		now := v.cookie()
		if now == "" || now == prev {
			t.Fatalf("rotation %d: cookie did not change on %s", i+1, path)
		}
		if seen[now] {
			t.Fatalf("rotation %d: an earlier cookie value came back", i+1)
		}
		seen[now] = true
		prev = now
	}

	// htmx requests rotate too, and the page keeps working with the new token.
	v.visit("/blog/new")
	v.fill("Title", "Written across a rotation")
	before := v.cookie()
	pause(rotateEvery + 200*time.Millisecond)
	v.fill("Content (Markdown)", "Still *signed in*.")
	v.must(v.expect.Locator(v.page.Locator("#preview em")).ToHaveText("signed in"), "preview after the token aged")
	if v.cookie() == before {
		t.Fatal("the htmx preview request did not rotate the cookie")
	}
	v.click(v.button("Add"), "Add")
	v.atURL(postURL)
	v.visible(v.role(playwright.AriaRoleHeading, "Written across a rotation"), "post created after rotation")
	v.signedInAs(u)
}

// Scenario 10: a copied cookie used after the original was rotated and the
// grace window passed is a stolen token: both browsers are signed out.
func TestSessionReuseDetection(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	a := newVisitor(t, srv, "owner")
	u := newUser("Reuben")
	a.signUp(u)
	stolen := a.cookie()

	b := newVisitor(t, srv, "thief")
	b.must(b.ctx.AddCookies([]playwright.OptionalCookie{{
		Name: sessionCookie, Value: stolen, URL: playwright.String(srv.base),
		HttpOnly: playwright.Bool(true), SameSite: playwright.SameSiteAttributeLax,
	}}), "copy the cookie")

	// The owner keeps browsing: the token rotates.
	pause(rotateEvery + 200*time.Millisecond)
	a.visit("/account")
	a.signedInAs(u)
	if a.cookie() == stolen {
		t.Fatal("the owner's cookie did not rotate")
	}

	// Past the grace window the copy is stale.
	pause(graceWindow + 300*time.Millisecond)
	b.visit("/account")
	b.atURL(loginForAccount)
	b.signedOut()
	if b.cookie() != "" {
		t.Fatal("the stale cookie was not cleared")
	}

	// The whole login was revoked: the owner is signed out too.
	a.visit("/account")
	a.atURL(loginForAccount)
	a.signedOut()

	// Signing in again starts a fresh, working login.
	a.fill("Email", u.Email)
	a.fill("Password", u.Password)
	a.click(a.button("Login"), "Login")
	a.atURL("/account")
	a.signedInAs(u)
}

// Scenario 11: after signing out, protected pages send to the login page,
// Back does not show the signed-in page, and the old cookie is dead.
func TestSignOutAndBack(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "visitor")
	u := newUser("Sam")
	v.signUp(u)

	v.visit("/account")
	account := v.role(playwright.AriaRoleHeading, "Your account")
	v.visible(account, "account page")
	v.visible(v.page.GetByText(u.Email), "email on the account page")
	old := v.cookie()

	v.click(v.button("Sign out"), "Sign out")
	v.atURL("/")
	v.visible(v.text("You have been signed out."), "signed-out flash")
	v.signedOut()
	if v.cookie() != "" {
		t.Fatal("session cookie still set after signing out")
	}

	// Back to the account page: it is fetched again and refused.
	_, err := v.page.GoBack()
	v.must(err, "go back")
	v.atURL(loginForAccount)
	v.hidden(account, "account page after Back")
	v.hidden(v.page.GetByText(u.Email), "the user's email after Back")
	v.signedOut()

	v.visit("/blog/new")
	v.atURL(regexp.MustCompile(`/login\?next=%2Fblog%2Fnew$`))

	// Putting the old cookie back does not revive the login.
	v.must(v.ctx.AddCookies([]playwright.OptionalCookie{{
		Name: sessionCookie, Value: old, URL: playwright.String(srv.base),
		HttpOnly: playwright.Bool(true), SameSite: playwright.SameSiteAttributeLax,
	}}), "restore the old cookie")
	v.visit("/account")
	v.atURL(loginForAccount)
	v.signedOut()

	// Signing in from there returns to the page asked for.
	v.fill("Email", u.Email)
	v.fill("Password", u.Password)
	v.click(v.button("Login"), "Login")
	v.atURL("/account")
	v.visible(account, "account page after signing in again")
}

// Scenario 13: "Sign out all other sessions" on /account ends the login of
// a second browser and keeps this one.
func TestSignOutOtherSessions(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	u := newUser("Otto")
	a := newVisitor(t, srv, "laptop")
	a.signUp(u)
	b := newVisitor(t, srv, "phone")
	b.login(u)

	a.visit("/account")
	rows := a.page.Locator("#sessions tbody tr")
	a.must(a.expect.Locator(rows).ToHaveCount(2), "two sessions listed")
	a.visible(a.text("This session"), "the current session marked")
	a.mark()
	a.click(a.button("Sign out all other sessions"), "Sign out all other sessions")
	a.visible(a.text("All other sessions have been signed out."), "notice")
	a.must(a.expect.Locator(rows).ToHaveCount(1), "one session left")
	a.stillSameDocument()

	b.visit("/account")
	b.atURL(loginForAccount)
	b.signedOut()

	a.visit("/account")
	a.signedInAs(u)
	a.must(a.expect.Locator(rows).ToHaveCount(1), "still one session")
}
