package e2e

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	playwright "github.com/mxschmitt/playwright-go"
)

const sampleMarkdown = "## Getting started\n\n" +
	"- first item\n- second item\n\n" +
	"Read [the guide](https://example.com/guide) and run `quire serve`.\n"

// Scenario 4: a post written in Markdown previews live while typing, is
// first on /blog and renders as HTML on its own page.
func TestCreatePostWithMarkdown(t *testing.T) {
	// Not parallel: it checks the new post is first on /blog, so no other
	// test may publish meanwhile (parallel tests start after this one).
	srv := begin(t)
	v := newVisitor(t, srv, "author")
	u := newUser("Mark")
	v.signUp(u)
	v.createPost(fmt.Sprintf("Older post %d", time.Now().UnixNano()), "An earlier post.")

	v.visit("/blog/new")
	title := fmt.Sprintf("Markdown works %d", time.Now().UnixNano())
	v.fill("Title", title)
	preview := v.page.Locator("#preview")
	v.must(v.expect.Locator(preview).ToContainText("Nothing to preview yet."), "empty preview")

	// Type, as a person would: the preview follows.
	content := v.field("Content (Markdown)")
	v.must(content.PressSequentially("## Getting started", playwright.LocatorPressSequentiallyOptions{Delay: playwright.Float(5)}), "type a heading")
	v.visible(preview.GetByRole(*playwright.AriaRoleHeading, playwright.LocatorGetByRoleOptions{Name: "Getting started", Level: playwright.Int(2)}), "heading in the preview")
	v.must(content.PressSequentially("\n\n- first item\n- second item\n", playwright.LocatorPressSequentiallyOptions{Delay: playwright.Float(5)}), "type a list")
	v.must(v.expect.Locator(preview.Locator("li")).ToHaveText([]string{"first item", "second item"}), "list in the preview")
	v.fill("Content (Markdown)", sampleMarkdown)
	v.visible(preview.Locator("code", playwright.LocatorLocatorOptions{HasText: "quire serve"}), "code in the preview")
	v.visible(preview.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: "the guide"}), "link in the preview")

	v.click(v.button("Add"), "Add")
	v.atURL(postURL)
	v.visible(v.text("Post published."), "published flash")
	v.visible(v.role(playwright.AriaRoleHeading, title), "post title")
	checkRenderedMarkdown(t, v, v.page.Locator("article.post .post-body"))
	v.snapshot("post-page")

	v.visit("/blog")
	first := v.page.Locator("#post-list article.card").First()
	v.must(v.expect.Locator(first.Locator(".card-title")).ToHaveText(title), "the new post is first on /blog")
	v.visible(first.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: u.fullName()}), "author on the card")
	v.snapshot("listing")

	v.click(first.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: title, Exact: playwright.Bool(true)}), "the card title")
	v.atURL(postURL)
	v.visible(v.role(playwright.AriaRoleHeading, title), "post page from the listing")
}

// checkRenderedMarkdown asserts sampleMarkdown became real HTML, not text.
func checkRenderedMarkdown(t *testing.T, v *visitor, body playwright.Locator) {
	t.Helper()
	v.visible(body.GetByRole(*playwright.AriaRoleHeading, playwright.LocatorGetByRoleOptions{Name: "Getting started", Level: playwright.Int(2)}), "rendered heading")
	v.must(v.expect.Locator(body.Locator("ul > li")).ToHaveText([]string{"first item", "second item"}), "rendered list")
	link := body.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: "the guide"})
	v.must(v.expect.Locator(link).ToHaveAttribute("href", "https://example.com/guide"), "rendered link")
	v.must(v.expect.Locator(body.Locator("code")).ToHaveText("quire serve"), "rendered code")
	v.hidden(body.GetByText("## Getting started"), "raw Markdown")
}

// Scenario 5: editing changes title and content and shows the edited date.
func TestEditPost(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "author")
	v.signUp(newUser("Edith"))
	path := v.createPost("Before the edit", "Original words.")
	v.hidden(v.page.Locator("article.post .edited"), "edited date on a new post")

	v.click(v.link("Edit"), "Edit")
	v.atURL(path + "/edit")
	v.visible(v.role(playwright.AriaRoleHeading, "Update Before the edit"), "editor heading")
	v.must(v.expect.Locator(v.field("Title")).ToHaveValue("Before the edit"), "title prefilled")
	v.must(v.expect.Locator(v.field("Content (Markdown)")).ToHaveValue("Original words."), "content prefilled")
	v.must(v.expect.Locator(v.page.Locator("#preview")).ToContainText("Original words."), "preview of the current content")

	// An invalid edit is refused in place and nothing is saved.
	v.mark()
	v.fill("Title", "")
	v.click(v.button("Update"), "Update")
	v.visible(v.text("Title is required."), "title error")
	// quire.js moves focus to the invalid field once htmx settles; typing
	// before that would land in whatever field focus moves to.
	v.must(v.expect.Locator(v.field("Title")).ToBeFocused(), "focus on the invalid title")
	v.stillSameDocument()

	v.fill("Title", "After the edit")
	v.fill("Content (Markdown)", "New **bold** content.")
	v.click(v.button("Update"), "Update")
	v.atURL(path)
	v.visible(v.text("Post updated."), "updated flash")
	v.visible(v.role(playwright.AriaRoleHeading, "After the edit"), "new title")
	body := v.page.Locator("article.post .post-body")
	v.must(v.expect.Locator(body.Locator("strong")).ToHaveText("bold"), "new content rendered")
	v.hidden(body.GetByText("Original words."), "old content")
	v.must(v.expect.Locator(v.page.Locator("article.post .byline .edited")).ToHaveText(regexp.MustCompile(`^\(edited \w{3} \d{1,2}, \d{4}\)$`)), "edited date")

	v.visit("/blog")
	v.visible(v.link("After the edit"), "new title in the listing")
	v.hidden(v.link("Before the edit"), "old title in the listing")
}

