package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"quire/session"
	"quire/store"
	"quire/store/storetest"
)

// Everyone but an admin - guests and authors alike - finds no admin area.
func TestAdminAreaIsNotFoundForOthers(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	adminC, _ := app.signedIn("Root", "root@example.com", store.RoleAdmin)
	authorC, author := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)
	guest := app.client()
	guest.get("/")

	paths := []struct{ method, path string }{
		{http.MethodGet, "/admin/users"},
		{http.MethodGet, "/admin/users?q=ada"},
		{http.MethodGet, "/admin/audit"},
		{http.MethodPost, "/admin/users/" + author.ID + "/suspend"},
		{http.MethodPost, "/admin/users/" + author.ID + "/promote"},
	}
	for _, who := range []struct {
		name string
		c    *pfClient
	}{{"guest", guest}, {"author", authorC}} {
		for _, p := range paths {
			var r *pfResp
			if p.method == http.MethodGet {
				r = who.c.get(p.path)
			} else {
				r = who.c.post(p.path, nil)
			}
			if r.code != http.StatusNotFound {
				t.Errorf("%s %s %s = %d, want 404", who.name, p.method, p.path, r.code)
			}
			pfWantNotIn(t, r.body, "Audit log", "root@example.com")
		}
	}
	if got, _ := app.store.UserByID(t.Context(), author.ID); got.Role != store.RoleAuthor || got.Status != store.StatusActive {
		t.Errorf("non-admin requests changed the author: %+v", got)
	}
	// The author cannot promote themselves either.
	if r := authorC.post("/admin/users/"+author.ID+"/promote", nil); r.code != http.StatusNotFound {
		t.Errorf("self-promotion = %d", r.code)
	}

	for _, p := range []string{"/admin/users", "/admin/audit"} {
		if r := adminC.get(p); r.code != http.StatusOK {
			t.Errorf("admin GET %s = %d", p, r.code)
		}
	}
	if r := adminC.post("/admin/users/"+author.ID+"/explode", nil); r.code != http.StatusNotFound {
		t.Errorf("unknown action = %d, want 404", r.code)
	}
	if r := adminC.post("/admin/users/no-such-user/suspend", nil); r.code != http.StatusNotFound {
		t.Errorf("unknown user = %d, want 404", r.code)
	}
}

