package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"quire/authz"
	"quire/session"
	"quire/store"
)

const (
	adminPageSize  = 50
	adminUsersPath = "/admin/users"
)

// requireAdmin answers 404 to everyone who may not manage users, signed in
// or not: the admin area does not admit it exists.
func (a *App) requireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		cur := session.FromContext(c)
		if cur == nil || !authz.Can(cur.User.Role, authz.ManageUsers) {
			a.errorPage(c, http.StatusNotFound, "")
			return
		}
		c.Next()
	}
}

// AdminUsersPage is one page of the user list.
type AdminUsersPage struct {
	Query string
	Rows  []AdminUserRow
	Back  string // this page's address, where actions return to
	First bool   // this is the first page
	Next  string // address of the next page ("" = last page)
}

// AdminUserRow is one user with the actions an admin may take on them.
type AdminUserRow struct {
	User        store.User
	Self        bool
	StatusPath  string // suspend or unsuspend
	StatusLabel string
	RolePath    string // promote or demote
	RoleLabel   string
	Notice      string // the result of an action (htmx)
	Error       string // why an action was refused (htmx)
}

func (a *App) adminRow(cur *session.Current, u store.User) AdminUserRow {
	r := AdminUserRow{User: u, Self: u.ID == cur.User.ID,
		StatusPath: "suspend", StatusLabel: "Suspend", RolePath: "promote", RoleLabel: "Make admin"}
	if u.Status == store.StatusSuspended {
		r.StatusPath, r.StatusLabel = "unsuspend", "Unsuspend"
	}
	if u.Role == store.RoleAdmin {
		r.RolePath, r.RoleLabel = "demote", "Make author"
	}
	return r
}

func (a *App) adminUsers(c *gin.Context) {
	cur := session.FromContext(c)
	q, _ := cleanText(c.Query("q"), false)
	if r := []rune(q); len(r) > 100 {
		q = string(r[:100])
	}
	after := c.Query("after")
	users, err := a.Store.ListUsers(c.Request.Context(), store.ListUsersQuery{Search: q, After: after, Limit: adminPageSize + 1})
	if err != nil {
		a.fail(c, err)
		return
	}
	page := &AdminUsersPage{Query: q, Back: c.Request.URL.RequestURI(), First: after == ""}
	if len(users) > adminPageSize {
		users = users[:adminPageSize]
		v := url.Values{"after": {users[len(users)-1].Email}}
		if q != "" {
			v.Set("q", q)
		}
		page.Next = adminUsersPath + "?" + v.Encode()
	}
	for _, u := range users {
		page.Rows = append(page.Rows, a.adminRow(cur, u))
	}
	a.render(c, http.StatusOK, "admin_users", "", page)
}

// userAction is what one admin button does to a user.
type userAction struct {
	audit  string
	change store.UserChange
	done   string // past tense for the message
}

func userActionFor(name string) (userAction, bool) {
	switch name {
	case "suspend":
		return userAction{store.AuditSuspend, store.UserChange{Status: store.StatusSuspended}, "suspended and signed out everywhere"}, true
	case "unsuspend":
		return userAction{store.AuditUnsuspend, store.UserChange{Status: store.StatusActive}, "unsuspended"}, true
	case "promote":
		return userAction{store.AuditPromote, store.UserChange{Role: store.RoleAdmin}, "now an admin"}, true
	case "demote":
		return userAction{store.AuditDemote, store.UserChange{Role: store.RoleAuthor}, "now an author"}, true
	}
	return userAction{}, false
}

