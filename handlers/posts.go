package handlers

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"quire/authz"
	"quire/content"
	"quire/session"
	"quire/store"
)

const (
	pageSize      = 20
	maxTitle      = 200
	maxContent    = 100_000
	excerptLength = 220
)

// PostCard is a post in a listing with what the viewer may do to it. It is
// comparable on purpose: the card memo (cardmemo.go) uses it as its key.
type PostCard struct {
	Post      store.Post
	CanEdit   bool
	CanDelete bool
	// HTML is the card already rendered from the fields above; the
	// post_card partial prints it instead of rendering them again.
	HTML template.HTML
}

// BlogPage is a page of posts (all, or one author's).
type BlogPage struct {
	Heading string
	Author  *store.Author
	Cards   []PostCard
	// CardsHTML is every card, already rendered, in one piece: printing it
	// is one template action instead of a few per card ("" = render Cards).
	CardsHTML template.HTML
	Before    string // cursor this page started at ("" = first page)
	Next      string // cursor of the next page ("" = last page)
	BasePath  string
}

// PostPage is one post.
type PostPage struct {
	Post      store.Post
	Body      template.HTML
	CanEdit   bool
	CanDelete bool
}

// PostForm is the create/edit form.
type PostForm struct {
	Title, Content string
	Errors         Errors
}

// PostFormPage wraps the form with where it posts to.
type PostFormPage struct {
	Form     *PostForm
	PostID   int64
	Original string // the title before editing
	Action   string
}

// HomePage shows the newest posts.
type HomePage struct{ Posts []PostCard }

func (a *App) viewer(c *gin.Context) (role, id string) {
	if cur := session.FromContext(c); cur != nil {
		return cur.User.Role, cur.User.ID
	}
	return authz.Guest, ""
}

func (a *App) cards(c *gin.Context, posts []store.Post) []PostCard {
	role, uid := a.viewer(c)
	out := make([]PostCard, len(posts))
	for i, p := range posts {
		out[i] = PostCard{Post: p,
			CanEdit:   authz.CanOn(role, uid, authz.UpdatePost, p.UserCreated),
			CanDelete: authz.CanOn(role, uid, authz.DeletePost, p.UserCreated)}
		out[i].HTML = a.cardHTML(out[i])
	}
	return out
}

func (a *App) home(c *gin.Context) {
	posts, err := a.Store.ListPosts(c.Request.Context(), store.ListPostsQuery{Limit: 5, Summary: true})
	if err != nil {
		a.fail(c, err)
		return
	}
	a.render(c, http.StatusOK, "home", "", &HomePage{Posts: a.cards(c, posts)})
}

func (a *App) listPosts(c *gin.Context) {
	a.renderPostPage(c, &BlogPage{BasePath: "/blog"}, "")
}

// renderPostPage fills a BlogPage from ?before= and renders the whole page,
// or for htmx "Load more" just the next cards and button.
func (a *App) renderPostPage(c *gin.Context, page *BlogPage, authorID string) {
	q := store.ListPostsQuery{Limit: pageSize + 1, AuthorID: authorID, Summary: true}
	if b := c.Query("before"); b != "" {
		cur, ok := parseCursor(b)
		if !ok {
			a.errorPage(c, http.StatusBadRequest, "That page link is not valid.")
			return
		}
		q.Before = &cur
		page.Before = b
	}
	posts, err := a.Store.ListPosts(c.Request.Context(), q)
	if err != nil {
		a.fail(c, err)
		return
	}
	if len(posts) > pageSize {
		posts = posts[:pageSize]
		last := posts[len(posts)-1]
		page.Next = formatCursor(store.Cursor{Date: last.DateCreated, ID: last.ID})
	}
	page.Cards = a.cards(c, posts)
	page.CardsHTML = joinCards(page.Cards)
	a.render(c, http.StatusOK, "blog", "post_page", page)
}

// Cursors look like "<unix ms>-<id>": opaque to users, cheap to parse.
func formatCursor(cu store.Cursor) string {
	return strconv.FormatInt(cu.Date.UnixMilli(), 10) + "-" + strconv.FormatInt(cu.ID, 10)
}

