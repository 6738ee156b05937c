package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"quire/store"
)

func postPathAPI(id int64) string { return "/items/posts/" + strconv.FormatInt(id, 10) }

// idsOf lists the "id" of every item of a list answer.
func idsOf(t *testing.T, r *apiResp) []int64 {
	t.Helper()
	var out []int64
	for _, m := range r.list() {
		id, err := m["id"].(json.Number).Int64()
		if err != nil {
			t.Fatalf("item without id: %v", m)
		}
		out = append(out, id)
	}
	return out
}

func TestAPICreatePost(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	bob := h.author("Bob", "bob@example.com")

	// What the tutorial's addPost sends: a forged user_created (here
	// someone else's id) and an unknown user_role; plus a forged date.
	r := h.post("/items/posts", ann.Access, map[string]any{
		"title": "  Hello  ", "content": "Some **bold** text <script>alert(1)</script>",
		"user_created": bob.ID, "user_role": AuthorRoleID, "date_created": "2001-01-01T00:00:00Z",
		"user_updated": bob.ID, "content_html": "<script>x</script>", "id": 999,
	})
	wantAPI(t, r, 200, "", "")
	if got := orderedKeys(t, r.body, "data"); !slices.Equal(got, postFieldNames()) {
		t.Fatalf("members %v", got)
	}
	d := r.obj()
	if d["title"] != "Hello" || d["user_created"] != ann.ID || d["user_updated"] != nil || d["date_updated"] != nil ||
		d["date_created"] != h.clock.Now().Format("2006-01-02T15:04:05.000Z") || d["id"] == json.Number("999") {
		t.Fatalf("created %s", r.body)
	}
	if d["content"] != "Some **bold** text <script>alert(1)</script>" {
		t.Fatalf("content is the Markdown source, got %v", d["content"])
	}
	html, _ := d["content_html"].(string)
	if !strings.Contains(html, "<strong>bold</strong>") || strings.Contains(html, "<script") {
		t.Fatalf("content_html %q", html)
	}
	id, _ := d["id"].(json.Number).Int64()
	p, err := h.store.PostByID(context.Background(), id)
	if err != nil || p.UserCreated != ann.ID || p.ContentHTML != html || p.Excerpt == "" {
		t.Fatalf("stored %+v, %v", p, err)
	}

	// ?fields applies to the answer, relations included.
	r = h.post("/items/posts?fields=id,user_created.first_name", ann.Access, map[string]any{"title": "Second"})
	wantAPI(t, r, 200, "", "")
	if u, _ := r.obj()["user_created"].(map[string]any); len(r.obj()) != 2 || u["first_name"] != "Ann" || len(u) != 1 {
		t.Fatalf("projected %s", r.body)
	}

	// A batch is validated as a whole before anything is stored.
	before := postCount(t, h)
	r = h.post("/items/posts", ann.Access, []any{map[string]any{"title": "A"}, map[string]any{"title": "B", "content": "b"}})
	wantAPI(t, r, 200, "", "")
	if got := r.list(); len(got) != 2 || got[0]["title"] != "A" || got[1]["content"] != "b" {
		t.Fatalf("batch %s", r.body)
	}
	r = h.post("/items/posts", ann.Access, []any{map[string]any{"title": "C"}, map[string]any{"content": "no title"}})
	wantAPI(t, r, 400, codeFailedValidation, `Validation failed for field "title". Value can't be empty.`)
	if got := postCount(t, h); got != before+2 {
		t.Fatalf("%d posts after a refused batch, want %d", got, before+2)
	}

	long := strings.Repeat("x", maxContent+1)
	tests := []struct {
		name      string
		token     string
		body      any
		status    int
		code, msg string
	}{
		{"anonymous", "", `{"title":"x"}`, 403, codeForbidden, msgNoCreate},
		{"empty object", ann.Access, `{}`, 400, codeFailedValidation, `Validation failed for field "title". Value can't be empty.`},
		{"no body", ann.Access, nil, 400, codeFailedValidation, `Validation failed for field "title". Value can't be empty.`},
		{"blank title", ann.Access, `{"title":"   "}`, 400, codeFailedValidation, `Validation failed for field "title". Value can't be empty.`},
		{"null title", ann.Access, `{"title":null}`, 400, codeFailedValidation, `Validation failed for field "title". Value can't be empty.`},
		{"title not a string", ann.Access, `{"title":5}`, 400, codeFailedValidation, `Validation failed for field "title". Value has to be a string.`},
		{"title on two lines", ann.Access, `{"title":"a\nb"}`, 400, codeFailedValidation, `Validation failed for field "title". Title must be a single line.`},
		{"title too long", ann.Access, `{"title":"` + strings.Repeat("t", maxTitle+1) + `"}`, 400, codeFailedValidation,
			`Validation failed for field "title". Title must be at most 200 characters.`},
		{"content too long", ann.Access, `{"title":"t","content":"` + long + `"}`, 400, codeFailedValidation,
			`Validation failed for field "content". Content must be at most 100000 characters.`},
		{"malformed JSON", ann.Access, `{"title":`, 400, codeInvalidPayload, "Invalid payload. Unexpected end of JSON input."},
		{"item not an object", ann.Access, `["x"]`, 400, codeInvalidPayload, "Invalid payload. Each item must be an object."},
		{"unknown collection", ann.Access, nil, 403, codeForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := postCount(t, h)
			path := "/items/posts"
			if tt.name == "unknown collection" {
				path = "/items/directus_users"
			}
			wantAPI(t, h.post(path, tt.token, tt.body), tt.status, tt.code, tt.msg)
			if postCount(t, h) != before {
				t.Fatal("a refused create stored a post")
			}
		})
	}
}