func TestAdminActionsNeedCSRF(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	adminC, _ := app.signedIn("Root", "root@example.com", store.RoleAdmin)
	_, author := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)
	adminC.get("/admin/users")
	for _, tok := range []string{"", "forged-token"} {
		r := adminC.request(http.MethodPost, "/admin/users/"+author.ID+"/suspend",
			strings.NewReader(url.Values{"csrf_token": {tok}}.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		pfWantCode(t, r, http.StatusForbidden)
	}
	if got, _ := app.store.UserByID(t.Context(), author.ID); got.Status != store.StatusActive {
		t.Errorf("suspended without a CSRF token")
	}
	if es, _ := app.store.ListAudit(t.Context(), store.ListAuditQuery{}); len(es) != 0 {
		t.Errorf("audit entries without a valid token: %+v", es)
	}
}

func TestAdminLastAdminCannotStepDown(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	adminC, admin := app.signedIn("Root", "root@example.com", store.RoleAdmin)
	adminC.get("/admin/users")

	// htmx: the row explains, 409.
	r := adminC.htmx("/admin/users/"+admin.ID+"/demote", url.Values{"back": {"/admin/users"}})
	pfWantCode(t, r, http.StatusConflict)
	pfWantIn(t, r.body, "is the last admin", `id="user-`+admin.ID+`"`)
	pfWantNotIn(t, r.body, "<html")
	// Plain form: back to the list with the message.
	r = adminC.post("/admin/users/"+admin.ID+"/demote", url.Values{"back": {"/admin/users?q=root"}})
	pfWantCode(t, r, http.StatusSeeOther)
	if r.location() != "/admin/users?q=root" {
		t.Errorf("Location %q", r.location())
	}
	pfWantIn(t, adminC.get(r.location()).body, "is the last admin")
	// Suspending oneself is refused outright.
	r = adminC.post("/admin/users/"+admin.ID+"/suspend", nil)
	pfWantCode(t, r, http.StatusSeeOther)
	pfWantIn(t, adminC.get("/admin/users").body, "You cannot suspend yourself.")

	got, _ := app.store.UserByID(t.Context(), admin.ID)
	if got.Role != store.RoleAdmin || got.Status != store.StatusActive {
		t.Fatalf("last admin changed: %+v", got)
	}
	if es, _ := app.store.ListAudit(t.Context(), store.ListAuditQuery{}); len(es) != 0 {
		t.Errorf("refused actions logged: %+v", es)
	}

	// With a second admin, stepping down works; the admin stays signed in
	// (as an author) and the admin area is gone for them.
	app.user("Second", "second@example.com", store.RoleAdmin)
	adminC.get("/admin/users")
	r = adminC.post("/admin/users/"+admin.ID+"/demote", nil)
	pfWantCode(t, r, http.StatusSeeOther)
	if r.location() != "/account" {
		t.Errorf("after stepping down: Location %q, want /account", r.location())
	}
	page := adminC.get("/account")
	pfWantCode(t, page, http.StatusOK)
	pfWantIn(t, page.body, "You are now an author")
	if r := adminC.get("/admin/users"); r.code != http.StatusNotFound {
		t.Errorf("demoted admin still sees the admin area: %d", r.code)
	}
}

// Suspension ends the user's web session and API refresh token at once,
// keeps their posts up, and gives them the same login failure as a wrong
// password. Both dialects: the revocation is SQL.
func TestAdminSuspendEndsSessionsAndRefreshTokens(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			app := pfNewApp(t, d)
			adminC, admin := app.signedIn("Root", "root@example.com", store.RoleAdmin)
			authorC, author := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)
			postID := authorC.createPost("Still here after suspension")
			api, err := app.mgr.Start(t.Context(), author.ID, "api", session.Client{UserAgent: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := app.mgr.Check(t.Context(), api.Value, session.RotateNever); err != nil {
				t.Fatalf("API token before suspension: %v", err)
			}
			pfWantCode(t, authorC.get("/account"), http.StatusOK)

			adminC.get("/admin/users")
			r := adminC.htmx("/admin/users/"+author.ID+"/suspend", url.Values{"back": {"/admin/users"}})
			pfWantCode(t, r, http.StatusOK)
			pfWantIn(t, r.body, "is suspended and signed out everywhere", "Unsuspend")

			// The live web session is gone on its very next request.
			r = authorC.get("/account")
			pfWantCode(t, r, http.StatusSeeOther)
			if !strings.HasPrefix(r.location(), "/login") {
				t.Errorf("suspended web session: Location %q", r.location())
			}
			// The refresh token is dead too.
			if _, err := app.mgr.Check(t.Context(), api.Value, session.RotateAlways); !errors.Is(err, session.ErrRevoked) {
				t.Errorf("API refresh after suspension: %v, want ErrRevoked", err)
			}
			if _, err := app.mgr.FamilyLive(t.Context(), api.Family.ID); !errors.Is(err, session.ErrRevoked) {
				t.Errorf("API family after suspension: %v, want ErrRevoked", err)
			}
			// Signing in fails with the generic message, like a wrong password.
			fresh := app.client()
			r = fresh.login(author.Email)
			pfWantCode(t, r, http.StatusUnauthorized)
			pfWantIn(t, r.body, msgBadLogin)
			pfWantNotIn(t, r.body, "suspend")
			wrong := app.client()
			wrong.get("/login")
			w := wrong.post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password here"}})
			if w.code != r.code {
				t.Errorf("suspended login %d vs unknown user %d: distinguishable", r.code, w.code)
			}
			// Their posts stay up.
			pfWantIn(t, app.client().get("/blog/"+strconv.FormatInt(postID, 10)).body, "Still here after suspension")

			es, err := app.store.ListAudit(t.Context(), store.ListAuditQuery{})
			if err != nil || len(es) != 1 || es[0].Action != store.AuditSuspend || es[0].ActorID != admin.ID ||
				es[0].TargetUserID != author.ID {
				t.Fatalf("audit = %+v, %v", es, err)
			}

			// Unsuspend: they can sign in again.
			r = adminC.post("/admin/users/"+author.ID+"/unsuspend", url.Values{"back": {"/admin/users"}})
			pfWantCode(t, r, http.StatusSeeOther)
			if r := app.client().login(author.Email); r.code != http.StatusSeeOther {
				t.Errorf("login after unsuspend = %d", r.code)
			}
		})
	}
}