func parseCursor(s string) (store.Cursor, bool) {
	ms, id, ok := strings.Cut(s, "-")
	if !ok {
		return store.Cursor{}, false
	}
	m, err1 := strconv.ParseInt(ms, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || m < 0 || i <= 0 {
		return store.Cursor{}, false
	}
	return store.Cursor{Date: time.UnixMilli(m).UTC(), ID: i}, true
}

// postID parses the :id path parameter; anything but a positive integer is
// simply not a post (404).
func postID(c *gin.Context) (int64, bool) {
	s := c.Param("id")
	if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func (a *App) loadPost(c *gin.Context) (store.Post, bool) {
	id, ok := postID(c)
	if !ok {
		a.errorPage(c, http.StatusNotFound, "")
		return store.Post{}, false
	}
	p, err := a.Store.PostByID(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return store.Post{}, false
	}
	return p, true
}

func (a *App) showPost(c *gin.Context) {
	p, ok := a.loadPost(c)
	if !ok {
		return
	}
	role, uid := a.viewer(c)
	a.render(c, http.StatusOK, "post", "", &PostPage{Post: p, Body: content.Stored(p.ContentHTML),
		CanEdit:   authz.CanOn(role, uid, authz.UpdatePost, p.UserCreated),
		CanDelete: authz.CanOn(role, uid, authz.DeletePost, p.UserCreated)})
}

func (a *App) newPostPage(c *gin.Context) {
	a.render(c, http.StatusOK, "post_form", "post_form", &PostFormPage{Form: &PostForm{}, Action: "/blog"})
}

// bindPost validates the form and renders the Markdown; nil input means the
// form was re-rendered with errors.
func (a *App) bindPost(c *gin.Context, page *PostFormPage) *store.PostInput {
	f := page.Form
	singleValued(c.Request.PostForm, &f.Errors, map[string]string{"title": "Title", "content": "Content"})
	f.Title = textField(&f.Errors, "title", "Title", c.PostForm("title"), true, maxTitle, false)
	f.Content = textField(&f.Errors, "content", "Content", c.PostForm("content"), false, maxContent, true)
	var in *store.PostInput
	if !f.Errors.Any() {
		html, err := a.Content.Render(f.Content)
		if err != nil {
			f.Errors.Add("content", contentError(err))
		} else {
			in = &store.PostInput{Title: f.Title, Content: f.Content, ContentHTML: string(html),
				Excerpt: content.Excerpt(html, excerptLength)}
		}
	}
	if in == nil {
		a.render(c, http.StatusUnprocessableEntity, "post_form", "post_form", page)
	}
	return in
}

func contentError(err error) string {
	switch {
	case errors.Is(err, content.ErrTooComplex):
		return "Content is nested too deeply to display. Flatten the lists or quotes."
	case errors.Is(err, content.ErrTooLong):
		return "Content must be at most 100000 characters."
	}
	return "Content could not be rendered."
}

func (a *App) createPost(c *gin.Context) {
	cur := session.FromContext(c)
	if !authz.Can(cur.User.Role, authz.CreatePost) {
		a.errorPage(c, http.StatusForbidden, "")
		return
	}
	page := &PostFormPage{Form: &PostForm{}, Action: "/blog"}
	in := a.bindPost(c, page)
	if in == nil {
		return
	}
	// Owner and dates come from the session and the clock; any user_created
	// or userId field in the form is ignored.
	p, err := a.Store.CreatePost(c.Request.Context(), cur.User.ID, *in, a.Now().UTC())
	if err != nil {
		a.fail(c, err)
		return
	}
	a.flash(c, "success", "Post published.")
	a.redirect(c, "/blog/"+strconv.FormatInt(p.ID, 10))
}

func (a *App) previewPost(c *gin.Context) {
	md, problem := cleanText(c.PostForm("content"), true)
	var html template.HTML
	var err error
	switch {
	case problem != "":
		err = errors.New("Content " + problem + ".")
	case len(md) > maxContent*4:
		err = content.ErrTooLong
	default:
		html, err = a.Content.Render(md)
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Vary", "HX-Request")
	if err != nil {
		msg := contentError(err)
		if problem != "" {
			msg = err.Error()
		}
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(`<p class="field-error">`+template.HTMLEscapeString(msg)+`</p>`))
		return
	}
	if strings.TrimSpace(md) == "" {
		html = `<p class="muted">Nothing to preview yet.</p>`
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(html))
}

// editable loads a post and checks the viewer may change it, answering 403
// with the friendly page otherwise. The write re-checks in SQL.
func (a *App) editable(c *gin.Context, action authz.Action) (store.Post, bool) {
	p, ok := a.loadPost(c)
	if !ok {
		return p, false
	}
	role, uid := a.viewer(c)
	if !authz.CanOn(role, uid, action, p.UserCreated) {
		a.errorPage(c, http.StatusForbidden, "You can only change your own posts.")
		return p, false
	}
	return p, true
}

func (a *App) editPostPage(c *gin.Context) {
	p, ok := a.editable(c, authz.UpdatePost)
	if !ok {
		return
	}
	a.render(c, http.StatusOK, "post_form", "post_form", &PostFormPage{
		Form: &PostForm{Title: p.Title, Content: p.Content}, PostID: p.ID, Original: p.Title,
		Action: "/blog/" + strconv.FormatInt(p.ID, 10) + "/edit"})
}

func (a *App) updatePost(c *gin.Context) {
	p, ok := a.editable(c, authz.UpdatePost)
	if !ok {
		return
	}
	cur := session.FromContext(c)
	page := &PostFormPage{Form: &PostForm{}, PostID: p.ID, Original: p.Title,
		Action: "/blog/" + strconv.FormatInt(p.ID, 10) + "/edit"}
	in := a.bindPost(c, page)
	if in == nil {
		return
	}
	_, err := a.Store.UpdatePost(c.Request.Context(), p.ID, cur.User.ID,
		authz.AnyOwner(cur.User.Role, authz.UpdatePost), *in, a.Now().UTC())
	if err != nil {
		a.fail(c, err)
		return
	}
	a.flash(c, "success", "Post updated.")
	a.redirect(c, "/blog/"+strconv.FormatInt(p.ID, 10))
}

func (a *App) deletePostPage(c *gin.Context) {
	p, ok := a.editable(c, authz.DeletePost)
	if !ok {
		return
	}
	a.render(c, http.StatusOK, "post_delete", "", &PostPage{Post: p})
}

func (a *App) deletePost(c *gin.Context) {
	p, ok := a.editable(c, authz.DeletePost)
	if !ok {
		return
	}
	// Someone else's post (an admin's moderation) is audited: admin.go.
	if err := a.deletePostAs(c, p); err != nil {
		a.fail(c, err)
		return
	}
	if isHTMX(c) && c.Request.Method == http.MethodDelete {
		// From a listing: the card is replaced by nothing.
		c.Header("Cache-Control", "no-store")
		c.Header("HX-Trigger", "post-deleted")
		c.Status(http.StatusOK)
		return
	}
	a.flash(c, "success", "Post deleted.")
	a.redirect(c, "/blog")
}
