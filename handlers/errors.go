package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"quire/store"
)

// ErrorPage is the data of the error page.
type ErrorPage struct {
	Status        int
	Title         string
	Message       string
	ShowRequestID bool
}

var errorTexts = map[int]ErrorPage{
	http.StatusBadRequest:            {Title: "Bad request", Message: "The request could not be understood."},
	http.StatusForbidden:             {Title: "Forbidden", Message: "You are not allowed to do that."},
	http.StatusNotFound:              {Title: "Page not found", Message: "There is nothing at this address. It may have been deleted, or the link may be mistyped."},
	http.StatusMethodNotAllowed:      {Title: "Method not allowed", Message: "This address does not accept that kind of request."},
	http.StatusRequestEntityTooLarge: {Title: "Too large", Message: "What you sent is larger than this site accepts. Nothing was saved; shorten it and try again."},
	http.StatusTooManyRequests:       {Title: "Too many requests", Message: "Please wait a moment and try again."},
	http.StatusInternalServerError:   {Title: "Something went wrong", Message: "An unexpected error occurred. Nothing you did caused it; please try again.", ShowRequestID: true},
	http.StatusServiceUnavailable:    {Title: "Temporarily unavailable", Message: "The site cannot reach its database right now. Nothing was saved; please try again in a moment.", ShowRequestID: true},
}

// errorPage renders the friendly error page with status; msg overrides the
// default text when not empty.
func (a *App) errorPage(c *gin.Context, status int, msg string) {
	p, ok := errorTexts[status]
	if !ok {
		p = errorTexts[http.StatusInternalServerError]
	}
	p.Status = status
	if msg != "" {
		p.Message = msg
	}
	a.render(c, status, "error", "", p)
	c.Abort()
}

// fail maps an error to a response in one place: not found -> 404,
// forbidden -> 403, database unavailable -> 503, anything else is logged with
// the request id and answered with a generic 500.
func (a *App) fail(c *gin.Context, err error) {
	if a.clientGone(c, err) {
		return
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.errorPage(c, http.StatusNotFound, "")
	case errors.Is(err, store.ErrForbidden):
		a.errorPage(c, http.StatusForbidden, "You can only change your own posts.")
	case store.IsUnavailable(err):
		a.Log.Error("database unavailable", "err", err, "request_id", requestID(c))
		a.errorPage(c, http.StatusServiceUnavailable, "")
	default:
		a.Log.Error("request failed", "err", err, "request_id", requestID(c), "path", c.Request.URL.Path)
		a.errorPage(c, http.StatusInternalServerError, "")
	}
}

// statusClientClosed is nginx's code for a request whose client went away
// before the answer; nobody receives it, it only marks the log line.
const statusClientClosed = 499

// clientGone handles an error caused by the client closing its connection
// (the request context was cancelled): not a server fault, so it is logged
// at info level instead of as a 500.
func (a *App) clientGone(c *gin.Context, err error) bool {
	if !errors.Is(err, context.Canceled) || c.Request.Context().Err() == nil {
		return false
	}
	a.Log.Info("client went away", "request_id", requestID(c), "path", c.Request.URL.Path)
	c.AbortWithStatus(statusClientClosed)
	return true
}
