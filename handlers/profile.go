package handlers

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"quire/avatar"
	"quire/session"
	"quire/store"
)

// profileRoute is the form that carries an avatar upload.
const profileRoute = "/account/profile"

// avatarBodyLimit is the largest profile form body: a 2 MB image plus the
// multipart framing and the name fields. A larger body is a 413 before
// anything is parsed.
const avatarBodyLimit = avatar.MaxBytes + 512<<10

// bodyLimit is the largest request body a route accepts (parseForm): the
// profile form carries an image; every other form gets formLimit.
func bodyLimit(route string, formLimit int64) int64 {
	if route == profileRoute {
		return max(formLimit, avatarBodyLimit)
	}
	return formLimit
}

// ProfilePage is the profile form and the avatar as others see it.
type ProfilePage struct {
	Author store.Author
	Form   *ProfileForm
}

// ProfileForm is what was typed into the profile form and what is wrong
// with it.
type ProfileForm struct {
	FirstName, LastName string
	Errors              Errors
}

func authorOf(u store.User) store.Author {
	return store.Author{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, AvatarVersion: u.AvatarVersion}
}

func (a *App) profilePage(c *gin.Context) {
	u := session.FromContext(c).User
	a.render(c, http.StatusOK, "profile", "profile_form", &ProfilePage{Author: authorOf(u),
		Form: &ProfileForm{FirstName: u.FirstName, LastName: u.LastName}})
}

// saveProfile stores the names and, when a file was chosen, the avatar; the
// "Remove avatar" button posts action=remove_avatar to the same address.
func (a *App) saveProfile(c *gin.Context) {
	if c.PostForm("action") == "remove_avatar" {
		a.removeAvatar(c)
		return
	}
	ctx := c.Request.Context()
	u := session.FromContext(c).User
	page := &ProfilePage{Author: authorOf(u), Form: &ProfileForm{}}
	f := page.Form
	f.FirstName = textField(&f.Errors, "first_name", "First name", c.PostForm("first_name"), true, 100, false)
	f.LastName = textField(&f.Errors, "last_name", "Last name", c.PostForm("last_name"), true, 100, false)
	img, tooLarge := a.bindAvatar(c, f)
	if f.Errors.Any() {
		status := http.StatusUnprocessableEntity
		if tooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		a.render(c, status, "profile", "profile_form", page)
		return
	}
	now := a.Now().UTC()
	if err := a.Store.UpdateProfile(ctx, u.ID, f.FirstName, f.LastName, now); err != nil {
		a.fail(c, err)
		return
	}
	msg := "Profile saved."
	if img != nil {
		if _, err := a.Store.SetAvatar(ctx, u.ID, img.ContentType, img.Small, img.Large, now); err != nil {
			a.fail(c, err)
			return
		}
		msg = "Profile and avatar saved."
	}
	a.flash(c, "success", msg)
	a.redirect(c, profileRoute)
}

// bindAvatar reads and processes the uploaded file; nil without error when
// no file was chosen. A problem becomes the "avatar" field's error; tooLarge
// says it was the size (413 rather than 422).
func (a *App) bindAvatar(c *gin.Context, f *ProfileForm) (res *avatar.Result, tooLarge bool) {
	mf := c.Request.MultipartForm
	if mf == nil || len(mf.File["avatar"]) == 0 {
		return nil, false
	}
	fh := mf.File["avatar"][0]
	file, err := fh.Open()
	if err != nil {
		a.Log.Warn("avatar upload unreadable", "err", err, "request_id", requestID(c))
		f.Errors.Add("avatar", "The upload could not be read. Please try again.")
		return nil, false
	}
	defer file.Close()
	data, err := avatar.ReadUpload(file)
	if err == nil {
		var r avatar.Result
		if r, err = a.Avatars.Process(c.Request.Context(), data); err == nil {
			return &r, false
		}
	}
	f.Errors.Add("avatar", avatar.Message(err))
	a.Log.Info("avatar refused", "err", err, "request_id", requestID(c))
	return nil, errors.Is(err, avatar.ErrTooLarge)
}

func (a *App) removeAvatar(c *gin.Context) {
	u := session.FromContext(c).User
	if err := a.Store.RemoveAvatar(c.Request.Context(), u.ID, a.Now().UTC()); err != nil {
		a.fail(c, err)
		return
	}
	a.flash(c, "success", "Avatar removed; the default picture is shown again.")
	a.redirect(c, profileRoute)
}

// avatarImage serves /avatars/:user/:size (64 or 256). The page links carry
// ?v=<version>, so a matching version is cached for a year (a new upload
// gets a new URL); other requests revalidate with the ETag. A user without
// an avatar is sent to the default picture.
func (a *App) avatarImage(c *gin.Context) {
	var size int
	switch c.Param("size") { // exactly these spellings: one URL per image
	case "64":
		size = store.AvatarSmall
	case "256":
		size = store.AvatarLarge
	}
	id := c.Param("user")
	if size == 0 || id == "" || len(id) > 64 {
		c.String(http.StatusNotFound, "not found\n")
		return
	}
	img, err := a.Store.Avatar(c.Request.Context(), id, size)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.Header("Cache-Control", "no-cache")
		c.Redirect(http.StatusFound, a.Assets.Path("img/avatar.svg"))
		return
	case err != nil:
		code := http.StatusInternalServerError
		if store.IsUnavailable(err) {
			code = http.StatusServiceUnavailable
		}
		a.Log.Error("avatar read failed", "err", err, "request_id", requestID(c))
		c.String(code, "%s (request id %s)\n", http.StatusText(code), requestID(c))
		return
	}
	version := strconv.FormatInt(img.Version, 10)
	h := c.Writer.Header()
	h.Set("ETag", `"`+version+"-"+strconv.Itoa(size)+`"`)
	h.Set("Content-Type", img.ContentType)
	if c.Query("v") == version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}
	// ServeContent answers If-None-Match with 304 and handles HEAD.
	http.ServeContent(c.Writer, c.Request, "", img.UpdatedAt, bytes.NewReader(img.Data))
}