// changeUser runs POST /admin/users/:id/:action. The store applies the
// change, refuses to leave the site without an admin and writes the audit
// entry in one transaction. Suspension and role changes then end every
// login of the user - web sessions and API refresh tokens alike, as both
// are session families - so neither a suspended user nor an old role lingers
// in a token.
func (a *App) changeUser(c *gin.Context) {
	cur := session.FromContext(c)
	ctx := c.Request.Context()
	act, ok := userActionFor(c.Param("action"))
	if !ok {
		a.errorPage(c, http.StatusNotFound, "")
		return
	}
	target, err := a.Store.UserByID(ctx, c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	self := target.ID == cur.User.ID
	if self && act.audit == store.AuditSuspend {
		a.userActionRefused(c, cur, target, "You cannot suspend yourself.")
		return
	}
	changed, err := a.Store.ChangeUser(ctx, cur.User.ID, target.ID, act.change,
		store.AuditEntry{Action: act.audit, Detail: target.Email}, a.Now().UTC())
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		a.userActionRefused(c, cur, target, displayName(target)+" is the last admin. Make someone else an admin first.")
		return
	case errors.Is(err, store.ErrForbidden):
		// No longer an admin (demoted a moment ago): the area is gone.
		a.errorPage(c, http.StatusNotFound, "")
		return
	case err != nil:
		a.fail(c, err)
		return
	}
	if act.audit != store.AuditUnsuspend {
		keep := ""
		if self {
			keep = cur.Family.ID // an admin stepping down stays signed in here
		}
		if _, err := a.Web.Manager().EndUserSessions(ctx, target.ID, keep); err != nil {
			a.fail(c, err)
			return
		}
	}
	msg := displayName(changed) + " is " + act.done + "."
	if self && act.audit == store.AuditDemote {
		a.flash(c, "success", "You are now an author and no longer see the admin area.")
		a.redirect(c, "/account")
		return
	}
	if isHTMX(c) {
		row := a.adminRow(cur, changed)
		row.Notice = msg
		a.render(c, http.StatusOK, "admin_users", "admin_user_rows", &AdminUsersPage{Rows: []AdminUserRow{row}, Back: adminBack(c)})
		return
	}
	a.flash(c, "success", msg)
	a.redirect(c, adminBack(c))
}

// userActionRefused explains a refused action: in the row for htmx, as a
// flash on the list otherwise. 409: the request was fine, the state of the
// site does not allow it.
func (a *App) userActionRefused(c *gin.Context, cur *session.Current, u store.User, msg string) {
	if isHTMX(c) {
		row := a.adminRow(cur, u)
		row.Error = msg
		a.render(c, http.StatusConflict, "admin_users", "admin_user_rows", &AdminUsersPage{Rows: []AdminUserRow{row}, Back: adminBack(c)})
		return
	}
	a.flash(c, "error", msg)
	a.redirect(c, adminBack(c))
}

// adminBack is the list page an action returns to: the form's "back" field
// when it is a user-list address, else the first page.
func adminBack(c *gin.Context) string {
	back := safeNext(c.PostForm("back"))
	if back != adminUsersPath && !strings.HasPrefix(back, adminUsersPath+"?") {
		return adminUsersPath
	}
	return back
}

func displayName(u store.User) string {
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	return u.Email
}

// deletePostAs deletes p for the signed-in user: their own post plainly,
// anyone else's (only an admin gets this far: editable checked authz) with
// an audit entry written in the same transaction.
func (a *App) deletePostAs(c *gin.Context, p store.Post) error {
	cur := session.FromContext(c)
	if p.UserCreated == cur.User.ID {
		return a.Store.DeletePost(c.Request.Context(), p.ID, cur.User.ID, authz.AnyOwner(cur.User.Role, authz.DeletePost))
	}
	_, err := a.Store.AdminDeletePost(c.Request.Context(), cur.User.ID, p.ID, a.Now().UTC())
	return err
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Rows  []AuditRow
	First bool
	Next  string // address of the next (older) page
}

// AuditRow is an audit entry with its action in words.
type AuditRow struct {
	store.AuditEntry
	Label string
}

// auditLabel is an audit action in words; unknown actions show as stored.
func auditLabel(action string) string {
	switch action {
	case store.AuditSuspend:
		return "Suspended user"
	case store.AuditUnsuspend:
		return "Unsuspended user"
	case store.AuditPromote:
		return "Made admin"
	case store.AuditDemote:
		return "Made author"
	case store.AuditDeletePost:
		return "Deleted post"
	}
	return action
}

func (a *App) adminAudit(c *gin.Context) {
	var before int64
	if b := c.Query("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			a.errorPage(c, http.StatusBadRequest, "That page link is not valid.")
			return
		}
		before = n
	}
	es, err := a.Store.ListAudit(c.Request.Context(), store.ListAuditQuery{Before: before, Limit: adminPageSize + 1})
	if err != nil {
		a.fail(c, err)
		return
	}
	page := &AuditPage{First: before == 0}
	if len(es) > adminPageSize {
		es = es[:adminPageSize]
		page.Next = "/admin/audit?before=" + strconv.FormatInt(es[len(es)-1].ID, 10)
	}
	for _, e := range es {
		page.Rows = append(page.Rows, AuditRow{AuditEntry: e, Label: auditLabel(e.Action)})
	}
	a.render(c, http.StatusOK, "admin_audit", "", page)
}
