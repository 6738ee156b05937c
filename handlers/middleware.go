package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"quire/session"
)

const requestIDKey = "quire.request_id"

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// requestLog assigns a request id (echoed in X-Request-Id) and writes one
// structured log line per request.
func (a *App) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		c.Set(requestIDKey, id)
		c.Header("X-Request-Id", id)
		start := time.Now()
		c.Next()
		attrs := []any{
			"request_id", id, "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "dur_ms", float64(time.Since(start).Microseconds()) / 1000,
			"ip", c.ClientIP(), "bytes", c.Writer.Size(),
		}
		if len(c.Errors) > 0 {
			attrs = append(attrs, "errors", c.Errors.String())
		}
		if c.Writer.Status() >= 500 {
			a.Log.Error("request", attrs...)
		} else {
			a.Log.Info("request", attrs...)
		}
	}
}

// recoverPanics turns a panic into the 500 page, which shows only the
// request id; the stack goes to the log.
func (a *App) recoverPanics() gin.HandlerFunc {
	return a.recoverWith(func(c *gin.Context) { a.errorPage(c, http.StatusInternalServerError, "") })
}

// recoverWith logs a panic with its stack and answers with respond, unless
// the response has already started.
func (a *App) recoverWith(respond func(*gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				a.Log.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				if c.Writer.Written() {
					c.Abort()
					return
				}
				respond(c)
			}
		}()
		c.Next()
	}
}

// csp allows only same-origin scripts and styles: no inline script, no eval
// (htmx runs with allowEval=false), no plugins, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func securityHeaders(secure bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		c.Next()
	}
}

func isUnsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// crossOrigin rejects state-changing requests a browser marks as cross-site
// (Sec-Fetch-Site / Origin), using net/http's CrossOriginProtection.
func (a *App) crossOrigin(cop *http.CrossOriginProtection) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			a.Log.Warn("cross-origin request refused", "event", "security", "request_id", requestID(c), "origin", c.GetHeader("Origin"))
			a.errorPage(c, http.StatusForbidden, "Cross-site requests are not allowed.")
			return
		}
		c.Next()
	}
}

// parseForm caps the body of a state-changing form request at formLimit (or
// the route's own bodyLimit) and parses it up front, so an oversized body is a 413 and a malformed one a
// 400 - never a silently empty form.
func (a *App) parseForm(formLimit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !isUnsafe(c.Request.Method) {
			c.Next()
			return
		}
		limit := bodyLimit(c.FullPath(), formLimit) // larger for uploads (profile.go)
		if c.Request.ContentLength > limit {
			a.errorPage(c, http.StatusRequestEntityTooLarge, "")
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
		var err error
		switch ct {
		case "multipart/form-data":
			err = c.Request.ParseMultipartForm(limit)
		default:
			err = c.Request.ParseForm()
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				a.errorPage(c, http.StatusRequestEntityTooLarge, "")
				return
			}
			a.errorPage(c, http.StatusBadRequest, "The form could not be read.")
			return
		}
		c.Next()
	}
}

// csrf checks the token of every state-changing web request.
func (a *App) csrf() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !isUnsafe(c.Request.Method) {
			c.Next()
			return
		}
		if err := a.Web.CheckCSRF(c); err != nil {
			a.Log.Warn("csrf check failed", "event", "security", "request_id", requestID(c), "path", c.Request.URL.Path)
			a.errorPage(c, http.StatusForbidden, "Your form expired or came from another site. Reload the page and try again.")
			return
		}
		c.Next()
	}
}

// requireUser sends signed-out visitors to the login page, remembering where
// they were going.
func (a *App) requireUser() gin.HandlerFunc {
	return func(c *gin.Context) {
		if session.FromContext(c) != nil {
			c.Next()
			return
		}
		next := c.Request.URL.RequestURI()
		if isUnsafe(c.Request.Method) {
			// After signing in, go back to the page, not to a POST endpoint.
			next = c.GetHeader("HX-Current-URL")
			if u, err := url.Parse(next); err == nil {
				next = u.RequestURI()
			}
		}
		to := "/login"
		if safeNext(next) != "/" {
			to += "?next=" + url.QueryEscape(next)
		}
		if isHTMX(c) {
			c.Header("HX-Redirect", to)
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.Redirect(http.StatusSeeOther, to)
		c.Abort()
	}
}

// safeNext accepts only a local absolute path ("/x", not "//host", "/\\host",
// "http://..."); anything else becomes "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	// Encoded forms ("/%2F%2Fhost", "/%5Chost") become "//host" or "/\host"
	// wherever something decodes the path before redirecting.
	if strings.HasPrefix(u.Path, "//") || strings.ContainsAny(u.Path, "\\\r\n\t") {
		return "/"
	}
	return next
}

// unavailablePage answers with the 503 page when a later middleware (the
// session loader, which cannot reach the database) aborted with 503 without
// writing a response.
func (a *App) unavailablePage() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if c.IsAborted() && !c.Writer.Written() && c.Writer.Status() == http.StatusServiceUnavailable {
			a.Log.Error("database unavailable", "err", c.Errors.Last(), "request_id", requestID(c))
			a.errorPage(c, http.StatusServiceUnavailable, "")
		}
	}
}
