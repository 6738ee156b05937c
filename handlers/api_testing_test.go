package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"quire/password"
	"quire/session"
	"quire/store"
	"quire/store/storetest"
)

// apiHarness is the real App on a temporary SQLite file with a fake clock,
// driven in-process through the API.
type apiHarness struct {
	t      *testing.T
	engine *gin.Engine
	store  *store.Store
	clock  *fakeClock
	mgr    *session.Manager
	logs   *syncBuffer
}

// apiTTL is the access token lifetime of the harness.
const apiTTL = 10 * time.Minute

const apiPassword = "correct horse battery staple"

func newAPIHarness(t *testing.T, tweak ...func(*Config, *session.Config)) *apiHarness {
	t.Helper()
	cfg := Config{AccessTokenTTL: apiTTL, RegisterPerIP: 1000}
	scfg := session.Config{}
	for _, f := range tweak {
		f(&cfg, &scfg)
	}
	st := storetest.Open(t, store.DialectSQLite)
	clock := newFakeClock()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	d, mgr := testDeps(t, st, scfg, false, clock.Now, log)
	d.Hasher, d.Config = password.NewHasher(cheapParams, 4), cfg
	engine, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	return &apiHarness{t: t, engine: engine, store: st, clock: clock, mgr: mgr, logs: logs}
}

// apiResp is a finished API response.
type apiResp struct {
	code   int
	header http.Header
	body   []byte
	parsed map[string]any
}

// apiReq describes a request: Body is a raw string (sent as JSON unless
// Header says otherwise) or any value to marshal; nil sends no body.
type apiReq struct {
	Method, Path string
	Body         any
	Header       map[string]string
	Cookies      []*http.Cookie
	IP           string
}

func (h *apiHarness) do(r apiReq) *apiResp {
	h.t.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(r.Method, "http://quire.test"+r.Path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	for _, ck := range r.Cookies {
		req.AddCookie(ck)
	}
	req.RemoteAddr = "198.51.100.7:40000"
	if r.IP != "" {
		req.RemoteAddr = r.IP + ":40000"
	}
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	res := &apiResp{code: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
	if len(res.body) > 0 && strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(res.body))
		dec.UseNumber()
		if err := dec.Decode(&res.parsed); err != nil {
			h.t.Fatalf("%s %s: invalid JSON %q: %v", r.Method, r.Path, res.body, err)
		}
	}
	return res
}

