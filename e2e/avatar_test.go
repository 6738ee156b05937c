package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"testing"

	playwright "github.com/mxschmitt/playwright-go"
)

// avatarPNG is a real picture: a 120 x 80 PNG, left half orange, right half
// teal.
func avatarPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 120, 80))
	for y := range 80 {
		for x := range 120 {
			c := color.NRGBA{R: 240, G: 140, B: 20, A: 255}
			if x >= 60 {
				c = color.NRGBA{R: 20, G: 160, B: 150, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var avatarSrc = regexp.MustCompile(`^/avatars/[0-9a-f-]+/(64|256)\?v=\d+$`)

// imageLoaded waits until img has really loaded and returns its natural
// width (0 for a broken image).
func (v *visitor) imageLoaded(img playwright.Locator, what string) int {
	v.t.Helper()
	v.visible(img, what)
	w, err := img.Evaluate(`async img => { if (!img.complete) await new Promise(r => { img.onload = img.onerror = r }); return img.naturalWidth }`, nil)
	v.must(err, "load "+what)
	n, _ := w.(int)
	if f, ok := w.(float64); ok {
		n = int(f)
	}
	return n
}

func (v *visitor) attr(l playwright.Locator, name string) string {
	v.t.Helper()
	s, err := l.GetAttribute(name)
	v.must(err, "read "+name)
	return s
}

// Scenario: upload an avatar (htmx, multipart) and see it on the post card,
// the post page and the author page; a file that is not an image is refused
// in place.
func TestAvatarOnPostCard(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitor(t, srv, "author")
	u := newUser("Ava")
	v.signUp(u)
	path := v.createPost("A post with a face", "Hello from Ava.")

	v.visit("/account/profile")
	v.must(v.field("Upload an avatar").SetInputFiles(playwright.InputFile{Name: "notes.png", MimeType: "image/png",
		Buffer: []byte("these are my notes, not a picture")}), "choose a text file")
	v.mark()
	v.click(v.button("Save profile"), "Save profile")
	v.visible(v.page.Locator("#avatar-error", playwright.PageLocatorOptions{HasText: "not an image Quire can read"}), "error for a text file")
	v.stillSameDocument()

	v.must(v.field("Upload an avatar").SetInputFiles(playwright.InputFile{Name: "me.png", MimeType: "image/png",
		Buffer: avatarPNG(t)}), "choose a picture")
	v.click(v.button("Save profile"), "Save profile")
	v.visible(v.text("Profile and avatar saved."), "saved flash")
	v.visible(v.button("Remove avatar"), "Remove avatar")
	v.snapshot("profile-avatar")

	v.visit("/blog")
	card := v.page.Locator("#post-list article.card", playwright.PageLocatorOptions{HasText: "A post with a face"}).First()
	img := card.Locator(".byline img.avatar")
	if src := v.attr(img, "src"); !avatarSrc.MatchString(src) {
		t.Fatalf("card avatar src %q, want an uploaded avatar URL", src)
	}
	if w := v.imageLoaded(img, "avatar on the card"); w != 64 {
		t.Errorf("card avatar natural width %d, want 64", w)
	}
	v.snapshot("card-avatar")

	v.visit(path)
	if w := v.imageLoaded(v.page.Locator("article.post .byline img.avatar"), "avatar on the post page"); w != 64 {
		t.Errorf("post page avatar width %d, want 64", w)
	}
	v.click(v.page.Locator("article.post .byline").GetByRole(*playwright.AriaRoleLink, playwright.LocatorGetByRoleOptions{Name: u.fullName()}), "author name")
	v.atURL(regexp.MustCompile(`/authors/[0-9a-f-]+$`))
	v.visible(v.role(playwright.AriaRoleHeading, u.fullName()), "author page heading")
	if w := v.imageLoaded(v.page.Locator(".author-head img"), "avatar on the author page"); w != 256 {
		t.Errorf("author page avatar width %d, want 256", w)
	}
	v.visible(v.page.Locator("article.card", playwright.PageLocatorOptions{HasText: "A post with a face"}), "the post on the author page")
}

// Without JavaScript the same form uploads (plain multipart POST) and
// "Remove avatar" brings the default picture back on the card.
func TestAvatarWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := begin(t)
	v := newVisitorNoJS(t, srv, "author")
	u := newUser("Nojs")
	v.signUp(u)
	v.createPost("No script, still a face", "Plain forms.")

	v.visit("/account/profile")
	v.must(v.field("Upload an avatar").SetInputFiles(playwright.InputFile{Name: "me.png", MimeType: "image/png",
		Buffer: avatarPNG(t)}), "choose a picture")
	v.click(v.button("Save profile"), "Save profile")
	v.atURL("/account/profile")
	v.visible(v.text("Profile and avatar saved."), "saved flash")

	v.visit("/blog")
	card := v.page.Locator("#post-list article.card", playwright.PageLocatorOptions{HasText: "No script, still a face"}).First()
	img := card.Locator(".byline img.avatar")
	if src := v.attr(img, "src"); !avatarSrc.MatchString(src) {
		t.Fatalf("card avatar src %q, want an uploaded avatar URL", src)
	}
	if w := v.imageLoaded(img, "avatar on the card"); w != 64 {
		t.Errorf("card avatar width %d, want 64", w)
	}

	v.visit("/account/profile")
	v.click(v.button("Remove avatar"), "Remove avatar")
	v.visible(v.text("Avatar removed; the default picture is shown again."), "removed flash")
	v.visit("/blog")
	card = v.page.Locator("#post-list article.card", playwright.PageLocatorOptions{HasText: "No script, still a face"}).First()
	if src := v.attr(card.Locator(".byline img.avatar"), "src"); avatarSrc.MatchString(src) {
		t.Errorf("after removal the card still shows %q", src)
	}
}
