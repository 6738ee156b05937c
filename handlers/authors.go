package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// showAuthor is an author's page: name, avatar and their posts with the
// same cards and keyset pagination as /blog. A suspended author's page stays
// up, like their posts.
func (a *App) showAuthor(c *gin.Context) {
	id := c.Param("id")
	if id == "" || len(id) > 64 {
		a.errorPage(c, http.StatusNotFound, "")
		return
	}
	u, err := a.Store.UserByID(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	au := authorOf(u)
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" {
		name = "Unnamed author"
	}
	a.renderPostPage(c, &BlogPage{Heading: name, Author: &au, BasePath: "/authors/" + url.PathEscape(u.ID)}, u.ID)
}
