package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"quire/store"
)

// API query defaults and bounds (documented in the README's API section).
const (
	apiDefaultLimit = 100 // Directus's QUERY_LIMIT_DEFAULT
	apiMaxBatch     = 100 // items in one batch create/update/delete
	apiMaxSearch    = 200 // runes of ?search=
)

// queryList reads a list parameter given as "a,b", repeated, or as name[].
func queryList(c *gin.Context, name string) []string {
	var out []string
	for _, v := range append(c.QueryArray(name), c.QueryArray(name+"[]")...) {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// postFieldNames are the fields of a post in the API, in output order.
// content is the Markdown source; content_html is read-only.
func postFieldNames() []string {
	return []string{"id", "title", "content", "content_html", "user_created", "date_created", "user_updated", "date_updated"}
}

// postProjection is a parsed ?fields=: which post fields to return and, for
// user_created/user_updated, which author fields to expand them into
// (absent: the user's id, as Directus returns an unexpanded relation).
type postProjection struct {
	fields []string
	rel    map[string][]string
}

func (p postProjection) needsUpdater() bool { _, ok := p.rel["user_updated"]; return ok }

// columns tells the store which post bodies the response needs.
func (p postProjection) columns(q *store.PostQuery) {
	q.WithUpdater = p.needsUpdater()
	q.WithoutContent = !slices.Contains(p.fields, "content")
	q.WithoutHTML = !slices.Contains(p.fields, "content_html")
}

// apiPostFields parses ?fields= for posts. A field that does not exist or
// is not public (an author's email) is Directus's 403.
func (a *App) apiPostFields(c *gin.Context) (postProjection, bool) {
	p := postProjection{rel: map[string][]string{}}
	list := queryList(c, "fields")
	if len(list) == 0 {
		list = []string{"*"}
	}
	for _, f := range list {
		root, sub, nested := strings.Cut(f, ".")
		if root == "*" {
			for _, n := range postFieldNames() {
				p.fields = appendUnique(p.fields, n)
			}
			if nested {
				p.rel["user_created"], p.rel["user_updated"] = authorFieldNames(), authorFieldNames()
			}
			continue
		}
		if !slices.Contains(postFieldNames(), root) {
			a.apiForbidden(c, fmt.Sprintf(`You don't have permission to access field %q in collection "posts" or it does not exist. Queried in root.`, root))
			return p, false
		}
		p.fields = appendUnique(p.fields, root)
		if !nested {
			continue
		}
		if root != "user_created" && root != "user_updated" {
			a.apiForbidden(c, fmt.Sprintf(`You don't have permission to access field %q in collection "posts" or it does not exist. Queried in root.`, f))
			return p, false
		}
		switch {
		case sub == "*" || strings.HasPrefix(sub, "*."):
			p.rel[root] = authorFieldNames()
		case slices.Contains(authorFieldNames(), sub):
			p.rel[root] = appendUnique(p.rel[root], sub)
		default:
			a.apiForbidden(c, fmt.Sprintf(`You don't have permission to access field %q in collection "directus_users" or it does not exist. Queried in %s.`, sub, root))
			return p, false
		}
	}
	return p, true
}

// apiTime formats a time as Directus does (ISO 8601, milliseconds, UTC).
func apiTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func authorObject(au store.Author, fields []string) apiObject {
	out := apiObject{}
	for _, f := range fields {
		var v any
		switch f {
		case "id":
			v = au.ID
		case "first_name":
			v = au.FirstName
		case "last_name":
			v = au.LastName
		case "avatar":
			v = avatarPath(au.ID, au.AvatarVersion)
		}
		out = append(out, apiField{f, v})
	}
	return out
}

// render builds the API form of a post.
func (p postProjection) render(r store.PostRow) apiObject {
	out := make(apiObject, 0, len(p.fields))
	for _, f := range p.fields {
		var v any
		switch f {
		case "id":
			v = r.ID
		case "title":
			v = r.Title
		case "content":
			v = r.Content
		case "content_html":
			v = r.ContentHTML
		case "date_created":
			v = apiTime(r.DateCreated)
		case "date_updated":
			v = apiTime(r.DateUpdated)
		case "user_created":
			v = r.UserCreated
			if sub, ok := p.rel[f]; ok {
				v = authorObject(r.Author, sub)
			}
		case "user_updated":
			if r.UserUpdated != "" {
				v = r.UserUpdated
				if sub, ok := p.rel[f]; ok && r.Updater != nil {
					v = authorObject(*r.Updater, sub)
				}
			}
		}
		out = append(out, apiField{f, v})
	}
	return out
}

// apiPostQuery parses the query parameters of GET /items/posts into a
// store.PostQuery (which checks every field and operator itself).
func (a *App) apiPostQuery(c *gin.Context) (store.PostQuery, postProjection, bool) {
	var q store.PostQuery
	for key := range c.Request.URL.Query() {
		name, _, _ := strings.Cut(key, "[")
		switch name {
		case "aggregate", "groupBy", "deep", "alias", "export", "version", "backlink":
			a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, fmt.Sprintf("Invalid query. %q is not supported.", name))
			return q, postProjection{}, false
		}
	}
	proj, ok := a.apiPostFields(c)
	if !ok {
		return q, proj, false
	}
	proj.columns(&q)
	q.Limit, ok = a.apiIntParam(c, "limit", apiDefaultLimit, -1)
	if !ok {
		return q, proj, false
	}
	if q.Offset, ok = a.apiIntParam(c, "offset", 0, 0); !ok {
		return q, proj, false
	}
	page, ok := a.apiIntParam(c, "page", 0, 1)
	if !ok {
		return q, proj, false
	}
	if page > 0 {
		size := q.Limit
		if size < 0 || size > store.MaxPostQueryLimit {
			size = store.MaxPostQueryLimit
		}
		q.Offset = (page - 1) * size
	}
	q.Sort = queryList(c, "sort")
	q.Search = strings.TrimSpace(c.Query("search"))
	if len([]rune(q.Search)) > apiMaxSearch {
		a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, fmt.Sprintf("Invalid query. \"search\" must be at most %d characters.", apiMaxSearch))
		return q, proj, false
	}
	for _, m := range queryList(c, "meta") {
		switch m {
		case "*":
			q.TotalCount, q.FilterCount = true, true
		case "total_count":
			q.TotalCount = true
		case "filter_count":
			q.FilterCount = true
		}
	}
	q.Filter, ok = a.apiFilterParam(c)
	return q, proj, ok
}