// doChunked sends body without a Content-Length, as a streaming client
// would.
func (h *apiHarness) doChunked(method, path, token, body string) *apiResp {
	h.t.Helper()
	req := httptest.NewRequest(method, "http://quire.test"+path, io.NopCloser(strings.NewReader(body)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	res := &apiResp{code: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
	_ = json.Unmarshal(res.body, &res.parsed)
	return res
}

// get, post, patch and del are the common shapes; token may be "".
func (h *apiHarness) get(path, token string) *apiResp {
	h.t.Helper()
	return h.do(apiReq{Method: http.MethodGet, Path: path, Header: bearer(token)})
}

func (h *apiHarness) post(path, token string, body any) *apiResp {
	h.t.Helper()
	return h.do(apiReq{Method: http.MethodPost, Path: path, Body: body, Header: bearer(token)})
}

func (h *apiHarness) patch(path, token string, body any) *apiResp {
	h.t.Helper()
	return h.do(apiReq{Method: http.MethodPatch, Path: path, Body: body, Header: bearer(token)})
}

func (h *apiHarness) del(path, token string, body any) *apiResp {
	h.t.Helper()
	return h.do(apiReq{Method: http.MethodDelete, Path: path, Body: body, Header: bearer(token)})
}

func bearer(token string) map[string]string {
	if token == "" {
		return nil
	}
	return map[string]string{"Authorization": "Bearer " + token}
}

// cookie returns the Set-Cookie named name, or nil.
func (r *apiResp) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// data is the "data" member.
func (r *apiResp) data() any { return r.parsed["data"] }

// obj is "data" as an object (nil when it is not one).
func (r *apiResp) obj() map[string]any {
	m, _ := r.data().(map[string]any)
	return m
}

// list is "data" as an array of objects.
func (r *apiResp) list() []map[string]any {
	raw, _ := r.data().([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, x := range raw {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// firstError returns the code and message of the first error.
func (r *apiResp) firstError() (code, msg string) {
	errs, _ := r.parsed["errors"].([]any)
	if len(errs) == 0 {
		return "", ""
	}
	e, _ := errs[0].(map[string]any)
	ext, _ := e["extensions"].(map[string]any)
	code, _ = ext["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

// wantStatus fails unless the response has the status and, when code is
// set, the error code and (when msg is set) the exact message.
func wantAPI(t *testing.T, r *apiResp, status int, code, msg string) {
	t.Helper()
	if r.code != status {
		t.Fatalf("status %d, want %d\n%.2000s", r.code, status, r.body)
	}
	if code == "" {
		return
	}
	gotCode, gotMsg := r.firstError()
	if gotCode != code || (msg != "" && gotMsg != msg) {
		t.Fatalf("error %s %q, want %s %q\n%.2000s", gotCode, gotMsg, code, msg, r.body)
	}
}

// apiTokens is a login's answer.
type apiTokens struct {
	Access, Refresh string
}

// apiUser is a registered, signed-in author.
type apiUser struct {
	ID    string
	Email string
	apiTokens
}

// register signs a user up through POST /users.
func (h *apiHarness) register(first, email string) {
	h.t.Helper()
	r := h.post("/users", "", map[string]any{"first_name": first, "last_name": "Tester", "email": email, "password": apiPassword})
	wantAPI(h.t, r, http.StatusNoContent, "", "")
}

// login signs in through POST /auth/login (json mode).
func (h *apiHarness) login(email string) apiTokens {
	h.t.Helper()
	r := h.post("/auth/login", "", map[string]any{"email": email, "password": apiPassword})
	wantAPI(h.t, r, http.StatusOK, "", "")
	d := r.obj()
	return apiTokens{Access: d["access_token"].(string), Refresh: d["refresh_token"].(string)}
}

// author registers and signs in a new author.
func (h *apiHarness) author(first, email string) apiUser {
	h.t.Helper()
	h.register(first, email)
	u, err := h.store.UserByEmail(context.Background(), email)
	if err != nil {
		h.t.Fatal(err)
	}
	return apiUser{ID: u.ID, Email: email, apiTokens: h.login(email)}
}

// admin is author, promoted before signing in.
func (h *apiHarness) admin(first, email string) apiUser {
	h.t.Helper()
	h.register(first, email)
	u, err := h.store.UserByEmail(context.Background(), email)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.SetRole(context.Background(), u.ID, store.RoleAdmin, h.clock.Now()); err != nil {
		h.t.Fatal(err)
	}
	return apiUser{ID: u.ID, Email: email, apiTokens: h.login(email)}
}

// createPost creates a post through the API and returns its id.
func (h *apiHarness) createPost(token, title, md string) int64 {
	h.t.Helper()
	r := h.post("/items/posts", token, map[string]any{"title": title, "content": md})
	wantAPI(h.t, r, http.StatusOK, "", "")
	id, err := r.obj()["id"].(json.Number).Int64()
	if err != nil {
		h.t.Fatalf("created post id: %v\n%s", err, r.body)
	}
	return id
}

// jwtClaims decodes a token's payload without checking it.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// keys lists an object's members in the order the server sent them.
func orderedKeys(t *testing.T, raw []byte, path ...string) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	var walk func(depth int) []string
	walk = func(depth int) []string {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			t.Fatalf("not an object at %v", path[:depth])
		}
		var keys []string
		for dec.More() {
			kt, _ := dec.Token()
			k := kt.(string)
			if depth < len(path) && k == path[depth] {
				return walk(depth + 1)
			}
			keys = append(keys, k)
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
		}
		return keys
	}
	return walk(0)
}