func TestAdminPromoteDemote(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	adminC, admin := app.signedIn("Root", "root@example.com", store.RoleAdmin)
	authorC, author := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)
	adminC.get("/admin/users")

	r := adminC.post("/admin/users/"+author.ID+"/promote", url.Values{"back": {"/admin/users"}})
	pfWantCode(t, r, http.StatusSeeOther)
	if got, _ := app.store.UserByID(t.Context(), author.ID); got.Role != store.RoleAdmin {
		t.Fatalf("role after promote = %q", got.Role)
	}
	pfWantIn(t, adminC.get("/admin/users").body, "Ada Tester is now an admin.")
	// A role change ends the user's logins (tokens must not carry the old
	// role); after signing in again the new admin sees the admin area.
	pfWantCode(t, authorC.get("/account"), http.StatusSeeOther)
	authorC.login(author.Email)
	pfWantCode(t, authorC.get("/admin/users"), http.StatusOK)

	// The new admin demotes the first one.
	r = authorC.htmx("/admin/users/"+admin.ID+"/demote", nil)
	pfWantCode(t, r, http.StatusOK)
	pfWantIn(t, r.body, "Root Tester is now an author.", "Make admin")
	if got, _ := app.store.UserByID(t.Context(), admin.ID); got.Role != store.RoleAuthor {
		t.Errorf("role after demote = %q", got.Role)
	}
	if r := adminC.get("/admin/users"); r.code == http.StatusOK {
		t.Errorf("demoted admin's session still opens the admin area")
	}

	es, _ := app.store.ListAudit(t.Context(), store.ListAuditQuery{})
	if len(es) != 2 || es[0].Action != store.AuditDemote || es[0].ActorID != author.ID || es[0].TargetUserID != admin.ID ||
		es[1].Action != store.AuditPromote || es[1].ActorID != admin.ID {
		t.Errorf("audit = %+v", es)
	}
}

func TestAdminDeletesAnyPostAudited(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	adminC, admin := app.signedIn("Root", "root@example.com", store.RoleAdmin)
	authorC, author := app.signedIn("Ada", "ada@example.com", store.RoleAuthor)
	otherC, _ := app.signedIn("Bob", "bob@example.com", store.RoleAuthor)
	victim := authorC.createPost("Spam about pills")
	own := authorC.createPost("My own post")
	path := "/blog/" + strconv.FormatInt(victim, 10)

	// Another author may not.
	otherC.get(path)
	pfWantCode(t, otherC.post(path+"/delete", nil), http.StatusForbidden)

	// The admin sees Delete on the author page and deletes.
	page := adminC.get("/authors/" + author.ID)
	pfWantIn(t, page.body, `href="`+path+`/delete"`)
	adminC.get(path + "/delete")
	r := adminC.post(path+"/delete", nil)
	pfWantCode(t, r, http.StatusSeeOther)
	if _, err := app.store.PostByID(t.Context(), victim); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("post still there: %v", err)
	}
	// The author deleting their own post is not moderation: not logged.
	authorC.get("/blog/" + strconv.FormatInt(own, 10))
	pfWantCode(t, authorC.post("/blog/"+strconv.FormatInt(own, 10)+"/delete", nil), http.StatusSeeOther)

	es, err := app.store.ListAudit(t.Context(), store.ListAuditQuery{})
	if err != nil || len(es) != 1 {
		t.Fatalf("audit = %+v, %v", es, err)
	}
	e := es[0]
	if e.Action != store.AuditDeletePost || e.ActorID != admin.ID || e.TargetUserID != author.ID || e.TargetPostID != victim ||
		!strings.Contains(e.Detail, "Spam about pills") {
		t.Errorf("audit entry %+v", e)
	}
	audit := adminC.get("/admin/audit")
	pfWantCode(t, audit, http.StatusOK)
	pfWantIn(t, audit.body, "Deleted post", "Spam about pills", "post #"+strconv.FormatInt(victim, 10), "root@example.com", "ada@example.com")
}