// apiIntParam reads an integer parameter of at least minimum; def when
// absent. Offsets beyond a billion rows are refused, not run.
func (a *App) apiIntParam(c *gin.Context, name string, def, minimum int) (int, bool) {
	s, ok := c.GetQuery(name)
	if !ok || s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < minimum || n > 1_000_000_000 {
		a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, fmt.Sprintf("Invalid query. %q has to be a number of at least %d.", name, minimum))
		return 0, false
	}
	return n, true
}

// apiFilterParam reads ?filter= (JSON) and the bracket form
// filter[field][_op]=value, ANDs them, and replaces the dynamic variables
// $CURRENT_USER, $CURRENT_ROLE and $NOW.
func (a *App) apiFilterParam(c *gin.Context) (map[string]any, bool) {
	var parts []any
	if raw := c.Query("filter"); raw != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, "Invalid query. \"filter\" is not valid JSON.")
			return nil, false
		}
		if m, ok := v.(map[string]any); ok {
			parts = append(parts, m)
		} else if v != nil {
			a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, "Invalid query. \"filter\" must be an object.")
			return nil, false
		}
	}
	br, err := bracketFilter(c.Request.URL.Query())
	if err != nil {
		a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, "Invalid query. "+err.Error()+".")
		return nil, false
	}
	if br != nil {
		parts = append(parts, br)
	}
	var f map[string]any
	switch len(parts) {
	case 0:
		return nil, true
	case 1:
		f = parts[0].(map[string]any)
	default:
		f = map[string]any{"_and": parts}
	}
	uid, role := any(nil), any(nil)
	if cur := apiCurrent(c); cur != nil {
		uid, role = cur.User.ID, roleID(cur.User.Role)
	}
	vars := map[string]any{
		"$CURRENT_USER": uid, "$CURRENT_USER.id": uid,
		"$CURRENT_ROLE": role, "$CURRENT_ROLE.id": role,
		"$NOW": a.Now().UTC().Format(time.RFC3339Nano),
	}
	return replaceVars(f, vars).(map[string]any), true
}