func postCount(t *testing.T, h *apiHarness) int64 {
	t.Helper()
	res, err := h.store.QueryPosts(context.Background(), store.PostQuery{TotalCount: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.TotalCount
}

func TestAPIListPosts(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	bob := h.author("Bob", "bob@example.com")
	ctx := context.Background()
	// 101 posts straight into the store (ids 1..101): odd ids Ann's, even
	// Bob's, one minute apart; post 5 mentions "needle".
	for i := 1; i <= 101; i++ {
		owner, md := ann.ID, "post "+strconv.Itoa(i)
		if i%2 == 0 {
			owner = bob.ID
		}
		if i == 5 {
			md = "has a needle"
		}
		in := store.PostInput{Title: fmt.Sprintf("Post %03d", i), Content: md, ContentHTML: "<p>" + md + "</p>", Excerpt: md}
		if _, err := h.store.CreatePost(ctx, owner, in, h.clock.Now().Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	seq := func(from, to, step int64) []int64 {
		var out []int64
		for i := from; (step > 0 && i <= to) || (step < 0 && i >= to); i += step {
			out = append(out, i)
		}
		return out
	}
	enc := url.QueryEscape
	tests := []struct {
		name  string
		query string
		token string
		want  []int64
		meta  string
	}{
		{"anonymous, default limit 100 in id order", "", "", seq(1, 100, 1), ""},
		{"limit -1 returns all", "?limit=-1", "", seq(1, 101, 1), ""},
		{"limit and page", "?limit=2&page=3", "", []int64{5, 6}, ""},
		{"offset", "?limit=2&offset=99", "", []int64{100, 101}, ""},
		{"sort newest first", "?sort=-date_created&limit=3", "", []int64{101, 100, 99}, ""},
		{"sort by two fields", "?sort=user_created.first_name,-id&limit=2", "", []int64{101, 99}, ""},
		{"sort[] form", "?sort[]=-id&limit=1", "", []int64{101}, ""},
		{"meta", "?limit=1&meta=total_count,filter_count&filter[user_created][_eq]=" + bob.ID, "", []int64{2}, `{"total_count":101,"filter_count":50}`},
		{"meta=*", "?limit=0&meta=*", "", nil, `{"total_count":101,"filter_count":101}`},
		{"bracket filter on an author field", "?limit=2&filter[user_created][first_name][_eq]=Bob", "", []int64{2, 4}, ""},
		{"JSON filter with _or", "?filter=" + enc(`{"_or":[{"id":{"_eq":3}},{"id":{"_in":[7,9]}}]}`), "", []int64{3, 7, 9}, ""},
		{"bracket _or with indexes", "?filter[_or][0][id][_eq]=3&filter[_or][1][id][_eq]=4", "", []int64{3, 4}, ""},
		{"bracket _in list", "?filter[id][_in]=10,11", "", []int64{10, 11}, ""},
		{"$CURRENT_USER", "?limit=3&filter=" + enc(`{"user_created":{"_eq":"$CURRENT_USER"}}`), ann.Access, []int64{1, 3, 5}, ""},
		{"$CURRENT_USER.id nested", "?limit=2&filter[user_created][id][_eq]=$CURRENT_USER.id", bob.Access, []int64{2, 4}, ""},
		{"$CURRENT_USER for the anonymous matches nothing", "?filter[user_created][_eq]=$CURRENT_USER", "", nil, ""},
		{"$NOW", "?limit=1&filter[date_created][_lte]=$NOW", "", nil, ""},
		{"dates", "?filter=" + enc(fmt.Sprintf(`{"date_created":{"_gt":%q}}`, h.clock.Now().Add(100*time.Minute).Format(time.RFC3339))), "", []int64{101}, ""},
		{"search", "?search=needle", "", []int64{5}, ""},
		{"search and filter", "?search=Post%2001&filter[user_created][_eq]=" + bob.ID, "", []int64{10, 12, 14, 16, 18}, ""},
		{"_icontains", "?filter[title][_icontains]=post%2010", "", []int64{100, 101}, ""},
		{"_null", "?filter[user_updated][_nnull]=true", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.get("/items/posts"+tt.query, tt.token)
			wantAPI(t, r, 200, "", "")
			if got := idsOf(t, r); !slices.Equal(got, tt.want) {
				t.Fatalf("ids %v, want %v", got, tt.want)
			}
			if tt.meta == "" {
				if _, ok := r.parsed["meta"]; ok {
					t.Fatalf("meta without asking: %s", r.body)
				}
				return
			}
			if !strings.HasPrefix(string(r.body), `{"meta":`+tt.meta+`,"data":`) {
				t.Fatalf("answer %.200s, want meta %s first", r.body, tt.meta)
			}
		})
	}

	// Relational fields: every author's public fields, for everyone (in the
	// tutorial's Directus setup other authors come back as null).
	r := h.get("/items/posts?fields=title,id,content,date_created,user_created.*&limit=2", "")
	wantAPI(t, r, 200, "", "")
	for i, item := range r.list() {
		u, _ := item["user_created"].(map[string]any)
		want := map[bool]string{true: "Ann", false: "Bob"}[i%2 == 0]
		if u["first_name"] != want || u["last_name"] != "Tester" || u["id"] == nil || len(u) != 4 {
			t.Fatalf("user_created %v", item["user_created"])
		}
		if _, ok := u["email"]; ok {
			t.Fatal("email exposed")
		}
	}
	if !strings.Contains(string(r.body), `{"title":"Post 001","id":1,"content":"post 1","date_created":"`) {
		t.Fatalf("fields not in the requested order: %s", r.body[:200])
	}
	r = h.get("/items/posts?fields=user_created.first_name&limit=1", "")
	if string(r.body) != `{"data":[{"user_created":{"first_name":"Ann"}}]}` {
		t.Fatalf("single relational field: %s", r.body)
	}
	r = h.get("/items/posts?fields=*.*&limit=1", "")
	if u, _ := r.list()[0]["user_created"].(map[string]any); u["first_name"] != "Ann" || r.list()[0]["user_updated"] != nil {
		t.Fatalf("*.*: %s", r.body)
	}
	if !strings.Contains(string(h.get("/items/posts?limit=1", "").body), `"user_created":"`+ann.ID+`"`) {
		t.Fatal("user_created is not the plain id by default")
	}

	errTests := []struct {
		name   string
		query  string
		status int
		code   string
		msg    string
	}{
		{"unknown field", "?fields=nope", 403, codeForbidden,
			`You don't have permission to access field "nope" in collection "posts" or it does not exist. Queried in root.`},
		{"author email", "?fields=user_created.email", 403, codeForbidden,
			`You don't have permission to access field "email" in collection "directus_users" or it does not exist. Queried in user_created.`},
		{"sub-field of a plain field", "?fields=title.x", 403, codeForbidden, ""},
		{"filter on an unknown field", "?filter[nope][_eq]=1", 403, codeForbidden,
			`You don't have permission to access field "nope" in collection "posts" or it does not exist. Queried in root.`},
		{"filter on an author's email", "?filter[user_created][email][_eq]=ann@example.com", 403, codeForbidden, ""},
		{"sort on an unknown field", "?sort=nope", 403, codeForbidden, ""},
		{"invalid operator", "?filter[id][_bogus]=1", 400, codeInvalidQuery,
			`Invalid query. "integer" field type does not contain the "_bogus" filter operator.`},
		{"_contains on an integer", "?filter[id][_contains]=1", 400, codeInvalidQuery, ""},
		{"not an integer", "?filter[id][_eq]=abc", 400, codeInvalidQuery, ""},
		{"filter not JSON", "?filter=" + enc("{nope"), 400, codeInvalidQuery, `Invalid query. "filter" is not valid JSON.`},
		{"filter not an object", "?filter=" + enc("[1]"), 400, codeInvalidQuery, `Invalid query. "filter" must be an object.`},
		{"clashing bracket keys", "?filter[id]=1&filter[id][_eq]=2", 400, codeInvalidQuery, ""},
		{"bad bracket key", "?filter[id", 400, codeInvalidQuery, ""},
		{"limit not a number", "?limit=x", 400, codeInvalidQuery, ""},
		{"limit below -1", "?limit=-2", 400, codeInvalidQuery, ""},
		{"negative offset", "?offset=-1", 400, codeInvalidQuery, ""},
		{"page 0", "?page=0", 400, codeInvalidQuery, ""},
		{"aggregate", "?aggregate[count]=*", 400, codeInvalidQuery, `Invalid query. "aggregate" is not supported.`},
		{"search too long", "?search=" + strings.Repeat("s", apiMaxSearch+1), 400, codeInvalidQuery, ""},
		{"unknown collection", "", 403, codeForbidden,
			`You don't have permission to access collection "directus_users" or it does not exist. Queried in root.`},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/items/posts" + tt.query
			if tt.name == "unknown collection" {
				path = "/items/directus_users"
			}
			wantAPI(t, h.get(path, ""), tt.status, tt.code, tt.msg)
		})
	}
}

func TestAPIReadPost(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	id := h.createPost(ann.Access, "One", "# Heading")
	r := h.get(postPathAPI(id)+"?fields=title,id,content,date_created,user_created.*", "")
	wantAPI(t, r, 200, "", "")
	d := r.obj()
	u, _ := d["user_created"].(map[string]any)
	if d["title"] != "One" || d["content"] != "# Heading" || u["first_name"] != "Ann" || u["id"] != ann.ID {
		t.Fatalf("read %s", r.body)
	}
	r = h.get(postPathAPI(id), ann.Access)
	if got := orderedKeys(t, r.body, "data"); !slices.Equal(got, postFieldNames()) {
		t.Fatalf("default members %v", got)
	}
	wantAPI(t, h.get("/items/posts/999999", ""), 404, codeNotFound, `Item "999999" not found in collection "posts".`)
	wantAPI(t, h.get("/items/posts/abc", ""), 404, codeNotFound, `Item "abc" not found in collection "posts".`)
	wantAPI(t, h.get(postPathAPI(id)+"?fields=user_created.email", ""), 403, codeForbidden, "")
	wantAPI(t, h.get("/items/pages/1", ""), 403, codeForbidden, "")
}

func TestAPIUpdatePost(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	bob := h.author("Bob", "bob@example.com")
	id := h.createPost(ann.Access, "Original", "original *text*")
	created := h.clock.Now()
	h.clock.Advance(5 * time.Minute)

	// The tutorial's updatePost sends user_updated; a forged user_created
	// (Directus would hand the post over) is ignored as well.
	r := h.patch(postPathAPI(id)+"?fields=*,user_updated.*", ann.Access, map[string]any{
		"title": "Edited", "user_updated": bob.ID, "user_created": bob.ID, "date_created": "2001-01-01"})
	wantAPI(t, r, 200, "", "")
	d := r.obj()
	uu, _ := d["user_updated"].(map[string]any)
	if d["title"] != "Edited" || d["content"] != "original *text*" || d["user_created"] != ann.ID || uu["id"] != ann.ID ||
		uu["first_name"] != "Ann" || d["date_updated"] != h.clock.Now().Format("2006-01-02T15:04:05.000Z") ||
		d["date_created"] != created.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("updated %s", r.body)
	}
	// Content only: the title stays, the HTML is rendered again.
	r = h.patch(postPathAPI(id), ann.Access, map[string]any{"content": "new **text**"})
	wantAPI(t, r, 200, "", "")
	if d := r.obj(); d["title"] != "Edited" || !strings.Contains(d["content_html"].(string), "<strong>text</strong>") {
		t.Fatalf("partial update %s", r.body)
	}

	stored := func() store.Post {
		p, err := h.store.PostByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := stored()
	tests := []struct {
		name      string
		path      string
		token     string
		body      any
		status    int
		code, msg string
	}{
		{"someone else's post", postPathAPI(id), bob.Access, `{"title":"Hijacked"}`, 403, codeForbidden,
			`You don't have permissions to perform "update" for the field(s) "title" in collection "posts" or it does not exist.`},
		{"someone else's post, two fields", postPathAPI(id), bob.Access, `{"title":"x","content":"y"}`, 403, codeForbidden,
			`You don't have permissions to perform "update" for the field(s) "title", "content" in collection "posts" or it does not exist.`},
		{"anonymous", postPathAPI(id), "", `{"title":"x"}`, 403, codeForbidden, msgNoCollectionAccess},
		{"missing post", "/items/posts/999999", ann.Access, `{"title":"x"}`, 404, codeNotFound, ""},
		{"not an id", "/items/posts/abc", ann.Access, `{"title":"x"}`, 404, codeNotFound, ""},
		{"empty title", postPathAPI(id), ann.Access, `{"title":""}`, 400, codeFailedValidation, `Validation failed for field "title". Value can't be empty.`},
		{"content not a string", postPathAPI(id), ann.Access, `{"content":[1]}`, 400, codeFailedValidation, ""},
		{"body not an object", postPathAPI(id), ann.Access, `[1]`, 400, codeInvalidPayload, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPI(t, h.patch(tt.path, tt.token, tt.body), tt.status, tt.code, tt.msg)
			if after := stored(); after != before {
				t.Fatalf("row changed by a refused update: %+v", after)
			}
		})
	}

	// An admin may edit anyone's post; the change is attributed to them.
	adm := h.admin("Ada", "ada@example.com")
	r = h.patch(postPathAPI(id), adm.Access, map[string]any{"title": "Moderated"})
	wantAPI(t, r, 200, "", "")
	if d := r.obj(); d["title"] != "Moderated" || d["user_created"] != ann.ID || d["user_updated"] != adm.ID {
		t.Fatalf("admin update %s", r.body)
	}
}

