package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// queryFixture is four posts by two authors; post 3 was updated by Alice.
type queryFixture struct {
	alice, bob User
	ids        []int64 // ids[0] is "post 1" and so on
}

func seedQueryPosts(t *testing.T, s *Store) queryFixture {
	t.Helper()
	ctx := t.Context()
	var f queryFixture
	for _, u := range []*User{
		{FirstName: "Alice", LastName: "Smith", Email: "alice@example.com", PasswordHash: "h"},
		{FirstName: "Bob", LastName: "Jones", Email: "bob@example.com", PasswordHash: "h"},
	} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if u.FirstName == "Alice" {
			f.alice = *u
		} else {
			f.bob = *u
		}
	}
	posts := []struct {
		owner          string
		title, content string
		at             time.Duration
	}{
		{f.alice.ID, "Hello World", "First *post*", 0},
		{f.bob.ID, "Go tips", "Use gofmt", time.Hour},
		{f.alice.ID, "Ünïcode Title", "contains 100% & under_score", 2 * time.Hour},
		{f.bob.ID, "hello again", "Case test HELLO", 3 * time.Hour},
	}
	for _, p := range posts {
		in := PostInput{Title: p.title, Content: p.content, ContentHTML: "<p>" + p.content + "</p>", Excerpt: p.content}
		created, err := s.CreatePost(ctx, p.owner, in, at(p.at))
		if err != nil {
			t.Fatal(err)
		}
		f.ids = append(f.ids, created.ID)
	}
	third := PostInput{Title: posts[2].title, Content: posts[2].content, ContentHTML: "<p>x</p>", Excerpt: "x"}
	if _, err := s.UpdatePost(ctx, f.ids[2], f.alice.ID, false, third, at(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	return f
}

// filterOf decodes a JSON filter the way the API does (numbers as
// json.Number), after replacing ALICE and BOB by the users' ids.
func (f queryFixture) filterOf(t *testing.T, src string) map[string]any {
	t.Helper()
	if src == "" {
		return nil
	}
	src = strings.NewReplacer("ALICE", f.alice.ID, "BOB", f.bob.ID).Replace(src)
	dec := json.NewDecoder(bytes.NewReader([]byte(src)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("bad test filter %s: %v", src, err)
	}
	return m
}

// posts maps result rows to fixture numbers (1-based).
func (f queryFixture) posts(rows []PostRow) []int {
	out := []int{}
	for _, r := range rows {
		out = append(out, slices.Index(f.ids, r.ID)+1)
	}
	return out
}

func TestQueryPostsFilter(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		f := seedQueryPosts(t, s)
		tests := []struct {
			filter string
			search string
			want   []int
		}{
			{"", "", []int{1, 2, 3, 4}},
			{`{"id":{"_eq":2}}`, "", []int{2}},
			{`{"id":{"_eq":"2"}}`, "", []int{2}},
			{`{"id":{"_neq":2}}`, "", []int{1, 3, 4}},
			{`{"id":{"_gt":1,"_lte":3}}`, "", []int{2, 3}},
			{`{"id":{"_gte":3}}`, "", []int{3, 4}},
			{`{"id":{"_lt":2}}`, "", []int{1}},
			{`{"title":{"_contains":"Go"}}`, "", []int{2}},
			{`{"title":{"_contains":"hello"}}`, "", []int{4}},
			{`{"title":{"_icontains":"HELLO"}}`, "", []int{1, 4}},
			{`{"title":{"_ncontains":"e"}}`, "", []int{2}},
			{`{"title":{"_eq":"Ünïcode Title"}}`, "", []int{3}},
			{`{"content":{"_icontains":"100%"}}`, "", []int{3}},
			{`{"content":{"_icontains":"_"}}`, "", []int{3}},
			{`{"title":{"_eq":"x' OR '1'='1"}}`, "", []int{}},
			{`{"user_created":{"_eq":"ALICE"}}`, "", []int{1, 3}},
			{`{"user_created":{"_neq":"ALICE"}}`, "", []int{2, 4}},
			{`{"user_created":{"id":{"_eq":"BOB"}}}`, "", []int{2, 4}},
			{`{"user_created":{"first_name":{"_eq":"Bob"}}}`, "", []int{2, 4}},
			{`{"user_created":{"last_name":{"_icontains":"SMI"}}}`, "", []int{1, 3}},
			{`{"user_created":{"_eq":null}}`, "", []int{}},
			{`{"user_created":{"_in":["ALICE","BOB"]}}`, "", []int{1, 2, 3, 4}},
			{`{"user_updated":{"_null":true}}`, "", []int{1, 2, 4}},
			{`{"user_updated":{"_nnull":true}}`, "", []int{3}},
			{`{"date_updated":{"_null":"false"}}`, "", []int{3}},
			{`{"user_updated":{"first_name":{"_eq":"Alice"}}}`, "", []int{3}},
			{`{"_or":[{"title":{"_eq":"Hello World"}},{"title":{"_eq":"Go tips"}}]}`, "", []int{1, 2}},
			{`{"_and":[{"user_created":{"_eq":"ALICE"}},{"_or":[{"title":{"_eq":"Hello World"}},{"title":{"_eq":"Go tips"}}]}]}`, "", []int{1}},
			{`{"_and":[]}`, "", []int{1, 2, 3, 4}},
			{fmt.Sprintf(`{"date_created":{"_gte":%q}}`, at(2*time.Hour).Format(time.RFC3339)), "", []int{3, 4}},
			{`{"date_created":{"_lt":"2000-01-01"}}`, "", []int{}},
			{`{"date_created":{"_gt":"2000-01-01T00:00:00"}}`, "", []int{1, 2, 3, 4}},
			{"", "hello", []int{1, 4}},
			{"", "gofmt", []int{2}},
			{"", "%", []int{3}},
			{`{"user_created":{"_eq":"ALICE"}}`, "hello", []int{1}},
		}
		for _, tt := range tests {
			t.Run(tt.filter+"|"+tt.search, func(t *testing.T) {
				res, err := s.QueryPosts(t.Context(), PostQuery{Filter: f.filterOf(t, tt.filter), Search: tt.search, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				if got := f.posts(res.Rows); !slices.Equal(got, tt.want) {
					t.Fatalf("got posts %v, want %v", got, tt.want)
				}
				if res.TotalCount != -1 || res.FilterCount != -1 {
					t.Fatalf("counts %d/%d computed without being asked", res.TotalCount, res.FilterCount)
				}
			})
		}
		// Lists by the ids the database gave, as JSON numbers and as the
		// bracket syntax's comma-separated string.
		for _, src := range []string{
			fmt.Sprintf(`{"id":{"_in":[%d,%d]}}`, f.ids[0], f.ids[2]),
			fmt.Sprintf(`{"id":{"_in":"%d,%d"}}`, f.ids[0], f.ids[2]),
			fmt.Sprintf(`{"id":{"_nin":[%d,%d]}}`, f.ids[1], f.ids[3]),
		} {
			res, err := s.QueryPosts(t.Context(), PostQuery{Filter: f.filterOf(t, src), Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.posts(res.Rows); !slices.Equal(got, []int{1, 3}) {
				t.Errorf("%s: got posts %v, want [1 3]", src, got)
			}
		}
		res, err := s.QueryPosts(t.Context(), PostQuery{Filter: f.filterOf(t, `{"id":{"_in":[]}}`), Limit: 100})
		if err != nil || len(res.Rows) != 0 {
			t.Errorf("empty _in: %d rows, %v; want none", len(res.Rows), err)
		}
	})
}

func TestQueryPostsRefused(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		f := seedQueryPosts(t, s)
		deep := `{"id":{"_eq":1}}`
		for range 10 {
			deep = `{"_and":[` + deep + `]}`
		}
		many := make([]string, 65)
		for i := range many {
			many[i] = fmt.Sprintf(`{"id":{"_eq":%d}}`, i)
		}
		longList := strings.TrimSuffix(strings.Repeat("1,", 501), ",")
		tests := []struct {
			name       string
			filter     string
			sort       []string
			kind       QueryErrorKind
			collection string
			field      string
		}{
			{"unknown field", `{"nope":{"_eq":1}}`, nil, UnknownField, "posts", "nope"},
			{"injected field name", `{"title\" OR 1=1 --":{"_eq":1}}`, nil, UnknownField, "posts", "title\" OR 1=1 --"},
			{"author email", `{"user_created":{"email":{"_eq":"alice@example.com"}}}`, nil, UnknownField, "directus_users", "email"},
			{"author password", `{"user_created":{"password_hash":{"_nnull":true}}}`, nil, UnknownField, "directus_users", "password_hash"},
			{"dotted name at the root", `{"user_created.first_name":{"_eq":"Bob"}}`, nil, UnknownField, "directus_users", "first_name"},
			{"sub-field of a plain field", `{"title":{"length":{"_eq":1}}}`, nil, UnknownField, "posts", "title.length"},
			{"unknown operator", `{"id":{"_bogus":1}}`, nil, BadOperator, "", "id"},
			{"contains on an integer", `{"id":{"_contains":"1"}}`, nil, BadOperator, "", "id"},
			{"greater than on a uuid", `{"user_created":{"_gt":"a"}}`, nil, BadOperator, "", "user_created"},
			{"unknown logical operator", `{"_xor":[]}`, nil, BadOperator, "", ""},
			{"integer expected", `{"id":{"_eq":"abc"}}`, nil, BadValue, "", "id"},
			{"fractional integer", `{"id":{"_eq":1.5}}`, nil, BadValue, "", "id"},
			{"date expected", `{"date_created":{"_gt":"yesterday"}}`, nil, BadValue, "", "date_created"},
			{"string expected", `{"title":{"_eq":true}}`, nil, BadValue, "", "title"},
			{"operators expected", `{"title":"x"}`, nil, BadValue, "", "title"},
			{"_or needs an array", `{"_or":{"id":{"_eq":1}}}`, nil, BadValue, "", ""},
			{"_null needs a bool", `{"id":{"_null":"maybe"}}`, nil, BadValue, "", "id"},
			{"_lt needs a value", `{"id":{"_lt":null}}`, nil, BadValue, "", "id"},
			{"null in a list", `{"id":{"_in":[1,null]}}`, nil, BadValue, "", "id"},
			{"too deep", deep, nil, TooComplex, "", ""},
			{"too many conditions", `{"_or":[` + strings.Join(many, ",") + `]}`, nil, TooComplex, "", ""},
			{"list too long", `{"id":{"_in":"` + longList + `"}}`, nil, TooComplex, "", "id"},
			{"unknown sort field", "", []string{"nope"}, UnknownField, "posts", "nope"},
			{"sort by author email", "", []string{"-user_created.email"}, UnknownField, "directus_users", "email"},
			{"sort injection", "", []string{"id; DROP TABLE posts"}, UnknownField, "posts", "id; DROP TABLE posts"},
			{"too many sort fields", "", slices.Repeat([]string{"id"}, 9), TooComplex, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.QueryPosts(t.Context(), PostQuery{Filter: f.filterOf(t, tt.filter), Sort: tt.sort, Limit: 10})
				var qe *QueryError
				if !errors.As(err, &qe) {
					t.Fatalf("err = %v, want a *QueryError", err)
				}
				if qe.Kind != tt.kind || qe.Field != tt.field || (tt.collection != "" && qe.Collection != tt.collection) {
					t.Fatalf("QueryError %+v, want kind %d collection %q field %q", qe, tt.kind, tt.collection, tt.field)
				}
			})
		}
		// Nothing was dropped or changed by the injection attempts.
		res, err := s.QueryPosts(t.Context(), PostQuery{Limit: -1, TotalCount: true})
		if err != nil || res.TotalCount != 4 {
			t.Fatalf("after refused queries: %d posts, %v", res.TotalCount, err)
		}
	})
}

func TestQueryPostsSortPageCount(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		f := seedQueryPosts(t, s)
		tests := []struct {
			name      string
			q         PostQuery
			want      []int
			total     int64
			filterCnt int64
		}{
			{"default order is id", PostQuery{Limit: 100}, []int{1, 2, 3, 4}, -1, -1},
			{"newest first", PostQuery{Sort: []string{"-date_created"}, Limit: 100}, []int{4, 3, 2, 1}, -1, -1},
			{"by author then id desc", PostQuery{Sort: []string{"user_created.first_name", "-id"}, Limit: 100}, []int{3, 1, 4, 2}, -1, -1},
			{"nulls last ascending", PostQuery{Sort: []string{"date_updated"}, Limit: 100}, []int{3, 1, 2, 4}, -1, -1},
			{"nulls first descending", PostQuery{Sort: []string{"-date_updated"}, Limit: 100}, []int{1, 2, 4, 3}, -1, -1},
			{"by updater name", PostQuery{Sort: []string{"user_updated.first_name"}, Limit: 100}, []int{3, 1, 2, 4}, -1, -1},
			{"limit and offset", PostQuery{Limit: 2, Offset: 1}, []int{2, 3}, -1, -1},
			{"offset past the end", PostQuery{Limit: 2, Offset: 10}, []int{}, -1, -1},
			{"limit -1 is the cap", PostQuery{Limit: -1}, []int{1, 2, 3, 4}, -1, -1},
			{"limit 0 counts only", PostQuery{Limit: 0, TotalCount: true, FilterCount: true}, []int{}, 4, 4},
			{"counts with a filter", PostQuery{Filter: f.filterOf(t, `{"user_created":{"_eq":"ALICE"}}`), Limit: 1,
				TotalCount: true, FilterCount: true}, []int{1}, 4, 2},
			{"filter count alone", PostQuery{Search: "hello", Limit: 1, FilterCount: true}, []int{1}, -1, 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, err := s.QueryPosts(t.Context(), tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if got := f.posts(res.Rows); !slices.Equal(got, tt.want) {
					t.Fatalf("got posts %v, want %v", got, tt.want)
				}
				if res.TotalCount != tt.total || res.FilterCount != tt.filterCnt {
					t.Fatalf("counts total=%d filter=%d, want %d/%d", res.TotalCount, res.FilterCount, tt.total, tt.filterCnt)
				}
			})
		}
	})
}