func TestAdminUserListSearchAndPaging(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	adminC, _ := app.signedIn("Root", "root@example.com", store.RoleAdmin)
	for i := range adminPageSize + 5 {
		app.user(fmt.Sprintf("Person%02d", i), fmt.Sprintf("p%02d@example.com", i), store.RoleAuthor)
	}
	app.user("Zelda", "zelda@elsewhere.org", store.RoleAuthor)

	r := adminC.get("/admin/users")
	pfWantCode(t, r, http.StatusOK)
	if n := strings.Count(r.body, `<tr id="user-`); n != adminPageSize {
		t.Errorf("first page: %d rows, want %d", n, adminPageSize)
	}
	pfWantIn(t, r.body, "p00@example.com", "Next page")
	pfWantNotIn(t, r.body, "zelda@elsewhere.org", "First page")
	i := strings.Index(r.body, `href="/admin/users?after=`)
	if i < 0 {
		t.Fatal("no next page link")
	}
	next := r.body[i+len(`href="`):]
	next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
	r = adminC.get(next)
	pfWantCode(t, r, http.StatusOK)
	pfWantIn(t, r.body, "zelda@elsewhere.org", "root@example.com", "First page")
	pfWantNotIn(t, r.body, "p00@example.com", "Next page")

	tests := []struct {
		q     string
		rows  int
		wants []string
	}{
		{"ZELDA", 1, []string{"zelda@elsewhere.org", `value="ZELDA"`}},
		{"elsewhere", 1, []string{"zelda@elsewhere.org"}},
		{"person0", 10, []string{"p09@example.com"}},
		{"100%", 0, []string{"No users match"}},
		{"_", 0, []string{"No users match"}}, // LIKE wildcards are literal
	}
	for _, tt := range tests {
		r := adminC.get("/admin/users?q=" + url.QueryEscape(tt.q))
		pfWantCode(t, r, http.StatusOK)
		if n := strings.Count(r.body, `<tr id="user-`); n != tt.rows {
			t.Errorf("q=%q: %d rows, want %d", tt.q, n, tt.rows)
		}
		pfWantIn(t, r.body, tt.wants...)
	}
}

func TestAdminAuditPaging(t *testing.T) {
	t.Parallel()
	app := pfNewApp(t, store.DialectSQLite)
	adminC, admin := app.signedIn("Root", "root@example.com", store.RoleAdmin)
	target := app.user("Ada", "ada@example.com", store.RoleAuthor)
	for i := range adminPageSize + 2 {
		if _, err := app.store.AddAudit(t.Context(), store.AuditEntry{ActorID: admin.ID, Action: store.AuditSuspend,
			TargetUserID: target.ID, Detail: fmt.Sprintf("entry-%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	r := adminC.get("/admin/audit")
	pfWantCode(t, r, http.StatusOK)
	pfWantIn(t, r.body, "Suspended user", "entry-051", "entry-002", "Older entries", "ada@example.com")
	pfWantNotIn(t, r.body, "entry-001")
	i := strings.Index(r.body, `href="/admin/audit?before=`)
	if i < 0 {
		t.Fatal("no older link")
	}
	next := r.body[i+len(`href="`):]
	r = adminC.get(next[:strings.Index(next, `"`)])
	pfWantCode(t, r, http.StatusOK)
	pfWantIn(t, r.body, "entry-001", "entry-000", "Newest")
	pfWantNotIn(t, r.body, "entry-002", "Older entries")
	for _, bad := range []string{"/admin/audit?before=x", "/admin/audit?before=-4"} {
		if r := adminC.get(bad); r.code != http.StatusBadRequest {
			t.Errorf("GET %s = %d, want 400", bad, r.code)
		}
	}
}
