package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"quire/authz"
	"quire/content"
	"quire/store"
)

// Directus's messages for refused post operations.
const (
	msgNoCollectionAccess = `You don't have permission to access collection "posts" or it does not exist. Queried in root.`
	msgNoCreate           = `You don't have permission to "create" from collection "posts" or it does not exist.`
	msgNoDelete           = `You don't have permission to perform "delete" for collection "posts" or it does not exist.`
)

func msgNoUpdate(fields []string) string {
	quoted := make([]string, len(fields))
	for i, f := range fields {
		quoted[i] = strconv.Quote(f)
	}
	return fmt.Sprintf(`You don't have permissions to perform "update" for the field(s) %s in collection "posts" or it does not exist.`,
		strings.Join(quoted, ", "))
}

// apiPostsOnly refuses every collection but posts, as Directus refuses one
// the caller may not see.
func (a *App) apiPostsOnly(c *gin.Context) bool {
	if coll := c.Param("collection"); coll != "posts" {
		a.apiForbidden(c, fmt.Sprintf(`You don't have permission to access collection %q or it does not exist. Queried in root.`, coll))
		return false
	}
	return true
}

// apiViewer is the caller's role and id for authz ("" for anonymous).
func apiViewer(c *gin.Context) (role, id string) {
	if cur := apiCurrent(c); cur != nil {
		return cur.User.Role, cur.User.ID
	}
	return authz.Guest, ""
}

func msgPostNotFound(id int64) string {
	return fmt.Sprintf(`Item "%d" not found in collection "posts".`, id)
}

// apiPostNotFound is Quire's answer for a missing post. Directus answers
// 403 FORBIDDEN here; a 404 tells a client the truth (posts are public).
func (a *App) apiPostNotFound(c *gin.Context, id int64) {
	a.apiFail(c, http.StatusNotFound, codeNotFound, msgPostNotFound(id))
}

// apiPostID parses :id; anything but a positive integer is no post.
func (a *App) apiPostID(c *gin.Context) (int64, bool) {
	id, ok := postID(c)
	if !ok {
		a.apiFail(c, http.StatusNotFound, codeNotFound, fmt.Sprintf(`Item %q not found in collection "posts".`, c.Param("id")))
	}
	return id, ok
}

// loadPostRows reads posts by id in the given order, with what proj needs.
func (a *App) loadPostRows(ctx context.Context, ids []int64, proj postProjection) ([]store.PostRow, error) {
	list := make([]any, len(ids))
	for i, id := range ids {
		list[i] = json.Number(strconv.FormatInt(id, 10))
	}
	q := store.PostQuery{Filter: map[string]any{"id": map[string]any{"_in": list}}, Limit: len(ids)}
	proj.columns(&q)
	res, err := a.Store.QueryPosts(ctx, q)
	if err != nil {
		return nil, err
	}
	byID := map[int64]store.PostRow{}
	for _, r := range res.Rows {
		byID[r.ID] = r
	}
	out := make([]store.PostRow, 0, len(ids))
	for _, id := range ids {
		r, ok := byID[id]
		if !ok {
			return nil, store.ErrNotFound
		}
		out = append(out, r)
	}
	return out, nil
}

// apiListPosts is GET /items/posts: everyone may read posts and their
// authors' public fields.
func (a *App) apiListPosts(c *gin.Context) {
	if !a.apiPostsOnly(c) {
		return
	}
	if role, _ := apiViewer(c); !authz.Can(role, authz.ReadPosts) {
		a.apiForbidden(c, msgNoCollectionAccess)
		return
	}
	q, proj, ok := a.apiPostQuery(c)
	if !ok {
		return
	}
	res, err := a.Store.QueryPosts(c.Request.Context(), q)
	var qe *store.QueryError
	switch {
	case errors.As(err, &qe):
		a.apiQueryError(c, qe)
		return
	case err != nil:
		a.apiServerError(c, err)
		return
	}
	out := make([]apiObject, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = proj.render(r)
	}
	var meta apiObject
	if q.TotalCount || q.FilterCount {
		meta = apiObject{}
		if q.TotalCount {
			meta = append(meta, apiField{"total_count", res.TotalCount})
		}
		if q.FilterCount {
			meta = append(meta, apiField{"filter_count", res.FilterCount})
		}
	}
	a.apiData(c, out, meta)
}

