package handlers

import (
	"net/http"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// routes declares every route, grouped by who may use it. Reading this file
// tells who may do what; the checks themselves live in authz and in SQL.
func (a *App) routes(r *gin.Engine) {
	cop := http.NewCrossOriginProtection()

	r.Use(a.recoverPanics(), a.requestLog(), securityHeaders(a.cfg.Secure))

	// Infrastructure: no session, no CSRF.
	r.GET("/healthz", a.health)
	r.HEAD("/healthz", a.health)
	r.GET("/assets/*path", gin.WrapH(a.Assets))
	r.HEAD("/assets/*path", gin.WrapH(a.Assets))
	// Avatars are public images, cached by versioned URL (profile.go).
	r.GET("/avatars/:user/:size", a.avatarImage)
	r.HEAD("/avatars/:user/:size", a.avatarImage)

	// Web pages: session loaded, cross-site and CSRF checks on every write.
	// The session is loaded first so that a 403/413/400 page from the checks
	// shows the visitor as signed in, with a CSRF token that works.
	loaded := []gin.HandlerFunc{ginsessions.Sessions(a.Web.StateCookieName(), a.States), a.unavailablePage(), a.Web.Load()}
	web := r.Group("/", append(loaded, a.crossOrigin(cop), a.parseForm(a.cfg.FormLimit), a.csrf())...)
	r.NoRoute(append(loaded, a.notFound)...)
	r.NoMethod(append(loaded, a.methodNotAllowed)...)

	// Public: anyone may read and may register or sign in.
	web.GET("/", a.home)
	web.GET("/blog", a.listPosts)
	web.GET("/blog/:id", a.showPost)
	web.GET("/authors/:id", a.showAuthor)
	web.GET("/register", a.registerPage)
	web.POST("/register", a.register)
	web.GET("/login", a.loginPage)
	web.POST("/login", a.login)
	web.POST("/logout", a.logout)
	// The original app's paths.
	web.GET("/create-post", redirectTo("/blog/new"))
	web.GET("/post/create-post", redirectTo("/blog/new"))
	web.GET("/post/update-post/:id", func(c *gin.Context) {
		c.Redirect(http.StatusMovedPermanently, "/blog/"+c.Param("id")+"/edit")
	})

	// Signed in.
	user := web.Group("/", a.requireUser())
	user.GET("/blog/new", a.newPostPage)
	user.POST("/blog", a.createPost)
	user.POST("/blog/preview", a.previewPost)
	user.GET("/account", a.accountPage)
	user.POST("/account/password", a.changePassword)
	user.POST("/account/sessions/:id/revoke", a.revokeSession)
	user.POST("/account/sessions/revoke-others", a.revokeOtherSessions)
	user.GET("/account/profile", a.profilePage)
	user.POST("/account/profile", a.saveProfile) // names, avatar upload (larger body limit), or action=remove_avatar

	// Signed in and the post's author (or an admin): loadPost checks authz
	// for display; the store re-checks ownership inside the UPDATE/DELETE.
	user.GET("/blog/:id/edit", a.editPostPage)
	user.POST("/blog/:id/edit", a.updatePost)
	user.PUT("/blog/:id", a.updatePost)
	user.GET("/blog/:id/delete", a.deletePostPage)
	user.POST("/blog/:id/delete", a.deletePost)
	user.DELETE("/blog/:id", a.deletePost)

	// Admins only; everyone else, signed in or not, gets 404. Every action
	// is a POST (CSRF-checked above) written to the audit log in the same
	// transaction. An admin deletes anyone's post through the routes above
	// (audited there too).
	admin := web.Group("/admin", a.requireAdmin())
	admin.GET("/users", a.adminUsers)
	admin.POST("/users/:id/:action", a.changeUser) // suspend, unsuspend, promote, demote
	admin.GET("/audit", a.adminAudit)

	a.apiRoutes(r)
}

func redirectTo(to string) gin.HandlerFunc {
	return func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, to) }
}

func (a *App) notFound(c *gin.Context) { a.errorPage(c, http.StatusNotFound, "") }

func (a *App) methodNotAllowed(c *gin.Context) { a.errorPage(c, http.StatusMethodNotAllowed, "") }

func (a *App) health(c *gin.Context) {
	if err := a.Store.Ping(c.Request.Context()); err != nil {
		a.Log.Error("health check failed", "err", err)
		c.String(http.StatusServiceUnavailable, "unavailable\n")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.String(http.StatusOK, "ok\n")
}
