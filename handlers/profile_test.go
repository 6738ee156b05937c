package handlers

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"quire/avatar"
	"quire/store"
)

var (
	pfRed  = color.NRGBA{R: 255, A: 255}
	pfBlue = color.NRGBA{B: 255, A: 255}
)

func TestProfilePageNeedsSignIn(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	c := app.client()
	r := c.get("/account/profile")
	pfWantCode(t, r, http.StatusSeeOther)
	if want := "/login?next=" + url.QueryEscape("/account/profile"); r.location() != want {
		t.Errorf("Location %q, want %q", r.location(), want)
	}
	c.get("/")
	r = c.upload("/account/profile", url.Values{"first_name": {"X"}, "last_name": {"Y"}}, "a.png", pfPNG(t, pfPicture(8, 8, pfRed, pfBlue)), false)
	pfWantCode(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.location(), "/login") {
		t.Errorf("signed-out upload went to %q, want /login", r.location())
	}
}

func TestProfileNames(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	c, u := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)

	r := c.get("/account/profile")
	pfWantCode(t, r, http.StatusOK)
	pfWantIn(t, r.body, `enctype="multipart/form-data"`, `hx-encoding="multipart/form-data"`, `value="Ada"`,
		`name="avatar" type="file"`, app.assets.Path("img/avatar.svg"), `href="/authors/`+u.ID+`"`)
	pfWantNotIn(t, r.body, "Remove avatar") // nothing to remove yet

	tests := []struct {
		name        string
		first, last string
		htmx        bool
		code        int
		want        string
	}{
		{"first name missing", "", "Lovelace", false, http.StatusUnprocessableEntity, "First name is required."},
		{"last name too long", "Ada", strings.Repeat("x", 101), true, http.StatusUnprocessableEntity, "Last name must be at most 100 characters."},
		{"control characters", "Ada\x07", "L", false, http.StatusUnprocessableEntity, "First name contains control characters."},
	}
	for _, tt := range tests {
		r := c.upload("/account/profile", url.Values{"first_name": {tt.first}, "last_name": {tt.last}}, "", nil, tt.htmx)
		pfWantCode(t, r, tt.code)
		pfWantIn(t, r.body, tt.want, `id="profile"`)
		if tt.htmx && strings.Contains(r.body, "<html") {
			t.Errorf("%s: htmx got a full page", tt.name)
		}
		if got, _ := app.store.UserByID(t.Context(), u.ID); got.FirstName != "Ada" || got.LastName != "Tester" {
			t.Errorf("%s: stored names changed to %q %q", tt.name, got.FirstName, got.LastName)
		}
	}

	// A plain (urlencoded) form without a file works too.
	r = c.post("/account/profile", url.Values{"first_name": {" Augusta Ada "}, "last_name": {"King"}})
	pfWantCode(t, r, http.StatusSeeOther)
	if r.location() != "/account/profile" {
		t.Errorf("Location %q", r.location())
	}
	got, _ := app.store.UserByID(t.Context(), u.ID)
	if got.FirstName != "Augusta Ada" || got.LastName != "King" || got.AvatarVersion != 0 {
		t.Errorf("stored %+v", got)
	}
	pfWantIn(t, c.get("/account/profile").body, "Profile saved.", `value="Augusta Ada"`)
	pfWantIn(t, c.get("/").body, `class="nav-user">Augusta Ada King<`)

	// Without the CSRF token nothing changes.
	r = c.upload("/account/profile", url.Values{"csrf_token": {"forged"}, "first_name": {"Evil"}, "last_name": {"X"}}, "", nil, false)
	pfWantCode(t, r, http.StatusForbidden)
	if got, _ := app.store.UserByID(t.Context(), u.ID); got.FirstName != "Augusta Ada" {
		t.Errorf("forged form changed the name to %q", got.FirstName)
	}
}

// pfBombPNG declares 20,000 x 20,000 pixels and carries none.
func pfBombPNG() []byte {
	chunk := func(typ string, data []byte) []byte {
		var b bytes.Buffer
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
		return b.Bytes()
	}
	ihdr := binary.BigEndian.AppendUint32(nil, 20000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 20000)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	return append(append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...), chunk("IDAT", []byte{0x78, 0x9c})...)
}

