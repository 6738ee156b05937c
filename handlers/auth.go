package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"quire/password"
	"quire/session"
	"quire/store"
)

// RegisterForm is the registration form: what was typed (never the
// password) and what is wrong with it.
type RegisterForm struct {
	FirstName, LastName, Email string
	Errors                     Errors
}

// LoginForm is the sign-in form.
type LoginForm struct {
	Email  string
	Next   string
	Errors Errors
}

const msgEmailExists = "A user with this email already exists."

func (a *App) registerPage(c *gin.Context) {
	if session.FromContext(c) != nil {
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	a.render(c, http.StatusOK, "register", "register_form", &RegisterForm{})
}

func (a *App) register(c *gin.Context) {
	f := &RegisterForm{}
	singleValued(c.Request.PostForm, &f.Errors, map[string]string{
		"first_name": "First name", "last_name": "Last name", "email": "Email", "password": "Password"})
	f.FirstName = textField(&f.Errors, "first_name", "First name", c.PostForm("first_name"), true, 100, false)
	f.LastName = textField(&f.Errors, "last_name", "Last name", c.PostForm("last_name"), true, 100, false)
	f.Email = normalizeEmail(c.PostForm("email"))
	switch {
	case f.Email == "":
		f.Errors.Add("email", "Email is required.")
	case !validEmail(f.Email):
		f.Errors.Add("email", "Enter a valid email address, like name@example.com.")
	}
	pw := c.PostForm("password")
	if err := password.Validate(pw, a.Common); err != nil {
		f.Errors.Add("password", err.Error())
	}
	if f.Errors.Any() {
		a.render(c, http.StatusUnprocessableEntity, "register", "register_form", f)
		return
	}
	if ok, retry, err := a.allowRegistration(c); err != nil {
		a.fail(c, err)
		return
	} else if !ok {
		f.Errors.General = "Too many registrations from your network. Please try again in " + humanDuration(retry) + "."
		c.Header("Retry-After", strconv.Itoa(int(retry.Seconds()+0.999)))
		a.render(c, http.StatusTooManyRequests, "register", "register_form", f)
		return
	}
	_, err := a.createUser(c, f.FirstName, f.LastName, f.Email, pw, store.RoleAuthor)
	switch {
	case errors.Is(err, store.ErrDuplicateEmail):
		f.Errors.Add("email", msgEmailExists)
		a.render(c, http.StatusConflict, "register", "register_form", f)
		return
	case err != nil:
		a.fail(c, err)
		return
	}
	a.flash(c, "success", "Account created — sign in.")
	a.redirect(c, "/login")
}

// createUser hashes the password and stores a new active user.
func (a *App) createUser(c *gin.Context, first, last, email, pw, role string) (store.User, error) {
	hash, err := a.Hasher.Hash(c.Request.Context(), pw)
	if err != nil {
		return store.User{}, err
	}
	now := a.Now().UTC()
	u := store.User{FirstName: first, LastName: last, Email: email, PasswordHash: hash, Role: role,
		Status: store.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateUser(c.Request.Context(), &u); err != nil {
		return store.User{}, err
	}
	return u, nil
}

func (a *App) loginPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if session.FromContext(c) != nil {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	f := &LoginForm{}
	if next != "/" {
		f.Next = next
	}
	a.render(c, http.StatusOK, "login", "login_form", f)
}

const msgBadLogin = "Invalid email or password."

func (a *App) login(c *gin.Context) {
	f := &LoginForm{Email: normalizeEmail(c.PostForm("email"))}
	if n := safeNext(c.PostForm("next")); n != "/" {
		f.Next = n
	}
	pw := c.PostForm("password")
	if f.Email == "" || pw == "" {
		if f.Email == "" {
			f.Errors.Add("email", "Email is required.")
		}
		if pw == "" {
			f.Errors.Add("password", "Password is required.")
		}
		a.render(c, http.StatusUnprocessableEntity, "login", "login_form", f)
		return
	}
	u, status, retry, err := a.authenticate(c, f.Email, pw)
	switch {
	case err != nil:
		a.fail(c, err)
		return
	case status == http.StatusTooManyRequests:
		c.Header("Retry-After", strconv.Itoa(int(retry.Seconds()+0.999)))
		f.Errors.General = "Too many failed sign-in attempts. Please wait " + humanDuration(retry) + " and try again."
		a.render(c, status, "login", "login_form", f)
		return
	case status != http.StatusOK:
		f.Errors.General = msgBadLogin
		a.render(c, status, "login", "login_form", f)
		return
	}
	if err := a.Web.SignIn(c, u); err != nil {
		a.fail(c, err)
		return
	}
	a.redirect(c, safeNext(f.Next))
}

// authenticate checks credentials with throttling; it is shared by the web
// login and the API. It answers 200 with the user, 401 for any bad
// credential or suspended account (one message, similar timing), or 429 with
// the wait.
func (a *App) authenticate(c *gin.Context, email, pw string) (store.User, int, time.Duration, error) {
	ctx := c.Request.Context()
	now := a.Now().UTC()
	if _, problem := cleanText(email, false); problem != "" {
		// No account has such an address (registration refuses it), and
		// PostgreSQL refuses NUL and invalid UTF-8 in text: look up and
		// count a quoted, printable form instead, which matches no account.
		email = strconv.QuoteToASCII(email)
	}
	wait, failures, err := a.loginWait(c, email, now)
	if err != nil {
		return store.User{}, 0, 0, err
	} else if wait > 0 {
		return store.User{}, http.StatusTooManyRequests, wait, nil
	}
	u, err := a.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.PasswordHash == "") {
		a.Hasher.VerifyDummy(ctx, pw)
		return store.User{}, http.StatusUnauthorized, 0, a.loginFailed(c, email, now)
	}
	if err != nil {
		return store.User{}, 0, 0, err
	}
	ok, rehash, err := a.Hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return store.User{}, 0, 0, err
	}
	if !ok || u.Status != store.StatusActive {
		return store.User{}, http.StatusUnauthorized, 0, a.loginFailed(c, email, now)
	}
	// Forget the account's failures; with none counted there is nothing to
	// forget, and a write saved on every ordinary sign-in.
	if failures > 0 {
		if err := a.Store.RateReset(ctx, "login:acct:"+email); err != nil {
			return store.User{}, 0, 0, err
		}
	}
	if rehash {
		// Parameters were raised since this hash was made: upgrade it now
		// that we know the password.
		if h, err := a.Hasher.Hash(ctx, pw); err == nil {
			if err := a.Store.SetPasswordHash(ctx, u.ID, h, now); err != nil {
				a.Log.Warn("password rehash failed", "err", err, "user", u.ID)
			}
		}
	}
	return u, http.StatusOK, 0, nil
}

