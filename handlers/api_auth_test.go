package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"quire/session"
	"quire/store"
)

func TestAPILogin(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	h.register("Ann", "ann@example.com")
	h.register("Sue", "sue@example.com")
	sue, _ := h.store.UserByEmail(context.Background(), "sue@example.com")
	if err := h.store.SetStatus(context.Background(), sue.ID, store.StatusSuspended, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	ok := `{"email":"ann@example.com","password":"` + apiPassword + `"}`
	tests := []struct {
		name        string
		body        any
		contentType string
		status      int
		code, msg   string
		keys        []string // data members, in order
		cookie      string   // Set-Cookie expected
	}{
		{"json mode by default", ok, "", 200, "", "", []string{"expires", "refresh_token", "access_token"}, ""},
		{"email in upper case", `{"email":"ANN@Example.COM","password":"` + apiPassword + `"}`, "", 200, "", "", []string{"expires", "refresh_token", "access_token"}, ""},
		{"cookie mode", `{"email":"ann@example.com","password":"` + apiPassword + `","mode":"cookie"}`, "", 200, "", "", []string{"expires", "access_token"}, apiRefreshCookie},
		{"session mode", `{"email":"ann@example.com","password":"` + apiPassword + `","mode":"session"}`, "", 200, "", "", []string{"expires"}, apiSessionCookie},
		{"unknown members ignored", `{"email":"ann@example.com","password":"` + apiPassword + `","otp":null,"x":1}`, "", 200, "", "", []string{"expires", "refresh_token", "access_token"}, ""},
		{"wrong password", `{"email":"ann@example.com","password":"wrong password!"}`, "", 401, codeInvalidCredentials, msgInvalidCredentials, nil, ""},
		{"unknown email", `{"email":"nobody@example.com","password":"` + apiPassword + `"}`, "", 401, codeInvalidCredentials, msgInvalidCredentials, nil, ""},
		{"suspended account", `{"email":"sue@example.com","password":"` + apiPassword + `"}`, "", 401, codeInvalidCredentials, msgInvalidCredentials, nil, ""},
		{"missing password", `{"email":"ann@example.com"}`, "", 400, codeInvalidPayload, `Invalid payload. "password" is required.`, nil, ""},
		{"empty password", `{"email":"ann@example.com","password":""}`, "", 400, codeInvalidPayload, `Invalid payload. "password" is not allowed to be empty.`, nil, ""},
		{"missing email", `{"password":"x"}`, "", 400, codeInvalidPayload, `Invalid payload. "email" is required.`, nil, ""},
		{"invalid email", `{"email":"ann","password":"x"}`, "", 400, codeInvalidPayload, `Invalid payload. "email" must be a valid email.`, nil, ""},
		{"email not a string", `{"email":5,"password":"x"}`, "", 400, codeInvalidPayload, `Invalid payload. "email" must be a string.`, nil, ""},
		{"bogus mode", `{"email":"ann@example.com","password":"x","mode":"bogus"}`, "", 400, codeInvalidPayload, `Invalid payload. "mode" must be one of [cookie, json, session].`, nil, ""},
		{"malformed JSON", `{"email":`, "", 400, codeInvalidPayload, "Invalid payload. Unexpected end of JSON input.", nil, ""},
		{"trailing data", ok + `{}`, "", 400, codeInvalidPayload, "", nil, ""},
		{"not an object", `["ann@example.com"]`, "", 400, codeInvalidPayload, `Invalid payload. "value" must be of type object.`, nil, ""},
		{"form body", "email=ann%40example.com&password=x", "application/x-www-form-urlencoded", 400, codeInvalidPayload, "", nil, ""},
		{"no body", nil, "", 400, codeInvalidPayload, `Invalid payload. "email" is required.`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := apiReq{Method: http.MethodPost, Path: "/auth/login", Body: tt.body}
			if tt.contentType != "" {
				req.Header = map[string]string{"Content-Type": tt.contentType}
			}
			r := h.do(req)
			wantAPI(t, r, tt.status, tt.code, tt.msg)
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			if tt.status != 200 {
				if len(r.header.Values("Set-Cookie")) != 0 {
					t.Errorf("failed login set cookies %v", r.header.Values("Set-Cookie"))
				}
				return
			}
			if got := orderedKeys(t, r.body, "data"); !slices.Equal(got, tt.keys) {
				t.Errorf("data members %v, want %v", got, tt.keys)
			}
			d := r.obj()
			if tt.cookie == apiSessionCookie {
				if d["expires"] != json.Number("604800000") {
					t.Errorf("session expires %v, want the idle lifetime 604800000 ms", d["expires"])
				}
			} else if d["expires"] != json.Number("600000") {
				t.Errorf("expires %v, want the access token TTL in ms", d["expires"])
			}
			for _, name := range []string{apiRefreshCookie, apiSessionCookie} {
				ck := r.cookie(name)
				if (ck != nil) != (name == tt.cookie) {
					t.Fatalf("cookie %s = %v, want set: %v", name, ck, name == tt.cookie)
				}
				if ck != nil {
					if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.MaxAge != 7*24*3600 || len(ck.Value) != 66 {
						t.Errorf("cookie %+v", ck)
					}
					if strings.Count(ck.Value, ".") != 1 {
						t.Errorf("cookie holds %q, want an opaque session token", ck.Value)
					}
				}
			}
		})
	}
	// Every API login is a session family of kind "api", listed on the
	// account page like a web sign-in.
	ann, _ := h.store.UserByEmail(context.Background(), "ann@example.com")
	fams, err := h.store.FamiliesByUser(context.Background(), ann.ID, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(fams) != 5 {
		t.Fatalf("%d sessions, want 5 (one per successful login)", len(fams))
	}
	for _, f := range fams {
		if f.Kind != sessionKindAPI || f.IP != "198.51.100.7" {
			t.Errorf("session %+v, want kind api from the client's IP", f)
		}
	}
}

func TestAPILoginThrottledLikeTheWeb(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, func(c *Config, _ *session.Config) { c.LoginFailures = 3 })
	h.register("Ann", "ann@example.com")
	bad := map[string]any{"email": "ann@example.com", "password": "not the password"}
	for range 3 {
		wantAPI(t, h.post("/auth/login", "", bad), http.StatusUnauthorized, codeInvalidCredentials, "")
	}
	r := h.post("/auth/login", "", map[string]any{"email": "ann@example.com", "password": apiPassword})
	wantAPI(t, r, http.StatusTooManyRequests, codeRequestsExceeded, "Too many requests, retry after 1s.")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// The counters are the web sign-in's (one authenticate for both).
	if n, _, err := h.store.RateGet(context.Background(), "login:acct:ann@example.com", h.clock.Now(), 15*time.Minute); err != nil || n != 3 {
		t.Fatalf("shared failure counter = %d, %v; want 3", n, err)
	}
	h.clock.Advance(2 * time.Second)
	wantAPI(t, h.post("/auth/login", "", map[string]any{"email": "ann@example.com", "password": apiPassword}), http.StatusOK, "", "")
}