func TestProfileAvatarRejected(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	c, u := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)
	c.get("/account/profile")
	good := pfPNG(t, pfPicture(40, 40, pfRed, pfBlue))
	names := url.Values{"first_name": {"Ada"}, "last_name": {"Tester"}}
	tests := []struct {
		name     string
		fileName string
		data     []byte
		htmx     bool
		code     int
		want     string
	}{
		{"text renamed .png", "notes.png", []byte("just some notes\nnot a picture\n"), false, http.StatusUnprocessableEntity, "not an image Quire can read"},
		{"truncated png", "cut.png", good[:len(good)/2], true, http.StatusUnprocessableEntity, "damaged or incomplete"},
		{"empty file", "empty.png", []byte{}, false, http.StatusUnprocessableEntity, "The file is empty."},
		{"decompression bomb", "bomb.png", pfBombPNG(), true, http.StatusUnprocessableEntity, "too big in pixels"},
		{"file over 2 MB", "big.png", append(append([]byte{}, good...), make([]byte, avatar.MaxBytes)...), false, http.StatusRequestEntityTooLarge, "larger than 2 MB"},
	}
	for _, tt := range tests {
		r := c.upload("/account/profile", names, tt.fileName, tt.data, tt.htmx)
		if r.code != tt.code {
			t.Errorf("%s: status %d, want %d\n%s", tt.name, r.code, tt.code, pfSnippet(r.body))
			continue
		}
		pfWantIn(t, r.body, tt.want, `id="avatar-error"`, `aria-invalid="true"`)
	}
	// A body far over the limit is refused before it is parsed.
	r := c.upload("/account/profile", names, "huge.png", make([]byte, 3*avatar.MaxBytes), false)
	pfWantCode(t, r, http.StatusRequestEntityTooLarge)
	pfWantIn(t, r.body, "larger than this site accepts")

	if got, _ := app.store.UserByID(t.Context(), u.ID); got.AvatarVersion != 0 {
		t.Errorf("a refused upload set avatar version %d", got.AvatarVersion)
	}
	// Other forms keep the small limit: 1.5 MB of post is a 413.
	r = c.post("/blog", url.Values{"title": {"t"}, "content": {strings.Repeat("x", 1_500_000)}})
	pfWantCode(t, r, http.StatusRequestEntityTooLarge)
}

func TestProfileAvatarLifecycle(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	c, u := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)
	postID := c.createPost("Hello avatars")
	def := app.assets.Path("img/avatar.svg")
	pfWantIn(t, c.get("/blog").body, def)

	tests := []struct {
		name, file string
		data       []byte
		wantType   string
	}{
		{"png", "me.png", pfPNG(t, pfPicture(300, 200, pfRed, pfBlue)), "image/jpeg"},
		{"jpeg", "me.jpg", pfJPEG(t, pfPicture(120, 160, pfRed, pfBlue)), "image/jpeg"},
		{"gif", "me.gif", pfGIF(t, pfPicture(50, 50, pfRed, pfBlue)), "image/jpeg"},
		{"png with transparency", "me.png", pfPNG(t, pfPicture(64, 64, pfRed, color.NRGBA{})), "image/png"},
	}
	var last int64
	for _, tt := range tests {
		c.get("/account/profile")
		r := c.upload("/account/profile", url.Values{"first_name": {"Ada"}, "last_name": {"Tester"}}, tt.file, tt.data, false)
		pfWantCode(t, r, http.StatusSeeOther)
		got, _ := app.store.UserByID(t.Context(), u.ID)
		if got.AvatarVersion <= last {
			t.Fatalf("%s: version %d after %d", tt.name, got.AvatarVersion, last)
		}
		last = got.AvatarVersion
		for _, size := range []int{64, 256} {
			path := "/avatars/" + u.ID + "/" + strconv.Itoa(size) + "?v=" + strconv.FormatInt(last, 10)
			r := c.get(path)
			pfWantCode(t, r, http.StatusOK)
			if ct := r.header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("%s %d: Content-Type %q, want %q", tt.name, size, ct, tt.wantType)
			}
			var cfgW, cfgH int
			if tt.wantType == "image/png" {
				cfg, err := png.DecodeConfig(strings.NewReader(r.body))
				if err != nil {
					t.Fatal(err)
				}
				cfgW, cfgH = cfg.Width, cfg.Height
			} else {
				cfg, err := jpeg.DecodeConfig(strings.NewReader(r.body))
				if err != nil {
					t.Fatal(err)
				}
				cfgW, cfgH = cfg.Width, cfg.Height
			}
			if cfgW != size || cfgH != size {
				t.Errorf("%s: served %dx%d at size %d", tt.name, cfgW, cfgH, size)
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("versioned URL Cache-Control %q", cc)
			}
		}
	}
	v := strconv.FormatInt(last, 10)

	// Conditional requests and unversioned URLs.
	r := c.get("/avatars/" + u.ID + "/64?v=" + v)
	etag := r.header.Get("ETag")
	if etag == "" || !strings.Contains(etag, v) {
		t.Fatalf("ETag %q does not name version %s", etag, v)
	}
	r = c.request(http.MethodGet, "/avatars/"+u.ID+"/64?v="+v, nil, http.Header{"If-None-Match": {etag}})
	pfWantCode(t, r, http.StatusNotModified)
	if r.body != "" || r.header.Get("ETag") != etag {
		t.Errorf("304 body %d bytes, ETag %q", len(r.body), r.header.Get("ETag"))
	}
	r = c.request(http.MethodGet, "/avatars/"+u.ID+"/64", nil, http.Header{"If-None-Match": {`"1-64"`}})
	pfWantCode(t, r, http.StatusOK)
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
		t.Errorf("unversioned URL Cache-Control %q, want revalidation", cc)
	}
	r = c.request(http.MethodHead, "/avatars/"+u.ID+"/256?v="+v, nil, nil)
	pfWantCode(t, r, http.StatusOK)
	if r.body != "" || r.header.Get("Content-Length") == "" {
		t.Errorf("HEAD: %d body bytes, Content-Length %q", len(r.body), r.header.Get("Content-Length"))
	}
	for _, bad := range []string{"/avatars/" + u.ID + "/100", "/avatars/" + u.ID + "/abc", "/avatars/" + u.ID + "/0064"} {
		if r := c.get(bad); r.code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", bad, r.code)
		}
	}
	r = c.get("/avatars/no-such-user/64")
	pfWantCode(t, r, http.StatusFound)
	if r.location() != def {
		t.Errorf("no avatar: Location %q, want %q", r.location(), def)
	}

	// The avatar shows on cards, the post page, the author page and the
	// profile page, signed in or not.
	small := "/avatars/" + u.ID + "/64?v=" + v
	large := "/avatars/" + u.ID + "/256?v=" + v
	guest := app.client()
	for _, page := range []string{"/", "/blog", "/blog/" + strconv.FormatInt(postID, 10)} {
		pfWantIn(t, guest.get(page).body, small, `href="/authors/`+u.ID+`"`)
	}
	pfWantIn(t, guest.get("/authors/"+u.ID).body, large)
	pfWantIn(t, c.get("/account/profile").body, large, "Remove avatar")

	// Remove: back to the default everywhere.
	r = c.post("/account/profile", url.Values{"action": {"remove_avatar"}})
	pfWantCode(t, r, http.StatusSeeOther)
	if got, _ := app.store.UserByID(t.Context(), u.ID); got.AvatarVersion != 0 {
		t.Errorf("version after remove = %d", got.AvatarVersion)
	}
	pfWantIn(t, c.get("/account/profile").body, "Avatar removed", def)
	blog := guest.get("/blog").body
	pfWantIn(t, blog, def)
	pfWantNotIn(t, blog, "/avatars/"+u.ID)
	r = c.get(small)
	pfWantCode(t, r, http.StatusFound)
	if r.location() != def {
		t.Errorf("removed avatar: Location %q", r.location())
	}

	// An htmx upload answers with a redirect header (the page reloads).
	c.get("/account/profile")
	r = c.upload("/account/profile", url.Values{"first_name": {"Ada"}, "last_name": {"Tester"}}, "me.png", tests[0].data, true)
	pfWantCode(t, r, http.StatusOK)
	if r.header.Get("HX-Redirect") != "/account/profile" {
		t.Errorf("htmx upload: HX-Redirect %q", r.header.Get("HX-Redirect"))
	}
	if got, _ := app.store.UserByID(context.Background(), u.ID); got.AvatarVersion <= last {
		t.Errorf("htmx upload: version %d, want > %d", got.AvatarVersion, last)
	}
}