// apiReadPost is GET /items/posts/:id.
func (a *App) apiReadPost(c *gin.Context) {
	if !a.apiPostsOnly(c) {
		return
	}
	if role, _ := apiViewer(c); !authz.Can(role, authz.ReadPosts) {
		a.apiForbidden(c, msgNoCollectionAccess)
		return
	}
	id, ok := a.apiPostID(c)
	if !ok {
		return
	}
	proj, ok := a.apiPostFields(c)
	if !ok {
		return
	}
	rows, err := a.loadPostRows(c.Request.Context(), []int64{id}, proj)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.apiPostNotFound(c, id)
	case err != nil:
		a.apiServerError(c, err)
	default:
		a.apiData(c, proj.render(rows[0]), nil)
	}
}

// apiPostInput validates title and content with the pages' rules and
// renders the Markdown with the same renderer. With old == nil it is a
// create (title required); otherwise absent fields keep old's values.
// Server-managed fields (id, user_created, date_created, user_updated,
// date_updated, content_html) and unknown fields are ignored: the owner and
// dates always come from the caller's session and the clock.
func (a *App) apiPostInput(body map[string]any, old *store.Post) (store.PostInput, []apiErr) {
	var errs []apiErr
	title, md := "", ""
	if old != nil {
		title, md = old.Title, old.Content
	}
	read := func(field string, multiline bool, maxRunes int, required bool) (string, bool) {
		v, present := body[field]
		if !present && old != nil {
			return "", false
		}
		if v == nil && field == "content" {
			v = ""
		}
		s, isStr := v.(string)
		if !isStr && v != nil {
			errs = append(errs, failedValidation(field, "string", "Value has to be a string."))
			return "", false
		}
		var fe Errors
		label := strings.ToUpper(field[:1]) + field[1:]
		clean := textField(&fe, field, label, s, required, maxRunes, multiline)
		if msg := fe.Get(field); msg != "" {
			typ := "text"
			if required && strings.TrimSpace(s) == "" {
				typ, msg = "nempty", "Value can't be empty."
			}
			errs = append(errs, failedValidation(field, typ, msg))
			return "", false
		}
		return clean, true
	}
	if s, ok := read("title", false, maxTitle, true); ok {
		title = s
	}
	if s, ok := read("content", true, maxContent, false); ok {
		md = s
	}
	if len(errs) > 0 {
		return store.PostInput{}, errs
	}
	html, err := a.Content.Render(md)
	if err != nil {
		return store.PostInput{}, []apiErr{failedValidation("content", "markdown", contentError(err))}
	}
	return store.PostInput{Title: title, Content: md, ContentHTML: string(html),
		Excerpt: content.Excerpt(html, excerptLength)}, nil
}

// apiCreatePosts is POST /items/posts with one object or an array of them
// (at most apiMaxBatch). Every item is validated before any is stored.
func (a *App) apiCreatePosts(c *gin.Context) {
	if !a.apiPostsOnly(c) {
		return
	}
	cur := apiCurrent(c)
	if cur == nil || !authz.Can(cur.User.Role, authz.CreatePost) {
		a.apiForbidden(c, msgNoCreate)
		return
	}
	proj, ok := a.apiPostFields(c)
	if !ok {
		return
	}
	v, ok := a.apiBody(c)
	if !ok {
		return
	}
	items, single := []any{v}, true
	if list, isList := v.([]any); isList {
		items, single = list, false
	}
	if v == nil {
		items = []any{map[string]any{}}
	}
	if len(items) > apiMaxBatch {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, fmt.Sprintf("Invalid payload. At most %d items per request.", apiMaxBatch))
		return
	}
	inputs := make([]store.PostInput, 0, len(items))
	for _, it := range items {
		m, isObj := it.(map[string]any)
		if !isObj {
			a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, `Invalid payload. Each item must be an object.`)
			return
		}
		in, errs := a.apiPostInput(m, nil)
		if errs != nil {
			a.apiErrors(c, http.StatusBadRequest, errs...)
			return
		}
		inputs = append(inputs, in)
	}
	ids := make([]int64, 0, len(inputs))
	for _, in := range inputs {
		p, err := a.Store.CreatePost(c.Request.Context(), cur.User.ID, in, a.Now().UTC())
		if err != nil {
			a.apiServerError(c, err)
			return
		}
		ids = append(ids, p.ID)
	}
	a.apiWritten(c, ids, proj, single)
}