func TestAPIDeletePost(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	bob := h.author("Bob", "bob@example.com")
	own := h.createPost(ann.Access, "Mine", "")
	bobs := h.createPost(bob.Access, "Bob's", "")

	wantAPI(t, h.del(postPathAPI(bobs), ann.Access, nil), 403, codeForbidden, msgNoDelete)
	wantAPI(t, h.del(postPathAPI(bobs), "", nil), 403, codeForbidden, msgNoCollectionAccess)
	wantAPI(t, h.get(postPathAPI(bobs), ""), 200, "", "")

	r := h.del(postPathAPI(own), ann.Access, nil)
	wantAPI(t, r, 204, "", "")
	if len(r.body) != 0 {
		t.Fatalf("204 with a body %q", r.body)
	}
	wantAPI(t, h.get(postPathAPI(own), ""), 404, codeNotFound, "")
	wantAPI(t, h.del(postPathAPI(own), ann.Access, nil), 404, codeNotFound, "")
	wantAPI(t, h.del("/items/posts/abc", ann.Access, nil), 404, codeNotFound, "")

	// An admin deletes anyone's post, and the moderation is audited as on
	// the pages.
	adm := h.admin("Ada", "ada@example.com")
	wantAPI(t, h.del(postPathAPI(bobs), adm.Access, nil), 204, "", "")
	entries, err := h.store.ListAudit(context.Background(), store.ListAuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].ActorID != adm.ID || entries[0].TargetPostID != bobs || entries[0].Action != store.AuditDeletePost {
		t.Fatalf("audit %+v", entries)
	}
}