func TestAuthorPage(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	ada, u := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)
	bob, _ := app.signedIn("Bob", "bob@example.com", store.RoleAuthor)
	bobPost := bob.createPost("Bob's only post")
	for i := range pageSize + 3 {
		ada.createPost("Ada post " + strconv.Itoa(i))
	}
	guest := app.client()

	r := guest.get("/authors/" + u.ID)
	pfWantCode(t, r, http.StatusOK)
	pfWantIn(t, r.body, "<h1>Ada Tester</h1>", "Ada post "+strconv.Itoa(pageSize+2), `href="/authors/`+u.ID+`?before=`, "Load more")
	pfWantNotIn(t, r.body, "Bob&#39;s only post", "Ada post 2<") // another author's post; the oldest are on page 2
	if n := strings.Count(r.body, `class="card"`); n != pageSize {
		t.Errorf("first page has %d cards, want %d", n, pageSize)
	}

	// "Load more" with htmx: just the next cards, no layout.
	m := strings.Index(r.body, `hx-get="/authors/`+u.ID+`?before=`)
	if m < 0 {
		t.Fatal("no htmx Load more")
	}
	next := r.body[m+len(`hx-get="`):]
	next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
	r = guest.request(http.MethodGet, next, nil, http.Header{"HX-Request": {"true"}})
	pfWantCode(t, r, http.StatusOK)
	pfWantIn(t, r.body, "Ada post 0", "Ada post 2")
	pfWantNotIn(t, r.body, "<html", "Load more", "Bob")
	if n := strings.Count(r.body, `class="card"`); n != 3 {
		t.Errorf("second page has %d cards, want 3", n)
	}

	for _, bad := range []string{"/authors/no-such-user", "/authors/" + strings.Repeat("a", 65)} {
		if r := guest.get(bad); r.code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", bad, r.code)
		}
	}
	if r := guest.get("/authors/" + u.ID + "?before=garbage"); r.code != http.StatusBadRequest {
		t.Errorf("bad cursor = %d, want 400", r.code)
	}
	// Names on cards link to the author page.
	pfWantIn(t, guest.get("/blog/"+strconv.FormatInt(bobPost, 10)).body, `<a href="/authors/`)
}