// Scenario 6: Delete on a listing card asks, removes the card in place via
// htmx, and the post is gone after a reload.
func TestDeletePostFromListing(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "author")
	v.signUp(newUser("Dee"))
	title := fmt.Sprintf("Short-lived %d", time.Now().UnixNano())
	path := v.createPost(title, "Soon gone.")
	keep := fmt.Sprintf("Keeper %d", time.Now().UnixNano())
	v.createPost(keep, "Stays.")

	var mu sync.Mutex
	var asked []string
	v.page.OnDialog(func(d playwright.Dialog) {
		mu.Lock()
		asked = append(asked, d.Type()+": "+d.Message())
		mu.Unlock()
		_ = d.Accept()
	})

	v.visit("/blog")
	card := v.page.Locator("article#post-" + postURL.FindStringSubmatch(path)[1])
	v.visible(card, "the card")
	v.mark()
	v.click(card.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: "Delete", Exact: playwright.Bool(true)}), "Delete on the card")
	v.must(v.expect.Locator(card).ToHaveCount(0), "card removed")
	v.stillSameDocument()
	v.atURL("/blog")
	v.visible(v.link(keep), "the other post stays")
	mu.Lock()
	got := append([]string(nil), asked...)
	mu.Unlock()
	if len(got) != 1 || got[0] != "confirm: Delete “"+title+"”? This cannot be undone." {
		t.Fatalf("confirmation dialogs = %q, want one confirm naming the post", got)
	}

	_, err := v.page.Reload()
	v.must(err, "reload")
	v.hidden(v.link(title), "deleted post after reload")
	v.visible(v.link(keep), "the other post after reload")
	res := v.visit(path)
	if res.Status() != 404 {
		t.Fatalf("deleted post answers %d, want 404", res.Status())
	}
	v.visible(v.role(playwright.AriaRoleHeading, "Page not found"), "404 page")
}

// Scenario 7: another user sees no Edit/Delete on someone else's post and
// gets the 403 page at its edit URL.
func TestOtherUserCannotEdit(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	owner := newVisitor(t, srv, "owner")
	owner.signUp(newUser("Olive"))
	title := fmt.Sprintf("Olive's post %d", time.Now().UnixNano())
	path := owner.createPost(title, "Mine.")
	owner.visible(owner.link("Edit"), "Edit for the owner")

	v := newVisitor(t, srv, "other")
	v.signUp(newUser("Oscar"))
	v.visit(path)
	v.visible(v.role(playwright.AriaRoleHeading, title), "the post")
	v.hidden(v.link("Edit"), "Edit on another user's post")
	v.hidden(v.link("Delete"), "Delete on another user's post")

	v.visit("/blog")
	card := v.page.Locator("article#post-" + postURL.FindStringSubmatch(path)[1])
	v.visible(card, "the card")
	v.hidden(card.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: "Edit", Exact: playwright.Bool(true)}), "Edit on the card")
	v.hidden(card.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: "Delete", Exact: playwright.Bool(true)}), "Delete on the card")

	for _, p := range []string{path + "/edit", path + "/delete"} {
		res := v.visit(p)
		if res.Status() != 403 {
			t.Fatalf("GET %s as another user = %d, want 403", p, res.Status())
		}
		v.visible(v.role(playwright.AriaRoleHeading, "Forbidden"), "403 page at "+p)
		v.visible(v.text("You can only change your own posts."), "403 message")
		v.hidden(v.field("Title"), "the editor")
	}

	// The post is untouched.
	owner.visit(path)
	owner.visible(owner.role(playwright.AriaRoleHeading, title), "the post still there")
}