func TestQueryPostsJoins(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		f := seedQueryPosts(t, s)
		for _, withUpdater := range []bool{false, true} {
			res, err := s.QueryPosts(t.Context(), PostQuery{Limit: 10, WithUpdater: withUpdater})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res.Rows {
				owner := f.alice
				if i%2 == 1 {
					owner = f.bob
				}
				if r.Author.ID != owner.ID || r.Author.FirstName != owner.FirstName || r.Author.LastName != owner.LastName {
					t.Errorf("post %d author %+v, want %s", i+1, r.Author, owner.FirstName)
				}
				wantUpdater := withUpdater && i == 2
				if (r.Updater != nil) != wantUpdater {
					t.Errorf("withUpdater=%v: post %d updater %+v", withUpdater, i+1, r.Updater)
				}
				if r.Updater != nil && (r.Updater.ID != f.alice.ID || r.Updater.FirstName != "Alice") {
					t.Errorf("post %d updater %+v, want Alice", i+1, r.Updater)
				}
			}
			if got := res.Rows[2]; got.UserUpdated != f.alice.ID || !got.DateUpdated.Equal(at(5*time.Hour)) || got.Content != "contains 100% & under_score" {
				t.Errorf("post 3 = %+v", got.Post)
			}
		}
	})
}

// TestPostQuerySQLStable checks that one filter always yields one statement
// (map order must not leak into the SQL) and that values never appear in it.
func TestPostQuerySQLStable(t *testing.T) {
	t.Parallel()
	src := `{"title":{"_eq":"secret-value"},"id":{"_gt":1},"_or":[{"content":{"_icontains":"x"}},{"user_created":{"first_name":{"_eq":"Bob"}}}]}`
	var first string
	for i := range 20 {
		dec := json.NewDecoder(strings.NewReader(src))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		rowsSQL, _, args, _, err := postQuerySQL(DialectPostgres, PostQuery{Filter: m, Search: "q"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(rowsSQL, "secret-value") || strings.Contains(rowsSQL, "Bob") {
			t.Fatalf("a value was spliced into the SQL: %s", rowsSQL)
		}
		if len(args) != 6 {
			t.Fatalf("args = %v, want 6 bind values", args)
		}
		if i == 0 {
			first = rowsSQL
		} else if rowsSQL != first {
			t.Fatalf("statement changed between runs:\n%s\n%s", first, rowsSQL)
		}
	}
	if !strings.Contains(first, "strpos(") && !strings.Contains(first, "lower(") {
		t.Fatalf("unexpected statement %s", first)
	}
}

// TestQueryPostsWithoutBodies checks that leaving a body out empties only
// that column, and that search and filters still see the stored content.
func TestQueryPostsWithoutBodies(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		seedQueryPosts(t, s)
		tests := []struct {
			name                 string
			noContent, noHTML    bool
			wantContent, wantHTM bool
		}{
			{"both", false, false, true, true},
			{"no content", true, false, false, true},
			{"no html", false, true, true, false},
			{"neither", true, true, false, false},
		}
		for _, tt := range tests {
			res, err := s.QueryPosts(t.Context(), PostQuery{Limit: 10, Search: "gofmt", WithoutContent: tt.noContent, WithoutHTML: tt.noHTML})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != 1 || res.Rows[0].Title != "Go tips" {
				t.Fatalf("%s: search found %+v, want the one post about gofmt", tt.name, res.Rows)
			}
			r := res.Rows[0]
			if (r.Content == "Use gofmt") != tt.wantContent || (r.ContentHTML == "<p>Use gofmt</p>") != tt.wantHTM {
				t.Errorf("%s: content %q, html %q", tt.name, r.Content, r.ContentHTML)
			}
			if (!tt.wantContent && r.Content != "") || (!tt.wantHTM && r.ContentHTML != "") {
				t.Errorf("%s: a left-out body was read: %q / %q", tt.name, r.Content, r.ContentHTML)
			}
		}
	})
}
