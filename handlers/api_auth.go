package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"quire/session"
	"quire/store"
)

// The API's cookies carry Directus's names, so proxies and apps written for
// Directus find them. Both hold a Quire session token ("id.secret"), never
// a JWT, and are HttpOnly and SameSite=Lax.
const (
	apiRefreshCookie = "directus_refresh_token" // mode "cookie": the refresh token
	apiSessionCookie = "directus_session_token" // mode "session": the session itself
)

// sessionKindAPI marks logins made through the API on the account page.
const sessionKindAPI = "api"

const apiCallerKey = "quire.api_caller"

// apiCaller is the signed-in user of an API request and the login (session
// family) the credentials belong to.
type apiCaller struct {
	User     store.User
	FamilyID string
}

// apiCurrent returns the caller, or nil for an anonymous request.
func apiCurrent(c *gin.Context) *apiCaller {
	v, _ := c.Get(apiCallerKey)
	cur, _ := v.(*apiCaller)
	return cur
}

// apiSignedOut reports whether a session error means "these credentials no
// longer work" rather than a failure of the server.
func apiSignedOut(err error) bool {
	return errors.Is(err, session.ErrInvalid) || errors.Is(err, session.ErrExpired) ||
		errors.Is(err, session.ErrRevoked) || errors.Is(err, session.ErrReused) || errors.Is(err, store.ErrNotFound)
}

// accessTokenOf finds an access token in the Authorization header or the
// access_token query parameter; both at once is an error, as in Directus.
func accessTokenOf(r *http.Request) (string, error) {
	tok := r.URL.Query().Get("access_token")
	if scheme, v, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok && strings.EqualFold(scheme, "bearer") {
		if tok != "" {
			return "", errors.New("two tokens")
		}
		tok = strings.TrimSpace(v)
	}
	return tok, nil
}

// apiAuthenticate identifies the caller from an access token (Bearer or
// ?access_token=) or, failing that, the session cookie of mode "session".
// Each access token names its session family, which must still be live:
// logout, revocation on the account page and reuse detection take effect
// on the next request, not when the token expires.
func (a *App) apiAuthenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		tok, err := accessTokenOf(c.Request)
		if err != nil {
			a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. The request uses more than one method for including an access token.")
			return
		}
		var cur *apiCaller
		switch ck, _ := c.Request.Cookie(apiSessionCookie); {
		case tok != "":
			cur = a.apiTokenCaller(c, tok)
		case ck != nil && ck.Value != "":
			cur = a.apiCookieCaller(c, ck.Value)
		default:
			c.Next()
			return
		}
		if cur == nil {
			return // answered
		}
		c.Set(apiCallerKey, cur)
		c.Next()
	}
}