// Scenario 8: script in a title or in Markdown is shown as text or removed:
// no dialog opens and no script runs, on the post page, the listing, the
// editor and its live preview.
func TestXSSIsInert(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "author")
	var mu sync.Mutex
	var dialogs []string
	v.page.OnDialog(func(d playwright.Dialog) {
		mu.Lock()
		dialogs = append(dialogs, d.Message())
		mu.Unlock()
		_ = d.Dismiss()
	})
	v.signUp(newUser("Xavier"))

	title := `<img src=x onerror="alert('title')"><script>alert('t2')</script>`
	md := "<script>window.__pwned = 1; alert('body')</script>\n\n" +
		"<img src=x onerror=\"window.__pwned = 2; alert('img')\">\n\n" +
		"[click me](javascript:alert('link'))\n\n" +
		"<a href=\"#\" onclick=\"alert('onclick')\">inline handler</a>\n\n" +
		"<iframe src=\"javascript:alert('frame')\"></iframe>\n\n" +
		"Plain text stays.\n"
	path := v.createPost(title, md)

	check := func(where string) {
		t.Helper()
		res, err := v.page.Evaluate(`() => {
			if (window.__pwned !== undefined) return 'injected script ran: __pwned = ' + window.__pwned;
			const bad = document.querySelectorAll('script:not([src]), iframe, [onerror], [onclick], a[href^="javascript:" i]');
			return bad.length ? 'dangerous markup in the page: ' + Array.from(bad, e => e.outerHTML).join(' | ') : '';
		}`)
		v.must(err, "inspect "+where)
		if problem, _ := res.(string); problem != "" {
			t.Fatalf("%s: %s", where, problem)
		}
	}

	v.visible(v.role(playwright.AriaRoleHeading, title), "title shown as text")
	body := v.page.Locator("article.post .post-body")
	v.visible(body.GetByText("Plain text stays."), "harmless text")
	if n, _ := body.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: "inline handler"}).Count(); n > 0 {
		// A kept link must have lost its handler; check clicks do nothing.
		v.click(body.GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: "inline handler"}), "inline handler link")
	}
	if n, _ := body.GetByText("click me").Count(); n > 0 {
		v.click(body.GetByText("click me"), "javascript: link text")
	}
	check("post page")
	v.visit(path)
	check("post page after clicks")

	v.visit("/blog")
	v.visible(v.link(title), "title as text in the listing")
	check("listing")
	v.visit("/")
	check("home")

	v.visit(path + "/edit")
	v.must(v.expect.Locator(v.field("Title")).ToHaveValue(title), "title in the editor")
	v.visible(v.page.Locator("#preview").GetByText("Plain text stays."), "preview rendered")
	check("editor with preview")

	pause(300 * time.Millisecond) // let any late dialog surface
	mu.Lock()
	defer mu.Unlock()
	if len(dialogs) > 0 {
		t.Fatalf("a dialog opened: %q", dialogs)
	}
}

// Scenario 12: with JavaScript off, everything works with full page loads:
// register, sign in, create, edit and delete.
func TestWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitorNoJS(t, srv, "no-js")
	u := newUser("Nojs")

	// Invalid input comes back as a full page with the errors.
	v.visit("/register")
	v.fill("First name", u.First)
	v.fill("Last name", u.Last)
	v.fill("Email", u.Email)
	v.fill("Password", "short")
	v.click(v.button("Register"), "Register")
	v.atURL("/register")
	v.visible(v.page.Locator("#password-error"), "password error without JS")
	v.must(v.expect.Locator(v.field("Email")).ToHaveValue(u.Email), "email kept without JS")

	v.fill("Password", u.Password)
	v.click(v.button("Register"), "Register")
	v.atURL("/login")
	v.visible(v.text("Account created — sign in."), "registration flash")
	v.fill("Email", u.Email)
	v.fill("Password", u.Password)
	v.click(v.button("Login"), "Login")
	v.atURL("/")
	v.signedInAs(u)

	path := v.createPost("No script needed", "Written *without* JavaScript.")
	v.visible(v.text("Post published."), "published flash")
	v.must(v.expect.Locator(v.page.Locator("article.post .post-body em")).ToHaveText("without"), "Markdown rendered")

	v.click(v.link("Edit"), "Edit")
	v.atURL(path + "/edit")
	v.visible(v.text("The preview appears here as you type (needs JavaScript)."), "preview placeholder without JS")
	v.fill("Title", "Still no script")
	v.fill("Content (Markdown)", "Edited **without** JavaScript.")
	v.click(v.button("Update"), "Update")
	v.atURL(path)
	v.visible(v.text("Post updated."), "updated flash")
	v.visible(v.role(playwright.AriaRoleHeading, "Still no script"), "new title")
	v.visible(v.page.Locator("article.post .byline .edited"), "edited date")

	v.click(v.link("Delete"), "Delete")
	v.atURL(path + "/delete")
	v.visible(v.role(playwright.AriaRoleHeading, "Delete “Still no script”?"), "confirmation page")
	v.click(v.button("Delete post"), "Delete post")
	v.atURL("/blog")
	v.visible(v.text("Post deleted."), "deleted flash")
	v.hidden(v.link("Still no script"), "deleted post in the listing")
	if res := v.visit(path); res.Status() != 404 {
		t.Fatalf("deleted post answers %d, want 404", res.Status())
	}

	v.visit("/")
	v.click(v.button("Sign out"), "Sign out")
	v.atURL("/")
	v.signedOut()
}
