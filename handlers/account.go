package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"quire/password"
	"quire/session"
	"quire/store"
)

// AccountPage lists the user's sessions and the password form.
type AccountPage struct {
	Sessions       []SessionRow
	SessionsNotice string
	Password       *PasswordForm
}

// SessionRow is one login shown on the account page.
type SessionRow struct {
	ID, Kind, UserAgent, IP string
	CreatedAt, LastSeenAt   time.Time
	Current                 bool
}

// PasswordForm is the change-password form.
type PasswordForm struct {
	Errors Errors
	Done   string
}

func (a *App) accountData(c *gin.Context) (*AccountPage, error) {
	cur := session.FromContext(c)
	fams, err := a.Store.FamiliesByUser(c.Request.Context(), cur.User.ID, a.Now().UTC())
	if err != nil {
		return nil, err
	}
	p := &AccountPage{Password: &PasswordForm{}}
	for _, f := range fams {
		p.Sessions = append(p.Sessions, SessionRow{ID: f.ID, Kind: f.Kind, UserAgent: f.UserAgent, IP: f.IP,
			CreatedAt: f.CreatedAt, LastSeenAt: f.LastSeenAt, Current: f.ID == cur.Family.ID})
	}
	return p, nil
}

func (a *App) accountPage(c *gin.Context) {
	p, err := a.accountData(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.render(c, http.StatusOK, "account", "", p)
}

func (a *App) revokeSession(c *gin.Context) {
	cur := session.FromContext(c)
	id := c.Param("id")
	f, err := a.Store.FamilyByID(c.Request.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.UserID != cur.User.ID) {
		// Someone else's or no such session: indistinguishable on purpose.
		a.errorPage(c, http.StatusNotFound, "")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.Web.Manager().EndFamily(c.Request.Context(), f.ID); err != nil {
		a.fail(c, err)
		return
	}
	if f.ID == cur.Family.ID {
		_ = a.Web.SignOut(c)
		a.redirect(c, "/")
		return
	}
	a.sessionsChanged(c, "That session has been signed out.")
}

func (a *App) revokeOtherSessions(c *gin.Context) {
	cur := session.FromContext(c)
	n, err := a.Web.Manager().EndUserSessions(c.Request.Context(), cur.User.ID, cur.Family.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	msg := "All other sessions have been signed out."
	if n == 0 {
		msg = "There were no other sessions."
	}
	a.sessionsChanged(c, msg)
}

// sessionsChanged re-renders the sessions table (htmx) or returns to the
// account page with a flash.
func (a *App) sessionsChanged(c *gin.Context, msg string) {
	if !isHTMX(c) {
		a.flash(c, "success", msg)
		a.redirect(c, "/account")
		return
	}
	p, err := a.accountData(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	p.SessionsNotice = msg
	a.render(c, http.StatusOK, "account", "sessions_table", p)
}

func (a *App) changePassword(c *gin.Context) {
	cur := session.FromContext(c)
	ctx := c.Request.Context()
	p, err := a.accountData(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	f := p.Password
	oldPW, newPW := c.PostForm("current_password"), c.PostForm("new_password")
	ok, _, err := a.Hasher.Verify(ctx, oldPW, cur.User.PasswordHash)
	if err != nil {
		a.fail(c, err)
		return
	}
	if !ok {
		f.Errors.Add("current_password", "That is not your current password.")
	}
	if err := password.Validate(newPW, a.Common); err != nil {
		f.Errors.Add("new_password", err.Error())
	}
	if f.Errors.Any() {
		a.render(c, http.StatusUnprocessableEntity, "account", "password_form", p)
		return
	}
	hash, err := a.Hasher.Hash(ctx, newPW)
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.Store.SetPasswordHash(ctx, cur.User.ID, hash, a.Now().UTC()); err != nil {
		a.fail(c, err)
		return
	}
	// A new password ends every other login (a thief's included).
	if _, err := a.Web.Manager().EndUserSessions(ctx, cur.User.ID, cur.Family.ID); err != nil {
		a.fail(c, err)
		return
	}
	if isHTMX(c) {
		f.Done = "Password changed. Your other sessions have been signed out."
		a.render(c, http.StatusOK, "account", "password_form", p)
		return
	}
	a.flash(c, "success", "Password changed. Your other sessions have been signed out.")
	a.redirect(c, "/account")
}