// apiWritten answers a create or update with the stored items as ?fields=
// asks, like Directus.
func (a *App) apiWritten(c *gin.Context, ids []int64, proj postProjection, single bool) {
	rows, err := a.loadPostRows(c.Request.Context(), ids, proj)
	if err != nil {
		a.apiServerError(c, err)
		return
	}
	out := make([]apiObject, len(rows))
	for i, r := range rows {
		out[i] = proj.render(r)
	}
	if single {
		a.apiData(c, out[0], nil)
		return
	}
	a.apiData(c, out, nil)
}

// writableFields lists the post fields a body sets, for the 403 message.
func writableFields(body map[string]any) []string {
	var out []string
	for _, f := range []string{"title", "content"} {
		if _, ok := body[f]; ok {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []string{"title", "content"}
	}
	return out
}

// editablePost loads a post and checks, with authz, that the caller may
// apply action to it; the store checks ownership again inside the write.
func (a *App) editablePost(c *gin.Context, cur *apiCaller, id int64, action authz.Action, body map[string]any) (store.Post, bool) {
	p, err := a.Store.PostByID(c.Request.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.apiPostNotFound(c, id)
		return p, false
	case err != nil:
		a.apiServerError(c, err)
		return p, false
	case !authz.CanOn(cur.User.Role, cur.User.ID, action, p.UserCreated):
		a.apiPostForbidden(c, action, body)
		return p, false
	}
	return p, true
}

func (a *App) apiPostForbidden(c *gin.Context, action authz.Action, body map[string]any) {
	if action == authz.DeletePost {
		a.apiForbidden(c, msgNoDelete)
		return
	}
	a.apiForbidden(c, msgNoUpdate(writableFields(body)))
}

// apiWriter returns the signed-in caller allowed some form of action, or
// answers 403 as Directus does for the anonymous.
func (a *App) apiWriter(c *gin.Context, action authz.Action) *apiCaller {
	cur := apiCurrent(c)
	if cur == nil {
		a.apiForbidden(c, msgNoCollectionAccess)
		return nil
	}
	if !authz.Can(cur.User.Role, action) {
		a.apiPostForbidden(c, action, nil)
		return nil
	}
	return cur
}

// apiUpdatePost is PATCH /items/posts/:id: only the author (or an admin),
// checked by authz and again in the UPDATE's WHERE clause.
func (a *App) apiUpdatePost(c *gin.Context) {
	if !a.apiPostsOnly(c) {
		return
	}
	cur := a.apiWriter(c, authz.UpdatePost)
	if cur == nil {
		return
	}
	id, ok := a.apiPostID(c)
	if !ok {
		return
	}
	proj, ok := a.apiPostFields(c)
	if !ok {
		return
	}
	body, ok := a.apiObjectBody(c)
	if !ok {
		return
	}
	if a.applyUpdates(c, cur, []int64{id}, body) {
		a.apiWritten(c, []int64{id}, proj, true)
	}
}

// applyUpdates checks every post first (404, 403, validation), then
// updates them one by one; each UPDATE re-checks ownership.
func (a *App) applyUpdates(c *gin.Context, cur *apiCaller, ids []int64, body map[string]any) bool {
	inputs := make([]store.PostInput, len(ids))
	for i, id := range ids {
		p, ok := a.editablePost(c, cur, id, authz.UpdatePost, body)
		if !ok {
			return false
		}
		in, errs := a.apiPostInput(body, &p)
		if errs != nil {
			a.apiErrors(c, http.StatusBadRequest, errs...)
			return false
		}
		inputs[i] = in
	}
	anyOwner := authz.AnyOwner(cur.User.Role, authz.UpdatePost)
	for i, id := range ids {
		_, err := a.Store.UpdatePost(c.Request.Context(), id, cur.User.ID, anyOwner, inputs[i], a.Now().UTC())
		switch {
		case errors.Is(err, store.ErrNotFound):
			a.apiPostNotFound(c, id)
			return false
		case errors.Is(err, store.ErrForbidden):
			a.apiPostForbidden(c, authz.UpdatePost, body)
			return false
		case err != nil:
			a.apiServerError(c, err)
			return false
		}
	}
	return true
}

// apiDeletePost is DELETE /items/posts/:id: 204, with the ownership rule
// inside the DELETE itself.
func (a *App) apiDeletePost(c *gin.Context) {
	if !a.apiPostsOnly(c) {
		return
	}
	cur := a.apiWriter(c, authz.DeletePost)
	if cur == nil {
		return
	}
	id, ok := a.apiPostID(c)
	if !ok {
		return
	}
	if a.applyDeletes(c, cur, []int64{id}) {
		c.Status(http.StatusNoContent)
	}
}

// applyDeletes checks every post first (404, 403), then deletes them one
// by one: one's own post with the owner rule inside the DELETE, anyone
// else's (only an admin gets that far) through the audited admin delete,
// as the pages do.
func (a *App) applyDeletes(c *gin.Context, cur *apiCaller, ids []int64) bool {
	posts := make([]store.Post, len(ids))
	for i, id := range ids {
		p, ok := a.editablePost(c, cur, id, authz.DeletePost, nil)
		if !ok {
			return false
		}
		posts[i] = p
	}
	ctx := c.Request.Context()
	for _, p := range posts {
		var err error
		if p.UserCreated == cur.User.ID {
			err = a.Store.DeletePost(ctx, p.ID, cur.User.ID, authz.AnyOwner(cur.User.Role, authz.DeletePost))
		} else {
			_, err = a.Store.AdminDeletePost(ctx, cur.User.ID, p.ID, a.Now().UTC())
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			a.apiPostNotFound(c, p.ID)
			return false
		case errors.Is(err, store.ErrForbidden):
			a.apiForbidden(c, msgNoDelete)
			return false
		case err != nil:
			a.apiServerError(c, err)
			return false
		}
	}
	return true
}

// batchKeys reads the "keys" of a batch request: distinct post ids.
func batchKeys(v any) ([]int64, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, errors.New(`"keys" must be a non-empty array of ids`)
	}
	if len(list) > apiMaxBatch {
		return nil, fmt.Errorf("at most %d keys per request", apiMaxBatch)
	}
	seen := map[int64]bool{}
	var out []int64
	for _, k := range list {
		var s string
		switch x := k.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = x
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, errors.New(`"keys" must hold post ids`)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// apiUpdatePosts is the batch PATCH /items/posts {"keys":[...],"data":{...}}.
// All posts are checked before any is changed; the writes then run one by
// one (each its own transaction).
func (a *App) apiUpdatePosts(c *gin.Context) {
	if !a.apiPostsOnly(c) {
		return
	}
	cur := a.apiWriter(c, authz.UpdatePost)
	if cur == nil {
		return
	}
	proj, ok := a.apiPostFields(c)
	if !ok {
		return
	}
	body, ok := a.apiObjectBody(c)
	if !ok {
		return
	}
	ids, err := batchKeys(body["keys"])
	data, isObj := body["data"].(map[string]any)
	switch {
	case body["query"] != nil:
		err = errors.New("updating by query is not supported; send keys")
	case err == nil && !isObj:
		err = errors.New(`"data" must be an object`)
	}
	if err != nil {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. "+err.Error()+".")
		return
	}
	if a.applyUpdates(c, cur, ids, data) {
		a.apiWritten(c, ids, proj, false)
	}
}

// apiDeletePosts is the batch DELETE /items/posts with [ids] or
// {"keys":[ids]}: all checked first, then deleted; 204.
func (a *App) apiDeletePosts(c *gin.Context) {
	if !a.apiPostsOnly(c) {
		return
	}
	cur := a.apiWriter(c, authz.DeletePost)
	if cur == nil {
		return
	}
	v, ok := a.apiBody(c)
	if !ok {
		return
	}
	keys := v
	if m, isObj := v.(map[string]any); isObj {
		keys = m["keys"]
		if m["query"] != nil {
			a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. Deleting by query is not supported; send keys.")
			return
		}
	}
	ids, err := batchKeys(keys)
	if err != nil {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. "+err.Error()+".")
		return
	}
	if a.applyDeletes(c, cur, ids) {
		c.Status(http.StatusNoContent)
	}
}
