package handlers

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"quire/session"
	"quire/store"
)

func TestAPIRegister(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	h.register("Old", "taken@example.com")
	forbidden := func(field string) string {
		return `You don't have permission to access field "` + field + `" in collection "directus_users" or it does not exist.`
	}
	n := 0
	valid := func(extra string) string {
		n++
		return `{"first_name":"Ann","last_name":"Lee","email":"Ann.Lee` + strconv.Itoa(n) + `@Example.com","password":"` +
			apiPassword + `"` + extra + `}`
	}
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code, msg   string
		created     bool
	}{
		{"role = the author role id (the tutorial's call)", valid(`,"role":"` + AuthorRoleID + `"`), "", 204, "", "", true},
		{"without role", valid(""), "", 204, "", "", true},
		{"role = admin", valid(`,"role":"` + AdminRoleID + `"`), "", 403, codeForbidden, forbidden("role"), false},
		{"role = something else", valid(`,"role":"x"`), "", 403, codeForbidden, forbidden("role"), false},
		{"status", valid(`,"status":"active"`), "", 403, codeForbidden, forbidden("status"), false},
		{"id", valid(`,"id":"00000000-0000-4000-8000-000000000000"`), "", 403, codeForbidden, forbidden("id"), false},
		{"duplicate email in another case", `{"first_name":"A","last_name":"B","email":"TAKEN@example.com","password":"` + apiPassword + `"}`, "", 400,
			codeRecordNotUnique, `Value for field "email" in collection "directus_users" has to be unique.`, false},
		{"missing first_name", `{"last_name":"B","email":"x1@example.com","password":"` + apiPassword + `"}`, "", 400,
			codeFailedValidation, `Validation failed for field "first_name". Value can't be empty.`, false},
		{"empty first_name", `{"first_name":"","last_name":"B","email":"x2@example.com","password":"` + apiPassword + `"}`, "", 400,
			codeFailedValidation, `Validation failed for field "first_name". Value can't be empty.`, false},
		{"blank last_name", `{"first_name":"A","last_name":"  ","email":"x3@example.com","password":"` + apiPassword + `"}`, "", 400,
			codeFailedValidation, `Validation failed for field "last_name". Value can't be empty.`, false},
		{"name with a control character", `{"first_name":"A\u0007","last_name":"B","email":"x4@example.com","password":"` + apiPassword + `"}`, "", 400,
			codeFailedValidation, `Validation failed for field "first_name". Value contains control characters.`, false},
		{"invalid email", `{"first_name":"A","last_name":"B","email":"nope","password":"` + apiPassword + `"}`, "", 400,
			codeFailedValidation, `Validation failed for field "email". Value has to be a valid email address.`, false},
		{"missing password", `{"first_name":"A","last_name":"B","email":"x5@example.com"}`, "", 400,
			codeFailedValidation, `Validation failed for field "password". Value can't be empty.`, false},
		{"short password", `{"first_name":"A","last_name":"B","email":"x6@example.com","password":"short"}`, "", 400,
			codeFailedValidation, `Validation failed for field "password". Use at least 8 characters.`, false},
		{"common password", `{"first_name":"A","last_name":"B","email":"x7@example.com","password":"password123"}`, "", 400,
			codeFailedValidation, `Validation failed for field "password". This password is too common; choose another.`, false},
		{"name not a string", `{"first_name":7,"last_name":"B","email":"x8@example.com","password":"` + apiPassword + `"}`, "", 400,
			codeFailedValidation, `Validation failed for field "first_name". Value has to be a string.`, false},
		{"empty object", `{}`, "", 400, codeFailedValidation, "", false},
		{"malformed JSON", `{"first_name":`, "", 400, codeInvalidPayload, "Invalid payload. Unexpected end of JSON input.", false},
		{"form body", "first_name=A&last_name=B&email=x9%40example.com&password=x", "application/x-www-form-urlencoded", 400, codeInvalidPayload, "", false},
		{"array of users", `[` + valid("") + `]`, "", 400, codeInvalidPayload, "Invalid payload. Create one user per request.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countUsers(t, h)
			req := apiReq{Method: http.MethodPost, Path: "/users", Body: tt.body}
			if tt.contentType != "" {
				req.Header = map[string]string{"Content-Type": tt.contentType}
			}
			r := h.do(req)
			wantAPI(t, r, tt.status, tt.code, tt.msg)
			if tt.status == 204 && len(r.body) != 0 {
				t.Fatalf("204 with body %q", r.body)
			}
			if got := countUsers(t, h) - before; got != map[bool]int{true: 1, false: 0}[tt.created] {
				t.Fatalf("%d users created, want created=%v", got, tt.created)
			}
			if tt.created {
				// Stored with the email lower-cased.
				email := strings.ToLower(tt.body[strings.Index(tt.body, `"email":"`)+9:])
				email = email[:strings.Index(email, `"`)]
				u, err := h.store.UserByEmail(context.Background(), email)
				if err != nil {
					t.Fatal(err)
				}
				if u.Role != store.RoleAuthor || u.Status != store.StatusActive || u.FirstName != "Ann" ||
					!strings.HasPrefix(u.PasswordHash, "$argon2id$") {
					t.Fatalf("stored %+v", u)
				}
			}
		})
	}
	// {} names every missing field, one error each.
	r := h.post("/users", "", `{}`)
	var fields []string
	for _, e := range r.parsed["errors"].([]any) {
		ext := e.(map[string]any)["extensions"].(map[string]any)
		fields = append(fields, ext["field"].(string))
	}
	if !slices.Equal(fields, []string{"first_name", "last_name", "email", "password"}) {
		t.Fatalf("fields named %v", fields)
	}
	// A registered user signs in with the lower-case form of the email.
	h.register("Mia", "Mia@Example.com")
	wantAPI(t, h.post("/auth/login", "", map[string]any{"email": "mia@example.com", "password": apiPassword}), 200, "", "")
}