func TestAPIAccessToken(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")

	cl := jwtClaims(t, ann.Access)
	if cl["id"] != ann.ID || cl["role"] != AuthorRoleID || cl["app_access"] != true || cl["admin_access"] != false ||
		cl["iss"] != "directus" || cl["sid"] == "" {
		t.Fatalf("claims %v", cl)
	}
	iat, _ := cl["iat"].(json.Number).Int64()
	exp, _ := cl["exp"].(json.Number).Int64()
	if iat != h.clock.Now().Unix() || exp-iat != int64(apiTTL/time.Second) {
		t.Fatalf("iat %d exp %d, want now and now+TTL", iat, exp)
	}
	if !strings.HasPrefix(ann.Access, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.") {
		t.Fatalf("header of %q is not HS256/JWT", ann.Access)
	}
	adm := h.admin("Ada", "ada@example.com")
	if c := jwtClaims(t, adm.Access); c["role"] != AdminRoleID || c["admin_access"] != true {
		t.Fatalf("admin claims %v", c)
	}

	parts := strings.Split(ann.Access, ".")
	// The same signature over a payload naming another user.
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(
		string(mustB64(t, parts[1])), ann.ID, adm.ID, 1))) + "." + parts[2]
	otherKey, _ := signAccessToken([]byte(strings.Repeat("k", 32)), accessClaims{ID: ann.ID, Issuer: "directus", SessionID: "x", Expires: 1 << 40})
	noneAlg := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	tests := []struct {
		name      string
		req       apiReq
		status    int
		code, msg string
	}{
		{"bearer", apiReq{Header: bearer(ann.Access)}, 200, "", ""},
		{"bearer scheme in lower case", apiReq{Header: map[string]string{"Authorization": "bearer " + ann.Access}}, 200, "", ""},
		{"query parameter", apiReq{Path: "?access_token=" + ann.Access}, 200, "", ""},
		{"no token", apiReq{}, 401, codeInvalidCredentials, msgInvalidCredentials},
		{"garbage", apiReq{Header: bearer("garbage")}, 401, codeInvalidCredentials, msgInvalidCredentials},
		{"other key", apiReq{Header: bearer(otherKey)}, 403, codeInvalidToken, "Invalid token."},
		{"tampered payload", apiReq{Header: bearer(tampered)}, 403, codeInvalidToken, "Invalid token."},
		{"truncated", apiReq{Header: bearer(parts[0] + "." + parts[1])}, 401, codeInvalidCredentials, msgInvalidCredentials},
		{"alg none", apiReq{Header: bearer(noneAlg)}, 403, codeInvalidToken, "Invalid token."},
		{"both transports", apiReq{Path: "?access_token=" + ann.Access, Header: bearer(ann.Access)}, 400, codeInvalidPayload,
			"Invalid payload. The request uses more than one method for including an access token."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Method, tt.req.Path = http.MethodGet, "/users/me"+tt.req.Path
			r := h.do(tt.req)
			wantAPI(t, r, tt.status, tt.code, tt.msg)
			if tt.status == 200 && r.obj()["id"] != ann.ID {
				t.Fatalf("me = %v", r.obj())
			}
		})
	}

	// A payload changed but signed with another key is INVALID_TOKEN, as
	// is one whose signature no longer matches.
	forged, _ := signAccessToken(h.JWTKeyForTest(), accessClaims{ID: adm.ID, Issuer: "directus", SessionID: "x", Expires: 1 << 40})
	if r := h.get("/users/me", forged); r.code != 401 {
		t.Fatalf("token for an unknown session: %d, want 401", r.code)
	}

	// Expiry: valid until exp, then TOKEN_EXPIRED (the refresh token still works).
	h.clock.Advance(apiTTL - time.Second)
	wantAPI(t, h.get("/users/me", ann.Access), 200, "", "")
	h.clock.Advance(time.Second)
	wantAPI(t, h.get("/users/me", ann.Access), 401, codeTokenExpired, "Token expired.")
	wantAPI(t, h.get("/items/posts", ann.Access), 401, codeTokenExpired, "Token expired.")
	r := h.post("/auth/refresh", "", map[string]any{"refresh_token": ann.Refresh})
	wantAPI(t, r, 200, "", "")
	fresh := r.obj()["access_token"].(string)
	wantAPI(t, h.get("/users/me", fresh), 200, "", "")

	// Revoking the login (account page, password change, suspension) stops
	// its access tokens on the next request.
	if _, err := h.mgr.EndUserSessions(context.Background(), ann.ID, ""); err != nil {
		t.Fatal(err)
	}
	wantAPI(t, h.get("/users/me", fresh), 401, codeInvalidCredentials, msgInvalidCredentials)

	// A suspended user's live token is refused too.
	bob := h.author("Bob", "bob@example.com")
	if err := h.store.SetStatus(context.Background(), bob.ID, store.StatusSuspended, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	wantAPI(t, h.get("/users/me", bob.Access), 401, codeUserSuspended, "User suspended.")
}

