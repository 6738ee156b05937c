package handlers

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"quire/session"
	"quire/store"
)

// View is the one view model every page gets: the current user, the CSRF
// token, flash messages, and the page's own typed Data.
type View struct {
	User      *store.User
	CSRF      string
	Flashes   []Flash
	RequestID string
	Path      string
	Version   string
	Data      any
}

// Flash is a one-time message shown on the next full page.
type Flash struct {
	Kind string // success, info, error
	Text string
}

// isHTMX reports whether to answer with a fragment: an htmx request that is
// not a boosted navigation.
func isHTMX(c *gin.Context) bool {
	return c.GetHeader("HX-Request") == "true" && c.GetHeader("HX-Boosted") != "true"
}

// render writes page (full layout) or, for htmx, the fragment block ("" =
// the page's "content"). It renders into a buffer first so a template error
// never sends half a page.
func (a *App) render(c *gin.Context, status int, page, fragment string, data any) {
	v, err := a.view(c, data, !isHTMX(c))
	unavailable := false
	if err != nil {
		// Not a.fail: the error page needs a view too.
		a.Log.Error("view failed", "err", err, "request_id", requestID(c))
		if !store.IsUnavailable(err) {
			c.Header("Content-Type", "text/plain; charset=utf-8")
			c.String(http.StatusInternalServerError, "%s (request id %s)", http.StatusText(http.StatusInternalServerError), requestID(c))
			c.Abort()
			return
		}
		// The database is unreachable, so there is no CSRF token or flash
		// to show: render the 503 page without them.
		p := errorTexts[http.StatusServiceUnavailable]
		p.Status = http.StatusServiceUnavailable
		status, page, fragment, v.Data, v.CSRF, unavailable = p.Status, "error", "", p, "", true
	}
	block := "layout"
	if isHTMX(c) {
		block = "content"
		if fragment != "" {
			block = fragment
		}
	}
	buf := a.getBuffer()
	defer a.putBuffer(buf)
	if err := a.Views.Render(buf, page, block, v); err != nil {
		a.Log.Error("render failed", "err", err, "request_id", requestID(c))
		c.Header("Content-Type", "text/plain; charset=utf-8")
		c.String(http.StatusInternalServerError, "Internal error (request id %s)", requestID(c))
		c.Abort()
		return
	}
	c.Header("Vary", "HX-Request")
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	if unavailable {
		c.Abort()
	}
}

func (a *App) view(c *gin.Context, data any, withFlashes bool) (View, error) {
	v := View{RequestID: requestID(c), Path: c.Request.URL.Path, Version: a.cfg.Version, Data: data}
	if cur := session.FromContext(c); cur != nil {
		u := cur.User
		v.User = &u
	}
	tok, err := a.Web.CSRFToken(c)
	if err != nil {
		return v, err
	}
	v.CSRF = tok
	if withFlashes {
		v.Flashes = a.takeFlashes(c)
	}
	return v, nil
}

const flashKey = "flash"

// flash queues a message for the next full page (stored server-side).
func (a *App) flash(c *gin.Context, kind, text string) {
	s := ginsessions.Default(c)
	s.AddFlash(kind+"|"+text, flashKey)
	if err := s.Save(); err != nil {
		a.Log.Error("flash save failed", "err", err, "request_id", requestID(c))
	}
}

// takeFlashes returns and clears the queued messages. A page rendered where
// the state middleware did not run (the 500 page of a panic in a route
// outside the web group) shows none instead of panicking again.
func (a *App) takeFlashes(c *gin.Context) []Flash {
	v, ok := c.Get(ginsessions.DefaultKey)
	if !ok {
		return nil
	}
	s, ok := v.(ginsessions.Session)
	if !ok {
		return nil
	}
	raw := s.Flashes(flashKey)
	if len(raw) == 0 {
		return nil
	}
	if err := s.Save(); err != nil {
		a.Log.Error("flash save failed", "err", err, "request_id", requestID(c))
	}
	out := make([]Flash, 0, len(raw))
	for _, r := range raw {
		str, _ := r.(string)
		kind, text, ok := strings.Cut(str, "|")
		if !ok {
			kind, text = "info", str
		}
		out = append(out, Flash{Kind: kind, Text: text})
	}
	return out
}

// redirect sends the browser elsewhere after a successful POST: 303 for
// plain forms, HX-Redirect for htmx (a full navigation, so flashes show).
func (a *App) redirect(c *gin.Context, to string) {
	if isHTMX(c) {
		c.Header("HX-Redirect", to)
		c.Status(http.StatusOK)
		c.Abort()
		return
	}
	c.Redirect(http.StatusSeeOther, to)
	c.Abort()
}

// Field is what the "field" partial renders.
type Field struct {
	ID, Name, Label, Type, Value, Error, Hint, Autocomplete string
	Required                                                bool
	MaxLen, Rows                                            int
}

// TemplateFuncs builds the function map; main passes it to views.Parse. A
// reference to a missing asset fails start-up.
func TemplateFuncs(assetPath func(string) string) template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) (string, error) {
			p := assetPath(name)
			if p == "" {
				return "", fmt.Errorf("unknown asset %q", name)
			}
			return p, nil
		},
		"date":     func(t time.Time) string { return t.UTC().Format("Jan 2, 2006") },
		"datetime": func(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 UTC") },
		"isotime":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"avatar":   avatarURL(assetPath),
		"field":    makeField,
	}
}

func avatarURL(assetPath func(string) string) func(store.Author, int) string {
	def := assetPath("img/avatar.svg")
	return func(au store.Author, size int) string {
		if au.AvatarVersion == 0 {
			return def
		}
		px := 64
		if size > 64 {
			px = 256
		}
		return "/avatars/" + au.ID + "/" + strconv.Itoa(px) + "?v=" + strconv.FormatInt(au.AvatarVersion, 10)
	}
}

// makeField builds a Field from positional values and "key=value" options
// ("required", "maxlen=100", "autocomplete=email", "hint=...").
func makeField(name, label, typ, value, errMsg string, opts ...string) Field {
	f := Field{ID: name, Name: name, Label: label, Type: typ, Value: value, Error: errMsg}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "required":
			f.Required = true
		case "maxlen":
			f.MaxLen, _ = strconv.Atoi(v)
		case "rows":
			f.Rows, _ = strconv.Atoi(v)
		case "autocomplete":
			f.Autocomplete = v
		case "hint":
			f.Hint = v
		}
	}
	return f
}
