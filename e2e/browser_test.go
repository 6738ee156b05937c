package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	playwright "github.com/mxschmitt/playwright-go"
)

// sessionCookie is the auth cookie's name over plain http.
const sessionCookie = "quire_session"

// begin returns the shared server and, if the test fails, prints the part of
// the server log written while it ran.
func begin(t *testing.T) *server {
	t.Helper()
	watchLog(t, suite.srv)
	return suite.srv
}

// watchLog prints what s logged during the test, if the test fails.
func watchLog(t *testing.T, s *server) {
	from := s.log.Len()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server %q log during this test:\n%s", s.name, s.log.Since(from))
		}
	})
}

// visitor is one person's browser: a fresh context (own cookies) and a page.
type visitor struct {
	t      *testing.T
	name   string
	srv    *server
	ctx    playwright.BrowserContext
	page   playwright.Page
	expect playwright.PlaywrightAssertions
}

// newVisitor opens a fresh browser context on srv.
func newVisitor(t *testing.T, srv *server, name string) *visitor {
	t.Helper()
	return openVisitor(t, srv, name, playwright.BrowserNewContextOptions{})
}

// newVisitorNoJS opens a context with JavaScript disabled.
func newVisitorNoJS(t *testing.T, srv *server, name string) *visitor {
	t.Helper()
	return openVisitor(t, srv, name, playwright.BrowserNewContextOptions{JavaScriptEnabled: playwright.Bool(false)})
}

func openVisitor(t *testing.T, srv *server, name string, o playwright.BrowserNewContextOptions) *visitor {
	t.Helper()
	o.BaseURL = playwright.String(srv.base)
	o.Viewport = &playwright.Size{Width: 1100, Height: 800}
	ctx, err := suite.browser.NewContext(o)
	if err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	ctx.SetDefaultTimeout(15_000)
	ctx.SetDefaultNavigationTimeout(15_000)
	page, err := ctx.NewPage()
	if err != nil {
		_ = ctx.Close()
		t.Fatalf("new page: %v", err)
	}
	v := &visitor{t: t, name: name, srv: srv, ctx: ctx, page: page, expect: suite.expect}
	// Cleanups run last-in first-out: capture the page before closing it.
	t.Cleanup(func() { _ = ctx.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			v.capture("FAILED-" + safeName(t.Name()) + "-" + name)
		}
	})
	return v
}

// capture writes a full-page screenshot and the page HTML to the artifacts
// folder and logs where.
func (v *visitor) capture(base string) {
	png := filepath.Join(suite.artifacts, base+".png")
	if _, err := v.page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(png), FullPage: playwright.Bool(true)}); err != nil {
		v.t.Logf("screenshot %s: %v", png, err)
	} else {
		v.t.Logf("screenshot: %s (page %s)", png, v.page.URL())
	}
	html, err := v.page.Content()
	if err != nil {
		v.t.Logf("page HTML: %v", err)
		return
	}
	file := filepath.Join(suite.artifacts, base+".html")
	if err := os.WriteFile(file, []byte(html), 0o644); err != nil {
		v.t.Logf("page HTML: %v", err)
		return
	}
	v.t.Logf("page HTML: %s", file)
}

// snapshot saves a named screenshot of the current page (make e2e leaves
// these in the artifacts folder for a human to look at).
func (v *visitor) snapshot(name string) {
	v.t.Helper()
	png := filepath.Join(suite.artifacts, name+".png")
	_, err := v.page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(png), FullPage: playwright.Bool(true)})
	v.must(err, "screenshot "+name)
	v.t.Logf("screenshot: %s", png)
}

func safeName(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(s, "_")
}

// must fails the test with what was being done.
func (v *visitor) must(err error, doing string) {
	v.t.Helper()
	if err != nil {
		v.t.Fatalf("%s (%s at %s): %v", doing, v.name, v.page.URL(), err)
	}
}

func (v *visitor) visit(path string) playwright.Response {
	v.t.Helper()
	res, err := v.page.Goto(path)
	v.must(err, "go to "+path)
	return res
}

// role finds an element by ARIA role and exact accessible name.
func (v *visitor) role(role *playwright.AriaRole, name string) playwright.Locator {
	return v.page.GetByRole(*role, playwright.PageGetByRoleOptions{Name: name, Exact: playwright.Bool(true)})
}

func (v *visitor) button(name string) playwright.Locator {
	return v.role(playwright.AriaRoleButton, name)
}

func (v *visitor) link(name string) playwright.Locator {
	return v.role(playwright.AriaRoleLink, name)
}

// field finds an input by its label, which also proves the label is there.
func (v *visitor) field(label string) playwright.Locator {
	return v.page.GetByLabel(label, playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)})
}

func (v *visitor) fill(label, value string) {
	v.t.Helper()
	v.must(v.field(label).Fill(value), "fill "+label)
}

func (v *visitor) click(l playwright.Locator, what string) {
	v.t.Helper()
	v.must(l.Click(), "click "+what)
}

func (v *visitor) visible(l playwright.Locator, what string) {
	v.t.Helper()
	v.must(v.expect.Locator(l).ToBeVisible(), what+" should be visible")
}

func (v *visitor) hidden(l playwright.Locator, what string) {
	v.t.Helper()
	v.must(v.expect.Locator(l).ToBeHidden(), what+" should not be shown")
}