// JWTKeyForTest reads the app's signing key from the store, as New did.
func (h *apiHarness) JWTKeyForTest() []byte {
	key, err := h.store.Secret(context.Background(), "jwt-key", 32)
	if err != nil {
		h.t.Fatal(err)
	}
	return key
}

func TestAPIRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	refresh := func(tok string) *apiResp {
		return h.post("/auth/refresh", "", map[string]any{"refresh_token": tok})
	}

	r1 := refresh(ann.Refresh)
	wantAPI(t, r1, 200, "", "")
	if got := orderedKeys(t, r1.body, "data"); !slices.Equal(got, []string{"expires", "refresh_token", "access_token"}) {
		t.Fatalf("refresh answer members %v", got)
	}
	rt1 := r1.obj()["refresh_token"].(string)
	if rt1 == ann.Refresh {
		t.Fatal("refresh token did not rotate")
	}
	// The access token of before stays valid until it expires.
	wantAPI(t, h.get("/users/me", ann.Access), 200, "", "")

	// Within the grace window the previous token yields the same successor
	// (two tabs refreshing at once agree) instead of forking the login.
	h.clock.Advance(5 * time.Second)
	r2 := refresh(ann.Refresh)
	wantAPI(t, r2, 200, "", "")
	if got := r2.obj()["refresh_token"]; got != rt1 {
		t.Fatalf("grace refresh gave %v, want the same successor %s", got, rt1)
	}

	r3 := refresh(rt1)
	wantAPI(t, r3, 200, "", "")
	rt2 := r3.obj()["refresh_token"].(string)
	at2 := r3.obj()["access_token"].(string)

	// rt1 is now rotated; replaying it after the grace window is reuse: the
	// whole login dies, including the newest tokens. Directus does not do this.
	h.clock.Advance(11 * time.Second)
	wantAPI(t, refresh(rt1), 401, codeInvalidCredentials, msgInvalidCredentials)
	wantAPI(t, refresh(rt2), 401, codeInvalidCredentials, msgInvalidCredentials)
	wantAPI(t, h.get("/users/me", at2), 401, codeInvalidCredentials, msgInvalidCredentials)
	if !strings.Contains(h.logs.String(), "reuse detected") {
		t.Error("reuse was not logged")
	}
	// Other logins of the same user are untouched.
	other := h.login("ann@example.com")
	wantAPI(t, refresh(other.Refresh), 200, "", "")
}