func (a *App) apiTokenCaller(c *gin.Context, tok string) *apiCaller {
	cl, err := parseAccessToken(a.JWTKey, tok, a.Now())
	switch {
	case errors.Is(err, errTokenSignature):
		a.apiFail(c, http.StatusForbidden, codeInvalidToken, "Invalid token.")
		return nil
	case errors.Is(err, errTokenExpired):
		a.apiFail(c, http.StatusUnauthorized, codeTokenExpired, "Token expired.")
		return nil
	case err != nil:
		a.apiFail(c, http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
		return nil
	}
	fam, err := a.Web.Manager().FamilyLive(c.Request.Context(), cl.SessionID)
	switch {
	case apiSignedOut(err) || (err == nil && fam.UserID != cl.ID):
		a.apiFail(c, http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
		return nil
	case err != nil:
		a.apiServerError(c, err)
		return nil
	}
	return a.apiLoadCaller(c, cl.ID, fam.ID)
}

// apiCookieCaller checks the mode-"session" cookie like a web session:
// rotated when due, with the same grace window and reuse detection.
func (a *App) apiCookieCaller(c *gin.Context, value string) *apiCaller {
	s, err := a.Web.Manager().Check(c.Request.Context(), value, session.RotateIfDue)
	switch {
	case apiSignedOut(err):
		a.clearAPICookie(c, apiSessionCookie)
		a.apiFail(c, http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
		return nil
	case err != nil:
		a.apiServerError(c, err)
		return nil
	}
	if s.Value != "" {
		a.setAPICookie(c, apiSessionCookie, s.Value, s.ExpiresAt)
	}
	return a.apiLoadCaller(c, s.UserID, s.Family.ID)
}

func (a *App) apiLoadCaller(c *gin.Context, userID, familyID string) *apiCaller {
	u, err := a.Store.UserByID(c.Request.Context(), userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.apiFail(c, http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
		return nil
	case err != nil:
		a.apiServerError(c, err)
		return nil
	case u.Status != store.StatusActive:
		a.apiFail(c, http.StatusUnauthorized, codeUserSuspended, "User suspended.")
		return nil
	}
	return &apiCaller{User: u, FamilyID: familyID}
}

func (a *App) setAPICookie(c *gin.Context, name, value string, expires time.Time) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, Secure: a.cfg.Secure, SameSite: http.SameSiteLaxMode,
		Expires: expires, MaxAge: max(int(expires.Sub(a.Now()).Seconds()), 1),
	})
}

func (a *App) clearAPICookie(c *gin.Context, name string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: "", Path: "/", HttpOnly: true, Secure: a.cfg.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// apiMode reads the optional "mode" member: "" when absent.
func (a *App) apiMode(c *gin.Context, body map[string]any) (string, bool) {
	mode, _, err := bodyString(body, "mode")
	if err == nil && (mode == "" || mode == "json" || mode == "cookie" || mode == "session") {
		return mode, true
	}
	a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, `Invalid payload. "mode" must be one of [cookie, json, session].`)
	return "", false
}

// apiLogin is POST /auth/login: the same credential check, throttling and
// argon2id as the sign-in page, then a new session family of kind "api".
func (a *App) apiLogin(c *gin.Context) {
	body, ok := a.apiObjectBody(c)
	if !ok {
		return
	}
	mode, ok := a.apiMode(c, body)
	if !ok {
		return
	}
	if mode == "" {
		mode = "json"
	}
	email, hasEmail, err1 := bodyString(body, "email")
	pw, hasPW, err2 := bodyString(body, "password")
	problem := ""
	switch {
	case err1 != nil:
		problem = err1.Error()
	case !hasEmail:
		problem = `"email" is required`
	case !validEmail(normalizeEmail(email)):
		problem = `"email" must be a valid email`
	case err2 != nil:
		problem = err2.Error()
	case !hasPW:
		problem = `"password" is required`
	case pw == "":
		problem = `"password" is not allowed to be empty`
	}
	if problem != "" {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. "+problem+".")
		return
	}
	u, status, retry, err := a.authenticate(c, normalizeEmail(email), pw)
	switch {
	case err != nil:
		a.apiServerError(c, err)
		return
	case status == http.StatusTooManyRequests:
		secs := int(retry.Seconds() + 0.999)
		c.Header("Retry-After", strconv.Itoa(secs))
		a.apiFail(c, http.StatusTooManyRequests, codeRequestsExceeded, "Too many requests, retry after "+strconv.Itoa(secs)+"s.")
		return
	case status != http.StatusOK:
		a.apiFail(c, http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
		return
	}
	s, err := a.Web.Manager().Start(c.Request.Context(), u.ID, sessionKindAPI,
		session.Client{UserAgent: c.Request.UserAgent(), IP: c.ClientIP()})
	if err != nil {
		a.apiServerError(c, err)
		return
	}
	a.apiIssue(c, u, s, mode)
}

// apiIssue answers a login or refresh: json mode returns both tokens,
// cookie mode puts the refresh token in an HttpOnly cookie, session mode
// puts the session itself in one and returns no token at all.
func (a *App) apiIssue(c *gin.Context, u store.User, s session.Session, mode string) {
	if mode == "session" {
		a.setAPICookie(c, apiSessionCookie, s.Value, s.ExpiresAt)
		a.apiData(c, apiObject{{"expires", s.ExpiresAt.Sub(a.Now()).Milliseconds()}}, nil)
		return
	}
	tok, err := a.issueAccessToken(u, s.Family.ID)
	if err != nil {
		a.apiServerError(c, err)
		return
	}
	data := apiObject{{"expires", max(int64(a.cfg.AccessTokenTTL/time.Second), 1) * 1000}}
	if mode == "cookie" {
		a.setAPICookie(c, apiRefreshCookie, s.Value, s.ExpiresAt)
	} else {
		data = append(data, apiField{"refresh_token", s.Value})
	}
	a.apiData(c, append(data, apiField{"access_token", tok}), nil)
}

// apiRefresh is POST /auth/refresh. The refresh token always rotates
// (session.RotateAlways) under the web sessions' rules: the previous token
// works only within the grace window and then yields the same successor;
// any later or older use revokes the whole login (reuse detection).
func (a *App) apiRefresh(c *gin.Context) {
	mode, value, from, ok := a.apiPresentedRefresh(c)
	if !ok {
		return
	}
	if mode == "" {
		// Like Directus: the transport of the token decides.
		mode = map[string]string{"": "json", apiRefreshCookie: "cookie", apiSessionCookie: "session"}[from]
	}
	ctx := c.Request.Context()
	s, err := a.Web.Manager().Check(ctx, value, session.RotateAlways)
	if err == nil {
		var u store.User
		u, err = a.Store.UserByID(ctx, s.UserID)
		if err == nil && u.Status != store.StatusActive {
			if err := a.Web.Manager().EndFamily(ctx, s.Family.ID); err != nil {
				a.apiServerError(c, err)
				return
			}
			a.clearPresented(c, from)
			a.apiFail(c, http.StatusUnauthorized, codeUserSuspended, "User suspended.")
			return
		}
		if err == nil {
			a.apiIssue(c, u, s, mode)
			return
		}
	}
	if apiSignedOut(err) {
		a.clearPresented(c, from)
		a.apiFail(c, http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
		return
	}
	a.apiServerError(c, err)
}

// presentedToken picks the refresh credential: the body's refresh_token,
// else the refresh cookie, else the session cookie; in mode "session" only
// the session cookie. from names the cookie it came from ("" = body).
func (a *App) presentedToken(c *gin.Context, bodyToken, mode string) (value, from string) {
	cookie := func(name string) string {
		if ck, err := c.Request.Cookie(name); err == nil {
			return ck.Value
		}
		return ""
	}
	if mode == "session" {
		return cookie(apiSessionCookie), apiSessionCookie
	}
	if bodyToken != "" {
		return bodyToken, ""
	}
	if v := cookie(apiRefreshCookie); v != "" {
		return v, apiRefreshCookie
	}
	if mode == "" {
		if v := cookie(apiSessionCookie); v != "" {
			return v, apiSessionCookie
		}
	}
	return "", ""
}

func (a *App) clearPresented(c *gin.Context, from string) {
	if from != "" {
		a.clearAPICookie(c, from)
	}
}

// apiPresentedRefresh reads the mode and the refresh token of a refresh or
// logout request, from the body or the mode's cookie; it answers 400 itself
// when there is none.
func (a *App) apiPresentedRefresh(c *gin.Context) (mode, value, from string, ok bool) {
	body, ok := a.apiObjectBody(c)
	if !ok {
		return "", "", "", false
	}
	if mode, ok = a.apiMode(c, body); !ok {
		return "", "", "", false
	}
	tok, _, err := bodyString(body, "refresh_token")
	if err != nil {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. "+err.Error()+".")
		return "", "", "", false
	}
	if value, from = a.presentedToken(c, tok, mode); value == "" {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, msgNoRefreshToken)
		return "", "", "", false
	}
	return mode, value, from, true
}

// apiLogout is POST /auth/logout: it ends the login of the presented
// refresh token or session cookie, so its refresh token and every access
// token issued for it stop working at once. Idempotent, like Directus.
func (a *App) apiLogout(c *gin.Context) {
	_, value, from, ok := a.apiPresentedRefresh(c)
	if !ok {
		return
	}
	if err := a.Web.Manager().End(c.Request.Context(), value); err != nil {
		a.apiServerError(c, err)
		return
	}
	a.clearPresented(c, from)
	c.Status(http.StatusNoContent)
}