// replaceVars returns v with every string equal to a variable name replaced
// by its value.
func replaceVars(v any, vars map[string]any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = replaceVars(e, vars)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = replaceVars(e, vars)
		}
		return out
	case string:
		if r, ok := vars[x]; ok {
			return r
		}
	}
	return v
}

// bracketFilter builds a filter object from filter[a][b]=v parameters, the
// form Directus documents for query strings. Repeated values or a trailing
// [] make a list; numbered members of _and/_or become arrays.
func bracketFilter(q url.Values) (map[string]any, error) {
	var root map[string]any
	for _, key := range slices.Sorted(maps.Keys(q)) {
		rest, ok := strings.CutPrefix(key, "filter[")
		if !ok {
			continue
		}
		if !strings.HasSuffix(rest, "]") {
			return nil, fmt.Errorf("%q is not a valid filter parameter", key)
		}
		segs := strings.Split(strings.TrimSuffix(rest, "]"), "][")
		vals := q[key]
		var val any = vals[0]
		if segs[len(segs)-1] == "" || len(vals) > 1 {
			list := make([]any, len(vals))
			for i, v := range vals {
				list[i] = v
			}
			val = list
			if segs[len(segs)-1] == "" {
				segs = segs[:len(segs)-1]
			}
		}
		if len(segs) == 0 || len(segs) > 16 || slices.Contains(segs, "") {
			return nil, fmt.Errorf("%q is not a valid filter parameter", key)
		}
		if root == nil {
			root = map[string]any{}
		}
		if err := setPath(root, segs, val); err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
	}
	if root == nil {
		return nil, nil
	}
	return numberedToArrays(root).(map[string]any), nil
}

var errFilterClash = errors.New("conflicts with another filter parameter")

func setPath(m map[string]any, segs []string, val any) error {
	for _, s := range segs[:len(segs)-1] {
		next, exists := m[s]
		if !exists {
			child := map[string]any{}
			m[s] = child
			m = child
			continue
		}
		child, ok := next.(map[string]any)
		if !ok {
			return errFilterClash
		}
		m = child
	}
	last := segs[len(segs)-1]
	if _, exists := m[last]; exists {
		return errFilterClash
	}
	m[last] = val
	return nil
}

// numberedToArrays turns {"_or": {"0": x, "1": y}} into {"_or": [x, y]}.
func numberedToArrays(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, e := range m {
		e = numberedToArrays(e)
		if k == "_and" || k == "_or" {
			if sub, ok := e.(map[string]any); ok {
				if list, ok := indexed(sub); ok {
					e = list
				}
			}
		}
		m[k] = e
	}
	return m
}

// indexed returns the members of m in index order when its keys are
// exactly 0..n-1.
func indexed(m map[string]any) ([]any, bool) {
	list := make([]any, len(m))
	for k, v := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(m) || list[i] != nil {
			return nil, false
		}
		list[i] = v
	}
	return list, true
}

// apiQueryError answers a refused store query as Directus would: an
// unknown or non-public field is 403, a bad operator or value 400.
func (a *App) apiQueryError(c *gin.Context, qe *store.QueryError) {
	switch qe.Kind {
	case store.UnknownField:
		where := "root"
		if qe.Collection == "directus_users" {
			where = "user_created"
		}
		a.apiForbidden(c, fmt.Sprintf(`You don't have permission to access field %q in collection %q or it does not exist. Queried in %s.`,
			qe.Field, qe.Collection, where))
	case store.BadOperator:
		if qe.Type != "" {
			a.apiFail(c, http.StatusBadRequest, codeInvalidQuery,
				fmt.Sprintf("Invalid query. %q field type does not contain the %q filter operator.", qe.Type, qe.Op))
			return
		}
		a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, fmt.Sprintf("Invalid query. %q is not a valid filter operator here.", qe.Op))
	default:
		a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, "Invalid query. "+strings.TrimPrefix(qe.Msg, "store: ")+".")
	}
}