func TestAPIRefreshErrors(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	tests := []struct {
		name      string
		body      any
		status    int
		code, msg string
	}{
		{"no token", `{}`, 400, codeInvalidPayload, msgNoRefreshToken},
		{"no body", nil, 400, codeInvalidPayload, msgNoRefreshToken},
		{"empty token", `{"refresh_token":""}`, 400, codeInvalidPayload, msgNoRefreshToken},
		{"token not a string", `{"refresh_token":5}`, 400, codeInvalidPayload, `Invalid payload. "refresh_token" must be a string.`},
		{"garbage", `{"refresh_token":"garbage"}`, 401, codeInvalidCredentials, msgInvalidCredentials},
		{"a well-formed unknown token", `{"refresh_token":"AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, 401, codeInvalidCredentials, msgInvalidCredentials},
		{"an access token", `{"refresh_token":"` + ann.Access + `"}`, 401, codeInvalidCredentials, msgInvalidCredentials},
		{"bogus mode", `{"refresh_token":"x","mode":"bogus"}`, 400, codeInvalidPayload, ""},
		{"session mode without the cookie", `{"refresh_token":"` + ann.Refresh + `","mode":"session"}`, 400, codeInvalidPayload, msgNoRefreshToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPI(t, h.post("/auth/refresh", "", tt.body), tt.status, tt.code, tt.msg)
		})
	}
	// The valid token was not disturbed by any of that.
	wantAPI(t, h.post("/auth/refresh", "", map[string]any{"refresh_token": ann.Refresh}), 200, "", "")

	// A suspended user cannot refresh, and the login ends for good.
	bob := h.author("Bob", "bob@example.com")
	if err := h.store.SetStatus(context.Background(), bob.ID, store.StatusSuspended, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	wantAPI(t, h.post("/auth/refresh", "", map[string]any{"refresh_token": bob.Refresh}), 401, codeUserSuspended, "User suspended.")
	if err := h.store.SetStatus(context.Background(), bob.ID, store.StatusActive, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	wantAPI(t, h.post("/auth/refresh", "", map[string]any{"refresh_token": bob.Refresh}), 401, codeInvalidCredentials, "")
}

func TestAPICookieMode(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	h.register("Ann", "ann@example.com")
	r := h.post("/auth/login", "", map[string]any{"email": "ann@example.com", "password": apiPassword, "mode": "cookie"})
	wantAPI(t, r, 200, "", "")
	c0 := r.cookie(apiRefreshCookie)
	if c0 == nil {
		t.Fatal("no refresh cookie")
	}
	// Mode omitted with the cookie present behaves as cookie mode.
	r = h.do(apiReq{Method: http.MethodPost, Path: "/auth/refresh", Cookies: []*http.Cookie{c0}})
	wantAPI(t, r, 200, "", "")
	c1 := r.cookie(apiRefreshCookie)
	if c1 == nil || c1.Value == c0.Value || r.obj()["refresh_token"] != nil || r.obj()["access_token"] == nil {
		t.Fatalf("cookie refresh: cookie %v, body %s", c1, r.body)
	}
	r = h.do(apiReq{Method: http.MethodPost, Path: "/auth/refresh", Body: `{"mode":"cookie"}`, Cookies: []*http.Cookie{c1}})
	wantAPI(t, r, 200, "", "")
	c2 := r.cookie(apiRefreshCookie)

	// The old cookie after the grace window: 401, the cookie is cleared and
	// the login is revoked.
	h.clock.Advance(time.Minute)
	r = h.do(apiReq{Method: http.MethodPost, Path: "/auth/refresh", Body: `{"mode":"cookie"}`, Cookies: []*http.Cookie{c0}})
	wantAPI(t, r, 401, codeInvalidCredentials, msgInvalidCredentials)
	if ck := r.cookie(apiRefreshCookie); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("failed refresh did not clear the cookie: %v", ck)
	}
	wantAPI(t, h.do(apiReq{Method: http.MethodPost, Path: "/auth/refresh", Cookies: []*http.Cookie{c2}}), 401, codeInvalidCredentials, "")

	// Logout with the cookie clears it.
	r = h.post("/auth/login", "", map[string]any{"email": "ann@example.com", "password": apiPassword, "mode": "cookie"})
	c3 := r.cookie(apiRefreshCookie)
	r = h.do(apiReq{Method: http.MethodPost, Path: "/auth/logout", Body: `{"mode":"cookie"}`, Cookies: []*http.Cookie{c3}})
	wantAPI(t, r, 204, "", "")
	if ck := r.cookie(apiRefreshCookie); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %v", ck)
	}
	wantAPI(t, h.do(apiReq{Method: http.MethodPost, Path: "/auth/refresh", Cookies: []*http.Cookie{c3}}), 401, codeInvalidCredentials, "")
}

func TestAPISessionMode(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	h.register("Ann", "ann@example.com")
	r := h.post("/auth/login", "", map[string]any{"email": "ann@example.com", "password": apiPassword, "mode": "session"})
	wantAPI(t, r, 200, "", "")
	s0 := r.cookie(apiSessionCookie)
	me := func(ck *http.Cookie) *apiResp {
		return h.do(apiReq{Method: http.MethodGet, Path: "/users/me", Cookies: []*http.Cookie{ck}})
	}
	r = me(s0)
	wantAPI(t, r, 200, "", "")
	if r.obj()["email"] != "ann@example.com" || r.cookie(apiSessionCookie) != nil {
		t.Fatalf("me with session cookie: %s (cookie %v)", r.body, r.cookie(apiSessionCookie))
	}
	// The session cookie rotates like a web session once it is due.
	h.clock.Advance(16 * time.Minute)
	r = me(s0)
	wantAPI(t, r, 200, "", "")
	s1 := r.cookie(apiSessionCookie)
	if s1 == nil || s1.Value == s0.Value {
		t.Fatalf("session cookie not rotated: %v", s1)
	}
	// Refresh in session mode rotates it again and returns no token.
	r = h.do(apiReq{Method: http.MethodPost, Path: "/auth/refresh", Body: `{"mode":"session"}`, Cookies: []*http.Cookie{s1}})
	wantAPI(t, r, 200, "", "")
	s2 := r.cookie(apiSessionCookie)
	if s2 == nil || s2.Value == s1.Value || r.obj()["access_token"] != nil || r.obj()["refresh_token"] != nil {
		t.Fatalf("session refresh: %v %s", s2, r.body)
	}
	// Writes with the cookie work for a same-origin or non-browser client.
	wantAPI(t, h.do(apiReq{Method: http.MethodPost, Path: "/items/posts", Body: `{"title":"By cookie"}`, Cookies: []*http.Cookie{s2}}), 200, "", "")
	// Logout ends it at once.
	r = h.do(apiReq{Method: http.MethodPost, Path: "/auth/logout", Body: `{"mode":"session"}`, Cookies: []*http.Cookie{s2}})
	wantAPI(t, r, 204, "", "")
	if ck := r.cookie(apiSessionCookie); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("logout did not clear the session cookie: %v", ck)
	}
	r = me(s2)
	wantAPI(t, r, 401, codeInvalidCredentials, msgInvalidCredentials)
	if ck := r.cookie(apiSessionCookie); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("dead session cookie not cleared: %v", ck)
	}
}

func TestAPILogout(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	wantAPI(t, h.post("/auth/logout", "", `{}`), 400, codeInvalidPayload, msgNoRefreshToken)
	r := h.post("/auth/logout", "", map[string]any{"refresh_token": ann.Refresh, "mode": "json"})
	wantAPI(t, r, 204, "", "")
	if len(r.body) != 0 {
		t.Fatalf("204 with a body %q", r.body)
	}
	// The refresh token and, unlike Directus, the access token die at once.
	wantAPI(t, h.post("/auth/refresh", "", map[string]any{"refresh_token": ann.Refresh}), 401, codeInvalidCredentials, "")
	wantAPI(t, h.get("/users/me", ann.Access), 401, codeInvalidCredentials, "")
	// Idempotent.
	wantAPI(t, h.post("/auth/logout", "", map[string]any{"refresh_token": ann.Refresh}), 204, "", "")
	wantAPI(t, h.post("/auth/logout", "", map[string]any{"refresh_token": "garbage"}), 204, "", "")
}

func TestAPICrossOriginWrites(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, func(c *Config, _ *session.Config) { c.CORSOrigins = []string{"https://app.example.com"} })
	h.register("Ann", "ann@example.com")
	login := `{"email":"ann@example.com","password":"` + apiPassword + `","mode":"cookie"}`
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no browser headers (SDK, curl)", nil, 200},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://quire.test"}, 200},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"cross-site by Origin only", map[string]string{"Origin": "https://evil.example"}, 403},
		{"trusted CORS origin", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example.com"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(apiReq{Method: http.MethodPost, Path: "/auth/login", Body: login, Header: tt.header})
			if tt.status == 403 {
				wantAPI(t, r, 403, codeForbidden, "Cross-site requests are not allowed.")
				if r.cookie(apiRefreshCookie) != nil {
					t.Fatal("refused login set a cookie")
				}
				return
			}
			wantAPI(t, r, tt.status, "", "")
		})
	}
	// Reads are not state-changing: a cross-site GET is answered (the
	// browser, not the server, keeps it from a page without CORS).
	wantAPI(t, h.do(apiReq{Method: http.MethodGet, Path: "/items/posts",
		Header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}}), 200, "", "")
}

func TestAPICORS(t *testing.T) {
	t.Parallel()
	preflight := apiReq{Method: http.MethodOptions, Path: "/items/posts", Header: map[string]string{
		"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}}

	off := newAPIHarness(t)
	r := off.do(preflight)
	if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Allow") == "" {
		t.Fatalf("CORS off: preflight %d %v", r.code, r.header)
	}

	on := newAPIHarness(t, func(c *Config, _ *session.Config) {
		c.CORSOrigins = []string{"https://APP.example.com/"}
	})
	r = on.do(preflight)
	if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "PATCH") ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("allowed preflight: %d %v", r.code, r.header)
	}
	r = on.do(apiReq{Method: http.MethodGet, Path: "/items/posts", Header: map[string]string{"Origin": "https://app.example.com"}})
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || r.header.Get("Vary") != "Origin" {
		t.Fatalf("allowed GET headers %v", r.header)
	}
	preflight.Header["Origin"] = "https://evil.example"
	if r = on.do(preflight); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin got CORS headers %v", r.header)
	}

	for _, bad := range []string{"*", "https://app.example.com/path", "app.example.com", "ftp://x.example"} {
		cfg := Config{CORSOrigins: []string{bad}}
		a := &App{Deps: Deps{Store: on.store, JWTKey: make([]byte, 32)}, cfg: cfg.withDefaults()}
		if err := a.apiInit(); err == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
}

func TestAPIBodyLimitAndMethods(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	big := `{"title":"x","content":"` + strings.Repeat("a", 1<<20) + `"}`
	r := h.post("/items/posts", ann.Access, big)
	wantAPI(t, r, http.StatusRequestEntityTooLarge, codeContentTooLarge, "Request body is too large.")
	// Without a Content-Length the cap is enforced while reading.
	r = h.doChunked(http.MethodPost, "/items/posts", ann.Access, big)
	wantAPI(t, r, http.StatusRequestEntityTooLarge, codeContentTooLarge, "")

	r = h.do(apiReq{Method: http.MethodPut, Path: "/items/posts/1", Body: `{}`})
	wantAPI(t, r, http.StatusMethodNotAllowed, codeMethodNotAllowed, "")
	if r.header.Get("Allow") != "DELETE, GET, HEAD, OPTIONS, PATCH" {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
	wantAPI(t, h.get("/auth/login", ""), http.StatusMethodNotAllowed, codeMethodNotAllowed, "")
	if r := h.do(apiReq{Method: http.MethodHead, Path: "/items/posts"}); r.code != 200 {
		t.Errorf("HEAD /items/posts = %d", r.code)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