func TestAPIBatchWrites(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ann := h.author("Ann", "ann@example.com")
	bob := h.author("Bob", "bob@example.com")
	a1 := h.createPost(ann.Access, "a1", "")
	a2 := h.createPost(ann.Access, "a2", "")
	b1 := h.createPost(bob.Access, "b1", "")
	titles := func() []string {
		var out []string
		for _, id := range []int64{a1, a2, b1} {
			p, err := h.store.PostByID(context.Background(), id)
			if err != nil {
				out = append(out, "<gone>")
				continue
			}
			out = append(out, p.Title)
		}
		return out
	}

	// All or nothing: one foreign key refuses the whole batch.
	wantAPI(t, h.patch("/items/posts", ann.Access, map[string]any{"keys": []int64{a1, b1}, "data": map[string]any{"title": "x"}}),
		403, codeForbidden, `You don't have permissions to perform "update" for the field(s) "title" in collection "posts" or it does not exist.`)
	wantAPI(t, h.patch("/items/posts", ann.Access, map[string]any{"keys": []int64{a1, 999}, "data": map[string]any{"title": "x"}}), 404, codeNotFound, "")
	wantAPI(t, h.del("/items/posts", ann.Access, []int64{a1, b1}), 403, codeForbidden, msgNoDelete)
	if got := titles(); !slices.Equal(got, []string{"a1", "a2", "b1"}) {
		t.Fatalf("refused batches changed rows: %v", got)
	}

	r := h.patch("/items/posts?fields=id,title", ann.Access, map[string]any{"keys": []any{a1, strconv.FormatInt(a2, 10)}, "data": map[string]any{"title": "both"}})
	wantAPI(t, r, 200, "", "")
	if string(r.body) != fmt.Sprintf(`{"data":[{"id":%d,"title":"both"},{"id":%d,"title":"both"}]}`, a1, a2) {
		t.Fatalf("batch update %s", r.body)
	}
	for _, body := range []any{`{"data":{"title":"x"}}`, `{"keys":[],"data":{"title":"x"}}`,
		`{"keys":[1],"data":"x"}`, `{"query":{"filter":{}},"data":{"title":"x"}}`} {
		wantAPI(t, h.patch("/items/posts", ann.Access, body), 400, codeInvalidPayload, "")
	}
	wantAPI(t, h.del("/items/posts", ann.Access, `{"query":{"filter":{}}}`), 400, codeInvalidPayload, "")
	wantAPI(t, h.del("/items/posts", ann.Access, `{"keys":["abc"]}`), 400, codeInvalidPayload, "")
	wantAPI(t, h.del("/items/posts", "", []int64{a1}), 403, codeForbidden, msgNoCollectionAccess)

	wantAPI(t, h.del("/items/posts", ann.Access, map[string]any{"keys": []int64{a1, a2}}), 204, "", "")
	if got := titles(); !slices.Equal(got, []string{"<gone>", "<gone>", "b1"}) {
		t.Fatalf("after batch delete: %v", got)
	}
}