// text finds visible text (exact match of an element's text).
func (v *visitor) text(s string) playwright.Locator {
	return v.page.GetByText(s, playwright.PageGetByTextOptions{Exact: playwright.Bool(true)})
}

// atURL waits until the page is at path (relative to the server) or matches
// a *regexp.Regexp.
func (v *visitor) atURL(want any) {
	v.t.Helper()
	v.must(v.expect.Page(v.page).ToHaveURL(want), fmt.Sprintf("URL should be %v", want))
}

// cookie returns the session cookie's value ("" when there is none).
func (v *visitor) cookie() string {
	v.t.Helper()
	cs, err := v.ctx.Cookies(v.srv.base)
	v.must(err, "read cookies")
	for _, c := range cs {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// mark tags the current document; stillSameDocument then proves that what
// happened since was an in-place htmx swap, not a navigation or reload.
func (v *visitor) mark() {
	v.t.Helper()
	_, err := v.page.Evaluate(`() => { window.__quireMark = 1 }`)
	v.must(err, "mark the document")
}

func (v *visitor) stillSameDocument() {
	v.t.Helper()
	got, err := v.page.Evaluate(`() => window.__quireMark === 1`)
	v.must(err, "read the document mark")
	if got != true {
		v.t.Fatalf("%s: the page navigated or reloaded; want an in-place htmx update", v.name)
	}
}

// swapped runs act and waits until htmx has replaced the element matching
// selector with a new one (the old element is tagged first).
func (v *visitor) swapped(selector string, act func()) {
	v.t.Helper()
	_, err := v.page.Evaluate(`s => { document.querySelector(s).__quireOld = true }`, selector)
	v.must(err, "tag "+selector)
	act()
	_, err = v.page.WaitForFunction(`s => { const e = document.querySelector(s); return e && !e.__quireOld }`, selector)
	v.must(err, "wait for a new "+selector)
}

// signedInAs waits for the navigation to show u's name and Sign out.
func (v *visitor) signedInAs(u user) {
	v.t.Helper()
	nav := v.page.GetByRole(*playwright.AriaRoleNavigation, playwright.PageGetByRoleOptions{Name: "Main"})
	v.must(v.expect.Locator(nav.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: u.fullName(), Exact: playwright.Bool(true)})).ToBeVisible(),
		"navigation should show "+u.fullName())
	v.must(v.expect.Locator(nav.GetByRole(*playwright.AriaRoleButton, playwright.LocatorGetByRoleOptions{Name: "Sign out", Exact: playwright.Bool(true)})).ToBeVisible(),
		"navigation should show Sign out")
}

// signedOut waits for the navigation to offer Sign in.
func (v *visitor) signedOut() {
	v.t.Helper()
	nav := v.page.GetByRole(*playwright.AriaRoleNavigation, playwright.PageGetByRoleOptions{Name: "Main"})
	v.must(v.expect.Locator(nav.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: "Sign in", Exact: playwright.Bool(true)})).ToBeVisible(),
		"navigation should offer Sign in")
}

// user is a person the test registers.
type user struct {
	First, Last, Email, Password string
}

func (u user) fullName() string { return u.First + " " + u.Last }

var userSeq atomic.Int64

// newUser returns a user no other test (or earlier run on the same
// database) has.
func newUser(first string) user {
	n := userSeq.Add(1)
	return user{
		First:    first,
		Last:     fmt.Sprintf("Tester%d", n),
		Email:    fmt.Sprintf("%s.%d.%d@example.test", strings.ToLower(first), time.Now().UnixNano()%1e9, n),
		Password: "plum orbit kettle 42",
	}
}

// register fills in the registration form and expects the login page with
// the success flash.
func (v *visitor) register(u user) {
	v.t.Helper()
	v.visit("/register")
	v.fill("First name", u.First)
	v.fill("Last name", u.Last)
	v.fill("Email", u.Email)
	v.fill("Password", u.Password)
	v.click(v.button("Register"), "Register")
	v.atURL("/login")
	v.visible(v.text("Account created — sign in."), "registration flash")
}

// login signs in through the form and expects the signed-in navigation.
func (v *visitor) login(u user) {
	v.t.Helper()
	v.visit("/login")
	v.fill("Email", u.Email)
	v.fill("Password", u.Password)
	v.click(v.button("Login"), "Login")
	v.signedInAs(u)
}

// signUp registers u and signs in.
func (v *visitor) signUp(u user) {
	v.t.Helper()
	v.register(u)
	v.fill("Email", u.Email)
	v.fill("Password", u.Password)
	v.click(v.button("Login"), "Login")
	v.signedInAs(u)
}

var postURL = regexp.MustCompile(`/blog/(\d+)$`)

// createPost writes a post through the editor and returns its path.
func (v *visitor) createPost(title, markdown string) string {
	v.t.Helper()
	v.visit("/blog/new")
	v.fill("Title", title)
	v.fill("Content (Markdown)", markdown)
	v.click(v.button("Add"), "Add")
	v.atURL(postURL)
	v.visible(v.role(playwright.AriaRoleHeading, title), "post title")
	m := postURL.FindStringSubmatch(v.page.URL())
	if m == nil {
		v.t.Fatalf("after creating a post the URL is %s", v.page.URL())
	}
	return "/blog/" + m[1]
}

// pause waits on the wall clock (session timings are real time).
func pause(d time.Duration) { time.Sleep(d) }