// loginWait returns how long a client must wait before trying again:
// failures per account and per IP beyond the allowance double the delay
// (1s, 2s, 4s ... capped at 15 minutes). There is no permanent lockout an
// attacker could trigger; the counters reset after LoginWindow. It also
// returns the account's failures in the window, which a sign-in clears.
func (a *App) loginWait(c *gin.Context, email string, now time.Time) (wait time.Duration, acctFailures int, err error) {
	ctx := c.Request.Context()
	for i, k := range []struct {
		key   string
		allow int
	}{{"login:acct:" + email, a.cfg.LoginFailures}, {"login:ip:" + c.ClientIP(), a.cfg.LoginIPLimit}} {
		n, last, err := a.Store.RateGet(ctx, k.key, now, a.cfg.LoginWindow)
		if err != nil {
			return 0, 0, err
		}
		if i == 0 {
			acctFailures = n
		}
		if n < k.allow {
			continue
		}
		d := time.Second << min(n-k.allow, 10)
		if d > 15*time.Minute {
			d = 15 * time.Minute
		}
		if w := last.Add(d).Sub(now); w > wait {
			wait = w
		}
	}
	return wait, acctFailures, nil
}

func (a *App) loginFailed(c *gin.Context, email string, now time.Time) error {
	ctx := c.Request.Context()
	if _, err := a.Store.RateHit(ctx, "login:acct:"+email, now, a.cfg.LoginWindow); err != nil {
		return err
	}
	_, err := a.Store.RateHit(ctx, "login:ip:"+c.ClientIP(), now, a.cfg.LoginWindow)
	return err
}

// allowRegistration counts registration attempts that reached the database
// per client IP.
func (a *App) allowRegistration(c *gin.Context) (bool, time.Duration, error) {
	now := a.Now().UTC()
	n, err := a.Store.RateHit(c.Request.Context(), "register:ip:"+c.ClientIP(), now, a.cfg.RegisterWindow)
	if err != nil {
		return false, 0, err
	}
	if n > a.cfg.RegisterPerIP {
		return false, a.cfg.RegisterWindow, nil
	}
	return true, 0, nil
}

func (a *App) logout(c *gin.Context) {
	if err := a.Web.SignOut(c); err != nil {
		a.fail(c, err)
		return
	}
	a.flash(c, "info", "You have been signed out.")
	a.redirect(c, "/")
}

func humanDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s <= 1:
		return "a second"
	case s < 60:
		return strconv.Itoa(s) + " seconds"
	case s < 120:
		return "a minute"
	default:
		return strconv.Itoa((s+59)/60) + " minutes"
	}
}
