package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// apiRoutes declares the Directus-compatible API, grouped by who may use it.
// It has no web CSRF tokens (bearer tokens are not sent by browsers on their
// own), but state-changing requests still pass the same cross-origin check
// as the pages, so a cookie-mode session cannot be driven from another site.
func (a *App) apiRoutes(r *gin.Engine) {
	cop := http.NewCrossOriginProtection()
	for _, o := range a.cfg.CORSOrigins {
		// Validated by apiInit.
		_ = cop.AddTrustedOrigin(o)
	}
	api := r.Group("/", a.apiRecover(), a.apiHeaders(), a.apiCORS(), a.apiCrossOrigin(cop), a.apiBodyLimit())

	// Authentication: credentials and refresh tokens travel in the body or
	// in the API's own cookies; access tokens are not consulted here.
	a.apiRoute(api, "/auth/login", apiHandlers{http.MethodPost: a.apiLogin})
	a.apiRoute(api, "/auth/refresh", apiHandlers{http.MethodPost: a.apiRefresh})
	a.apiRoute(api, "/auth/logout", apiHandlers{http.MethodPost: a.apiLogout})

	// Everything else knows its caller: anonymous, or the user of a valid
	// access token / session cookie. An invalid token is an error, never a
	// silent downgrade to anonymous.
	authed := api.Group("/", a.apiAuthenticate())

	// Public: registration (author role only), the role ids, and reading
	// posts with their authors' public fields.
	a.apiRoute(authed, "/users", apiHandlers{http.MethodPost: a.apiRegister})
	a.apiRoute(authed, "/roles", apiHandlers{http.MethodGet: a.apiRoles})
	a.apiRoute(authed, "/roles/:id", apiHandlers{http.MethodGet: a.apiRole})
	// Writes need a signed-in author or admin: create; update and delete
	// one's own posts (any post for admins), checked per post and again
	// inside each UPDATE/DELETE. The collection-level PATCH/DELETE are the
	// batch forms.
	a.apiRoute(authed, "/items/:collection", apiHandlers{
		http.MethodGet: a.apiListPosts, http.MethodPost: a.apiCreatePosts,
		http.MethodPatch: a.apiUpdatePosts, http.MethodDelete: a.apiDeletePosts})
	a.apiRoute(authed, "/items/:collection/:id", apiHandlers{
		http.MethodGet: a.apiReadPost, http.MethodPatch: a.apiUpdatePost, http.MethodDelete: a.apiDeletePost})

	// Signed in: one's own account.
	a.apiRoute(authed, "/users/me", apiHandlers{http.MethodGet: a.apiMe})
}

// apiHandlers maps methods to the handlers of one API path.
type apiHandlers map[string]gin.HandlerFunc

// apiRoute registers path for every method: GET also serves HEAD, OPTIONS
// answers with Allow (CORS preflights are answered by apiCORS before it),
// and any other method is a 405 in Directus's error shape rather than the
// HTML page.
func (a *App) apiRoute(g *gin.RouterGroup, path string, hs apiHandlers) {
	if h, ok := hs[http.MethodGet]; ok {
		hs[http.MethodHead] = h
	}
	allow := []string{http.MethodOptions}
	for m := range hs {
		allow = append(allow, m)
	}
	slices.Sort(allow)
	allowHeader := strings.Join(allow, ", ")
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		h, ok := hs[m]
		switch {
		case ok:
		case m == http.MethodOptions:
			h = func(c *gin.Context) {
				c.Header("Allow", allowHeader)
				c.Status(http.StatusNoContent)
			}
		default:
			h = func(c *gin.Context) {
				c.Header("Allow", allowHeader)
				a.apiFail(c, http.StatusMethodNotAllowed, codeMethodNotAllowed,
					fmt.Sprintf("Method %s is not allowed on %s.", c.Request.Method, c.Request.URL.Path))
			}
		}
		g.Handle(m, path, h)
	}
}

// apiInit checks the API configuration and loads the token key when main
// did not pass one.
func (a *App) apiInit() error {
	origins := make([]string, 0, len(a.cfg.CORSOrigins))
	for _, o := range a.cfg.CORSOrigins {
		norm, err := normalizeOrigin(o)
		if err != nil {
			return fmt.Errorf("handlers: cors origin %q: %w", o, err)
		}
		origins = append(origins, norm)
	}
	a.cfg.CORSOrigins = origins
	if len(a.JWTKey) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		key, err := a.Store.Secret(ctx, "jwt-key", 32)
		if err != nil {
			return fmt.Errorf("handlers: jwt key: %w", err)
		}
		a.JWTKey = key
	}
	if len(a.JWTKey) < 32 {
		return fmt.Errorf("handlers: jwt key must have at least 32 bytes, has %d", len(a.JWTKey))
	}
	return nil
}

// normalizeOrigin accepts exactly scheme://host[:port] (what browsers send
// in Origin) and lower-cases it. "*" is refused: with credentials allowed it
// would let every site act as the user.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("want an origin like https://app.example.com")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// apiRecover answers a panic in an API handler with a JSON 500 (the page
// recovery would answer HTML).
func (a *App) apiRecover() gin.HandlerFunc {
	return a.recoverWith(func(c *gin.Context) {
		a.apiFail(c, http.StatusInternalServerError, codeInternal, "An unexpected error occurred.", "request_id", requestID(c))
	})
}

// apiHeaders marks every API answer as not storable: they carry tokens and
// per-user data. (Directus sends no-cache; no-store is stricter.)
func (a *App) apiHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.Header("Vary", "Origin")
		c.Next()
	}
}

// apiCORS is off unless origins are configured. A listed origin gets
// Access-Control-Allow-Origin with credentials (cookie mode), and its
// preflights are answered here; other origins get no CORS headers, so
// browsers keep their responses from the calling page.
func (a *App) apiCORS() gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if len(a.cfg.CORSOrigins) == 0 || origin == "" || !slices.Contains(a.cfg.CORSOrigins, strings.ToLower(origin)) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

// apiCrossOrigin refuses state-changing requests a browser marks as coming
// from another site (Sec-Fetch-Site / Origin), except from --cors-origin
// origins. Non-browser clients send neither header and pass.
func (a *App) apiCrossOrigin(cop *http.CrossOriginProtection) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			a.Log.Warn("cross-origin request refused", "event", "security", "request_id", requestID(c), "origin", c.GetHeader("Origin"))
			a.apiForbidden(c, "Cross-site requests are not allowed.")
			return
		}
		c.Next()
	}
}

// apiBodyLimit caps request bodies; apiBody turns the overflow into a 413.
func (a *App) apiBodyLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > a.cfg.APIBodyLimit {
			a.apiTooLarge(c)
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.APIBodyLimit)
		c.Next()
	}
}
