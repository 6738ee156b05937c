// Package handlers is Quire's HTTP layer: routes, rendering, forms and the
// mapping of errors to responses. Handlers are thin: bind, validate, one
// store call, render or redirect.
package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"quire/assets"
	"quire/avatar"
	"quire/content"
	"quire/password"
	"quire/session"
	"quire/store"
	"quire/views"
)

// Config holds what handlers need to know about the deployment.
type Config struct {
	Version        string
	BaseURL        string // absolute links; "" = derive nothing from Host
	Secure         bool   // served over https: Secure cookies
	FormLimit      int64  // max body of a form request (default 1 MiB)
	LoginFailures  int    // failures per account before delays start (default 5)
	LoginIPLimit   int    // failures per IP before delays start (default 20)
	LoginWindow    time.Duration
	RegisterPerIP  int // registrations per IP per RegisterWindow (default 5)
	RegisterWindow time.Duration
	TrustedProxies []string
	AccessTokenTTL time.Duration // lifetime of API access tokens (default 15m)
	CORSOrigins    []string      // origins allowed to call the API with credentials; none = CORS off
	APIBodyLimit   int64         // max body of an API request (default 1 MiB)
}

func (c Config) withDefaults() Config {
	if c.FormLimit <= 0 {
		c.FormLimit = 1 << 20
	}
	if c.LoginFailures <= 0 {
		c.LoginFailures = 5
	}
	if c.LoginIPLimit <= 0 {
		c.LoginIPLimit = 20
	}
	if c.LoginWindow <= 0 {
		c.LoginWindow = 15 * time.Minute
	}
	if c.RegisterPerIP <= 0 {
		c.RegisterPerIP = 5
	}
	if c.RegisterWindow <= 0 {
		c.RegisterWindow = time.Minute
	}
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = 15 * time.Minute
	}
	if c.APIBodyLimit <= 0 {
		c.APIBodyLimit = 1 << 20
	}
	return c
}

// Deps is everything the handlers use, passed in once by main.
type Deps struct {
	Store   *store.Store
	Web     *session.Web
	States  *session.StateStore
	Views   *views.Views
	Assets  *assets.Assets
	Content *content.Renderer
	Hasher  *password.Hasher
	Common  *password.CommonList
	Avatars *avatar.Processor // nil = avatar.New(0)
	Log     *slog.Logger
	Now     func() time.Time
	Config  Config
	// JWTKey signs API access tokens; it must be the same on every instance
	// (main loads it with store.Secret). Empty: New loads it itself.
	JWTKey []byte
}

// App holds the dependencies; handlers are its methods.
type App struct {
	Deps
	cfg      Config
	cardMemo *cardMemo // rendered post cards (cardmemo.go)
	bufs     sync.Pool // *bytes.Buffer for rendering pages (cardmemo.go)
}

// New builds the HTTP handler.
func New(d Deps) (*gin.Engine, error) {
	if d.Store == nil || d.Web == nil || d.Views == nil || d.Assets == nil || d.Content == nil || d.Hasher == nil {
		return nil, fmt.Errorf("handlers: missing dependency")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Avatars == nil {
		d.Avatars = avatar.New(0)
	}
	a := &App{Deps: d, cfg: d.Config.withDefaults(), cardMemo: newCardMemo(cardMemoSize)}
	if err := a.apiInit(); err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = true
	r.RedirectFixedPath = false
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(a.cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("handlers: trusted proxies: %w", err)
	}
	a.routes(r)
	return r, nil
}

var _ http.Handler = (*gin.Engine)(nil)
