package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"quire/store"
	"quire/store/storetest"
)

// stateApp is a tiny gin app over a real StateStore: /set?msg= queues a
// flash, /get takes them, /id shows the state id, /renew renews it.
type stateApp struct {
	st    *store.Store
	ss    *StateStore
	clock *fakeClock
	h     http.Handler
}

func newStateApp(t *testing.T, secure bool) *stateApp {
	t.Helper()
	st := storetest.Open(t, store.DialectSQLite)
	clock := newFakeClock()
	ss := NewStateStore(st, secure, clock.Now)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginsessions.Sessions(StateCookie, ss))
	r.GET("/set", func(c *gin.Context) {
		s := ginsessions.Default(c)
		s.AddFlash(c.Query("msg"))
		if err := s.Save(); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.String(http.StatusOK, s.ID())
	})
	r.GET("/get", func(c *gin.Context) {
		s := ginsessions.Default(c)
		var out []string
		for _, f := range s.Flashes() {
			out = append(out, fmt.Sprint(f))
		}
		if err := s.Save(); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.String(http.StatusOK, strings.Join(out, ","))
	})
	r.GET("/id", func(c *gin.Context) { c.String(http.StatusOK, ginsessions.Default(c).ID()) })
	r.GET("/renew", func(c *gin.Context) {
		gs, err := ss.Get(c.Request, StateCookie)
		if err == nil {
			err = ss.Renew(c.Request, c.Writer, gs)
		}
		if err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.String(http.StatusOK, gs.ID)
	})
	return &stateApp{st: st, ss: ss, clock: clock, h: r}
}

// get requests path with the state cookie value (none when ""), and
// returns the body and the state cookie set, if any.
func (a *stateApp) get(t *testing.T, path, cookie string) (string, *http.Cookie) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://quire.test"+path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: StateCookie, Value: cookie})
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == StateCookie {
			return rec.Body.String(), c
		}
	}
	return rec.Body.String(), nil
}

func TestStateFlashRoundTrip(t *testing.T) {
	t.Parallel()
	a := newStateApp(t, false)
	id, ck := a.get(t, "/set?msg=hello", "")
	if ck == nil || ck.Value != id || !validStateID(id) {
		t.Fatalf("cookie %+v for id %q", ck, id)
	}
	if !ck.HttpOnly || ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Errorf("cookie attributes: %+v", ck)
	}
	// Only the id travels; the value lives in the database.
	if strings.Contains(ck.Value, "hello") {
		t.Error("flash in the cookie")
	}
	if _, err := a.st.StateGet(context.Background(), id, a.clock.Now()); err != nil {
		t.Fatalf("no state row: %v", err)
	}

	if body, again := a.get(t, "/set?msg=world", id); body != id || again != nil {
		t.Errorf("second set: id %q, cookie %+v (the cookie should not be re-sent)", body, again)
	}
	if body, _ := a.get(t, "/get", id); body != "hello,world" {
		t.Fatalf("flashes = %q", body)
	}
	if body, _ := a.get(t, "/get", id); body != "" {
		t.Fatalf("flashes shown twice: %q", body)
	}
	// With nothing left, the row is gone but the id stays the anchor.
	if _, err := a.st.StateGet(context.Background(), id, a.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("empty state kept: %v", err)
	}
	if body, _ := a.get(t, "/id", id); body != id {
		t.Errorf("id changed to %q", body)
	}
	// Another visitor never sees them.
	other, _ := a.get(t, "/set?msg=secret", "")
	if body, _ := a.get(t, "/get", ""); body != "" {
		t.Errorf("cookieless visitor sees %q", body)
	}
	if other == id {
		t.Error("two visitors share an id")
	}
}

func TestStateCookieGarbageOrUnknown(t *testing.T) {
	t.Parallel()
	a := newStateApp(t, false)
	for _, bad := range []string{"garbage", strings.Repeat("A", 23), strings.Repeat("*", 24), strings.Repeat("A", 25)} {
		body, ck := a.get(t, "/set?msg=x", bad)
		if body == bad || !validStateID(body) || ck == nil || ck.Value != body {
			t.Errorf("cookie %q: new id %q, cookie %+v", bad, body, ck)
		}
	}
	// A well-formed id the server has no data for stays the visitor's id
	// (it is the CSRF anchor of a visitor who has nothing stored yet) but
	// carries no values.
	id, _ := a.get(t, "/set?msg=mine", "")
	unknown := "B" + id[1:]
	if unknown == id {
		unknown = "C" + id[1:]
	}
	if body, _ := a.get(t, "/get", unknown); body != "" {
		t.Errorf("unknown id sees %q", body)
	}
	if body, _ := a.get(t, "/id", unknown); body != unknown {
		t.Errorf("unknown id replaced by %q", body)
	}
	if body, _ := a.get(t, "/get", id); body != "mine" {
		t.Errorf("owner's flash = %q", body)
	}
}

func TestStateExpires(t *testing.T) {
	t.Parallel()
	a := newStateApp(t, false)
	id, _ := a.get(t, "/set?msg=old", "")
	gone, _ := a.get(t, "/set?msg=swept", "")
	a.clock.Advance(24*time.Hour + time.Second)
	if body, _ := a.get(t, "/get", id); body != "" {
		t.Errorf("expired state still read: %q", body)
	}
	if n, err := a.st.SweepState(context.Background(), a.clock.Now()); err != nil || n != 1 {
		t.Errorf("SweepState = %d, %v; want 1 (%s)", n, err, gone)
	}
}

func TestStateRenew(t *testing.T) {
	t.Parallel()
	a := newStateApp(t, true)
	id, ck := a.get(t, "/set?msg=keep", "")
	if ck == nil || !ck.Secure {
		t.Fatalf("secure state cookie = %+v", ck)
	}
	renewed, ck := a.get(t, "/renew", id)
	if renewed == id || !validStateID(renewed) || ck == nil || ck.Value != renewed {
		t.Fatalf("renew: %q -> %q, cookie %+v", id, renewed, ck)
	}
	if _, err := a.st.StateGet(context.Background(), id, a.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old state row survives renew: %v", err)
	}
	if body, _ := a.get(t, "/get", renewed); body != "keep" {
		t.Errorf("values lost on renew: %q", body)
	}
}

func TestStateNewVisitorCostsNoWrite(t *testing.T) {
	t.Parallel()
	a := newStateApp(t, false)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	s, err := a.ss.New(req, StateCookie)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := a.ss.Save(req, rec, s); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.StateGet(context.Background(), s.ID, a.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("empty new state was written: %v", err)
	}
	if !strings.Contains(rec.Header().Get("Set-Cookie"), StateCookie+"="+s.ID) {
		t.Errorf("no cookie: %q", rec.Header().Get("Set-Cookie"))
	}
}