func countUsers(t *testing.T, h *apiHarness) int {
	t.Helper()
	us, err := h.store.ListUsers(context.Background(), store.ListUsersQuery{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return len(us)
}

func TestAPIRegisterLimitPerIP(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, func(c *Config, _ *session.Config) { c.RegisterPerIP = 2 })
	body := func(n string) string {
		return `{"first_name":"A","last_name":"B","email":"u` + n + `@example.com","password":"` + apiPassword + `"}`
	}
	wantAPI(t, h.post("/users", "", body("1")), 204, "", "")
	wantAPI(t, h.post("/users", "", body("2")), 204, "", "")
	r := h.post("/users", "", body("3"))
	wantAPI(t, r, http.StatusTooManyRequests, codeRequestsExceeded, "Too many requests, retry after 60s.")
	if r.header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Another address is not affected.
	wantAPI(t, h.do(apiReq{Method: http.MethodPost, Path: "/users", Body: body("4"), IP: "203.0.113.9"}), 204, "", "")
}

func TestAPIMe(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	r := h.get("/users/me", ann.Access)
	wantAPI(t, r, 200, "", "")
	if got := orderedKeys(t, r.body, "data"); !slices.Equal(got, []string{"id", "first_name", "last_name", "email", "avatar", "status", "role"}) {
		t.Fatalf("members %v", got)
	}
	d := r.obj()
	if d["id"] != ann.ID || d["first_name"] != "Ann" || d["last_name"] != "Tester" || d["email"] != "ann@example.com" ||
		d["avatar"] != nil || d["status"] != "active" || d["role"] != AuthorRoleID {
		t.Fatalf("me = %v", d)
	}
	u, _ := h.store.UserByID(context.Background(), ann.ID)
	if strings.Contains(string(r.body), u.PasswordHash) || strings.Contains(string(r.body), "password") {
		t.Fatalf("secret in %s", r.body)
	}
	tests := []struct {
		query  string
		status int
		keys   []string
	}{
		{"?fields=*", 200, []string{"id", "first_name", "last_name", "email", "avatar", "status", "role"}},
		{"?fields=first_name,email", 200, []string{"first_name", "email"}},
		{"?fields[]=id&fields[]=role", 200, []string{"id", "role"}},
		{"?fields=password", 403, nil},
		{"?fields=tfa_secret", 403, nil},
	}
	for _, tt := range tests {
		r := h.get("/users/me"+tt.query, ann.Access)
		if r.code != tt.status {
			t.Fatalf("%s: %d\n%s", tt.query, r.code, r.body)
		}
		if tt.status == 403 {
			wantAPI(t, r, 403, codeForbidden, "")
			continue
		}
		if got := orderedKeys(t, r.body, "data"); !slices.Equal(got, tt.keys) {
			t.Errorf("%s: members %v, want %v", tt.query, got, tt.keys)
		}
	}
	wantAPI(t, h.get("/users/me", ""), 401, codeInvalidCredentials, msgInvalidCredentials)
}

func TestAPIRoles(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	r := h.get("/roles", "")
	wantAPI(t, r, 200, "", "")
	roles := r.list()
	if len(roles) != 2 || roles[0]["id"] != AuthorRoleID || roles[0]["name"] != "author" ||
		roles[1]["id"] != AdminRoleID || roles[1]["admin_access"] != true {
		t.Fatalf("roles %s", r.body)
	}
	for _, q := range []string{"?filter[name][_eq]=author", `?filter={"name":{"_eq":"author"}}`, "?filter[id][_in]=" + AuthorRoleID} {
		r := h.get("/roles"+q, "")
		wantAPI(t, r, 200, "", "")
		if got := r.list(); len(got) != 1 || got[0]["id"] != AuthorRoleID {
			t.Errorf("%s: %s", q, r.body)
		}
	}
	wantAPI(t, h.get("/roles?filter[admin_access][_eq]=true", ""), 400, codeInvalidQuery, "")
	r = h.get("/roles/"+AuthorRoleID, "")
	if wantAPI(t, r, 200, "", ""); r.obj()["name"] != "author" {
		t.Fatalf("role %s", r.body)
	}
	wantAPI(t, h.get("/roles/nope", ""), 404, codeNotFound, "")
}
