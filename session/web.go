package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"quire/store"
)

// StateCookie names the gin-contrib/sessions cookie (flash, CSRF anchor)
// on plain http; over https it is SecureStateCookie, whose __Host- prefix
// keeps a sibling subdomain from planting one.
const (
	StateCookie       = "quire_state"
	SecureStateCookie = "__Host-quire_state"
)

const currentKey = "quire.current"

// Current is the signed-in user of a request and the login it belongs to.
type Current struct {
	User   store.User
	Family store.SessionFamily
}

// Web adapts Manager to browser cookies and gin.
type Web struct {
	m         *Manager
	st        *store.Store
	states    *StateStore
	name      string // auth cookie name
	stateName string // state cookie name
	secure    bool
	csrfKey   []byte
	log       *slog.Logger
}

// NewWeb builds the browser side. With secure (https base URL or TLS) the
// cookie gets Secure and the __Host- prefix, which pins it to this host and
// path "/".
func NewWeb(m *Manager, st *store.Store, states *StateStore, secure bool, csrfKey []byte, log *slog.Logger) *Web {
	name, stateName := "quire_session", StateCookie
	if secure {
		name, stateName = "__Host-quire_session", SecureStateCookie
	}
	return &Web{m: m, st: st, states: states, name: name, stateName: stateName, secure: secure, csrfKey: csrfKey, log: log}
}

// StateCookieName is the state cookie's name (for the gin-contrib/sessions
// middleware).
func (w *Web) StateCookieName() string { return w.stateName }

// CookieName is the auth cookie's name.
func (w *Web) CookieName() string { return w.name }

// Manager returns the underlying session manager.
func (w *Web) Manager() *Manager { return w.m }

// Load reads the auth cookie, rotates it when due and puts the user in the
// context. Any invalid, expired, revoked or reused cookie is cleared and the
// request goes on signed out; a database error is passed on as a 503 by the
// caller's error handling.
func (w *Web) Load() gin.HandlerFunc {
	return func(c *gin.Context) {
		ck, err := c.Request.Cookie(w.name)
		if err != nil || ck.Value == "" {
			c.Next()
			return
		}
		s, err := w.m.Check(c.Request.Context(), ck.Value, RotateIfDue)
		if err == nil {
			u := s.User // read with the token
			if u.Status != store.StatusActive {
				err = ErrRevoked
			}
			if err == nil {
				if s.Value != "" {
					w.setCookie(c, s.Value, s.ExpiresAt)
				}
				c.Set(currentKey, &Current{User: u, Family: s.Family})
				c.Next()
				return
			}
		}
		if isSignedOut(err) {
			w.clearCookie(c)
			c.Next()
			return
		}
		// Status without writing it, so the caller can still render its
		// 503 page.
		_ = c.Error(err)
		c.Status(http.StatusServiceUnavailable)
		c.Abort()
	}
}

func isSignedOut(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrExpired) || errors.Is(err, ErrRevoked) || errors.Is(err, ErrReused)
}

// FromContext returns the signed-in user, or nil.
func FromContext(c *gin.Context) *Current {
	v, ok := c.Get(currentKey)
	if !ok {
		return nil
	}
	cur, _ := v.(*Current)
	return cur
}

// SignIn starts a new login for u, sets the cookie and renews the state id
// (no session fixation; the pre-login CSRF token stops working).
func (w *Web) SignIn(c *gin.Context, u store.User) error {
	s, err := w.m.Start(c.Request.Context(), u.ID, "web", Client{UserAgent: c.Request.UserAgent(), IP: c.ClientIP()})
	if err != nil {
		return err
	}
	w.setCookie(c, s.Value, s.ExpiresAt)
	c.Set(currentKey, &Current{User: u, Family: s.Family})
	return w.renewState(c)
}

// SignOut ends the login on the server and clears the cookie.
func (w *Web) SignOut(c *gin.Context) error {
	if cur := FromContext(c); cur != nil {
		if err := w.m.EndFamily(c.Request.Context(), cur.Family.ID); err != nil {
			return err
		}
	} else if ck, err := c.Request.Cookie(w.name); err == nil {
		if err := w.m.End(c.Request.Context(), ck.Value); err != nil {
			return err
		}
	}
	w.clearCookie(c)
	c.Set(currentKey, (*Current)(nil))
	return w.renewState(c)
}

func (w *Web) renewState(c *gin.Context) error {
	gs, err := w.states.Get(c.Request, w.stateName)
	if err != nil {
		return err
	}
	return w.states.Renew(c.Request, c.Writer, gs)
}

func (w *Web) setCookie(c *gin.Context, value string, expires time.Time) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: w.name, Value: value, Path: "/", HttpOnly: true, Secure: w.secure,
		// Max-Age from the manager's clock, the one that decided expires.
		SameSite: http.SameSiteLaxMode, Expires: expires, MaxAge: int(expires.Sub(w.m.Now()).Seconds()),
	})
}

func (w *Web) clearCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: w.name, Value: "", Path: "/", HttpOnly: true, Secure: w.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// CSRFToken returns the token for forms and htmx headers. It is an HMAC of
// the login's family id (signed in) or of the visitor's state id (signed
// out), so it is tied to the session, survives token rotation, and changes
// at sign-in and sign-out.
func (w *Web) CSRFToken(c *gin.Context) (string, error) {
	anchor, err := w.csrfAnchor(c, true)
	if err != nil {
		return "", err
	}
	return w.csrfFor(anchor), nil
}

func (w *Web) csrfFor(anchor string) string {
	m := hmac.New(sha256.New, w.csrfKey)
	m.Write([]byte("quire csrf\x00"))
	m.Write([]byte(anchor))
	return b64.EncodeToString(m.Sum(nil))
}

func (w *Web) csrfAnchor(c *gin.Context, create bool) (string, error) {
	if cur := FromContext(c); cur != nil {
		return "f:" + cur.Family.ID, nil
	}
	raw, err := w.states.Get(c.Request, w.stateName)
	if err != nil {
		return "", err
	}
	if !hasCookie(c.Request, w.stateName, raw.ID) {
		if !create {
			// The anchor must come from the request, not from an id minted now.
			return "", ErrCSRF
		}
		if err := w.states.Save(c.Request, c.Writer, raw); err != nil {
			return "", err
		}
	}
	id := raw.ID
	return "s:" + id, nil
}

// ErrCSRF is returned by CheckCSRF for a missing or wrong token.
var ErrCSRF = errors.New("session: missing or invalid CSRF token")

// CheckCSRF verifies the X-CSRF-Token header or the csrf_token form field of
// a state-changing request.
func (w *Web) CheckCSRF(c *gin.Context) error {
	got := c.GetHeader("X-CSRF-Token")
	if got == "" {
		got = c.PostForm("csrf_token")
	}
	if got == "" {
		return ErrCSRF
	}
	anchor, err := w.csrfAnchor(c, false)
	if err != nil {
		return ErrCSRF
	}
	if !hmac.Equal([]byte(got), []byte(w.csrfFor(anchor))) {
		return ErrCSRF
	}
	return nil
}
