package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of a PostQuery. They keep one API request from asking the database
// for unbounded work; the API documents them.
const (
	MaxPostQueryLimit = 1000 // rows per query, limit=-1 included
	maxFilterDepth    = 8    // nesting of _and/_or groups
	maxFilterConds    = 64   // leaf conditions in one filter
	maxFilterList     = 500  // values in one _in/_nin list
	maxSortFields     = 8
)

// PostQuery is a Directus-style query over posts built from untrusted API
// parameters. Every field name is looked up in a fixed whitelist and every
// value becomes a bind parameter, so nothing a client sends is spliced into
// SQL.
type PostQuery struct {
	// Filter is a Directus filter object as decoded from JSON (maps, slices,
	// strings, json.Number or float64, bools, nil), with dynamic variables
	// such as $CURRENT_USER already replaced. nil selects every post.
	Filter map[string]any
	// Search matches a case-insensitive substring of title or content.
	Search string
	// Sort lists fields, "-" first for descending ("-date_created"). Empty
	// means id ascending; id ascending always breaks ties.
	Sort []string
	// Limit is the page size, capped at MaxPostQueryLimit; negative means
	// MaxPostQueryLimit and 0 returns no rows (counts only).
	Limit  int
	Offset int
	// WithUpdater also joins the user who last updated each post.
	WithUpdater bool
	// WithoutContent and WithoutHTML leave the Markdown source or the
	// rendered HTML empty in the rows, for clients that did not ask for
	// them: on a listing these bodies are most of what is read and sent.
	WithoutContent, WithoutHTML bool
	// TotalCount and FilterCount ask for the number of all posts and of the
	// posts matching Filter and Search.
	TotalCount, FilterCount bool
}

// PostRow is one result of QueryPosts: the post with its author, and the
// last updater when asked for and set.
type PostRow struct {
	Post
	Updater *Author
}

// PostQueryResult holds the rows and the counts asked for (-1 otherwise).
type PostQueryResult struct {
	Rows        []PostRow
	TotalCount  int64
	FilterCount int64
}

// QueryErrorKind classifies a refused PostQuery.
type QueryErrorKind int

// Kinds of QueryError.
const (
	UnknownField QueryErrorKind = iota + 1 // not a field, or not a readable one
	BadOperator                            // operator unknown or not valid for the field's type
	BadValue                               // value of the wrong type or shape
	TooComplex                             // beyond the bounds above
)

// QueryError says why a PostQuery was refused. The API maps UnknownField to
// Directus's 403 and the other kinds to 400 INVALID_QUERY.
type QueryError struct {
	Kind       QueryErrorKind
	Collection string // "posts" or "directus_users" (a user_created.* field)
	Field      string
	Type       string // the field's type: integer, string, text, timestamp, uuid
	Op         string
	Msg        string
}

func (e *QueryError) Error() string { return "store: query posts: " + e.Msg }

// fieldType names column types as Directus does in its messages.
type fieldType string

const (
	typeInteger   fieldType = "integer"
	typeString    fieldType = "string"
	typeText      fieldType = "text"
	typeTimestamp fieldType = "timestamp"
	typeUUID      fieldType = "uuid"
)

// queryField is a whitelisted field: its SQL expression and type.
type queryField struct {
	name     string
	col      string
	typ      fieldType
	nullable bool
	updater  bool // needs the users join of the updater (alias uu)
	relation bool // user_created/user_updated: may hold an author sub-filter
}

// postQueryField resolves an API field name ("title",
// "user_created.first_name") to its column. Only public fields exist here:
// a user's email or password hash can be neither filtered nor sorted on.
func postQueryField(name string) (queryField, bool) {
	switch name {
	case "id":
		return queryField{name: name, col: "p.id", typ: typeInteger}, true
	case "title":
		return queryField{name: name, col: "p.title", typ: typeString}, true
	case "content":
		return queryField{name: name, col: "p.content", typ: typeText}, true
	case "date_created":
		return queryField{name: name, col: "p.date_created", typ: typeTimestamp}, true
	case "date_updated":
		return queryField{name: name, col: "p.date_updated", typ: typeTimestamp, nullable: true}, true
	case "user_created", "user_created.id":
		return queryField{name: name, col: "p.user_created", typ: typeUUID, relation: name == "user_created"}, true
	case "user_updated", "user_updated.id":
		return queryField{name: name, col: "p.user_updated", typ: typeUUID, nullable: true, relation: name == "user_updated"}, true
	case "user_created.first_name":
		return queryField{name: name, col: "u.first_name", typ: typeString}, true
	case "user_created.last_name":
		return queryField{name: name, col: "u.last_name", typ: typeString}, true
	case "user_updated.first_name":
		return queryField{name: name, col: "uu.first_name", typ: typeString, nullable: true, updater: true}, true
	case "user_updated.last_name":
		return queryField{name: name, col: "uu.last_name", typ: typeString, nullable: true, updater: true}, true
	}
	return queryField{}, false
}

func unknownField(name string) *QueryError {
	coll, field := "posts", name
	if rel, sub, ok := strings.Cut(name, "."); ok && (rel == "user_created" || rel == "user_updated") {
		coll, field = "directus_users", sub
	}
	return &QueryError{Kind: UnknownField, Collection: coll, Field: field, Msg: fmt.Sprintf("unknown field %q", name)}
}

// operatorAllowed lists Directus's operators per field type.
func operatorAllowed(t fieldType, op string) bool {
	switch op {
	case "_eq", "_neq", "_in", "_nin", "_null", "_nnull":
		return true
	case "_lt", "_lte", "_gt", "_gte":
		return t != typeUUID
	case "_contains", "_ncontains", "_icontains":
		return t == typeString || t == typeText
	}
	return false
}

// filterSQL accumulates a WHERE clause with '?' placeholders.
type filterSQL struct {
	dialect string
	args    []any
	conds   int
	updater bool // the clause uses the uu join
}

// group compiles one filter object: every key is ANDed, in sorted order so
// the same filter always yields the same statement.
func (b *filterSQL) group(f map[string]any, depth int) (string, error) {
	if depth > maxFilterDepth {
		return "", &QueryError{Kind: TooComplex, Msg: fmt.Sprintf("filter nested deeper than %d levels", maxFilterDepth)}
	}
	var parts []string
	for _, key := range sortedKeys(f) {
		v := f[key]
		var (
			sqlPart string
			err     error
		)
		switch {
		case key == "_and" || key == "_or":
			sqlPart, err = b.logical(key, v, depth)
		case strings.HasPrefix(key, "_"):
			return "", &QueryError{Kind: BadOperator, Op: key, Msg: fmt.Sprintf("%q is not a filter operator here", key)}
		default:
			sqlPart, err = b.field(key, v, depth)
		}
		if err != nil {
			return "", err
		}
		if sqlPart != "" {
			parts = append(parts, sqlPart)
		}
	}
	return joinConds(parts, " AND "), nil
}

func (b *filterSQL) logical(key string, v any, depth int) (string, error) {
	list, ok := v.([]any)
	if !ok {
		return "", &QueryError{Kind: BadValue, Op: key, Msg: fmt.Sprintf("%s must be an array of filters", key)}
	}
	var parts []string
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return "", &QueryError{Kind: BadValue, Op: key, Msg: fmt.Sprintf("%s must be an array of filters", key)}
		}
		p, err := b.group(m, depth+1)
		if err != nil {
			return "", err
		}
		if p == "" {
			p = "1 = 1"
		}
		parts = append(parts, p)
	}
	if key == "_or" {
		return joinConds(parts, " OR "), nil
	}
	return joinConds(parts, " AND "), nil
}

// field compiles {"title": {"_eq": ...}} and the relational form
// {"user_created": {"first_name": {"_eq": ...}}}.
func (b *filterSQL) field(name string, v any, depth int) (string, error) {
	qf, ok := postQueryField(name)
	if !ok || strings.Contains(name, ".") {
		return "", unknownField(name)
	}
	ops, ok := v.(map[string]any)
	if !ok {
		return "", &QueryError{Kind: BadValue, Field: name, Type: string(qf.typ),
			Msg: fmt.Sprintf("the filter of field %q must be an object of operators", name)}
	}
	var parts []string
	for _, op := range sortedKeys(ops) {
		var (
			p   string
			err error
		)
		if strings.HasPrefix(op, "_") {
			p, err = b.leaf(qf, op, ops[op])
		} else {
			sub, ok := postQueryField(name + "." + op)
			if !qf.relation || !ok {
				return "", unknownField(name + "." + op)
			}
			p, err = b.field2(sub, ops[op], depth)
		}
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	return joinConds(parts, " AND "), nil
}

// field2 compiles the operators of a relational sub-field.
func (b *filterSQL) field2(qf queryField, v any, depth int) (string, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		return "", &QueryError{Kind: BadValue, Field: qf.name, Type: string(qf.typ),
			Msg: fmt.Sprintf("the filter of field %q must be an object of operators", qf.name)}
	}
	var parts []string
	for _, op := range sortedKeys(ops) {
		if !strings.HasPrefix(op, "_") {
			return "", unknownField(qf.name + "." + op)
		}
		p, err := b.leaf(qf, op, ops[op])
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	return joinConds(parts, " AND "), nil
}

// leaf compiles one operator on one field.
func (b *filterSQL) leaf(qf queryField, op string, v any) (string, error) {
	if !operatorAllowed(qf.typ, op) {
		return "", &QueryError{Kind: BadOperator, Field: qf.name, Type: string(qf.typ), Op: op,
			Msg: fmt.Sprintf("%q field type does not contain the %q filter operator", qf.typ, op)}
	}
	b.conds++
	if b.conds > maxFilterConds {
		return "", &QueryError{Kind: TooComplex, Msg: fmt.Sprintf("filter has more than %d conditions", maxFilterConds)}
	}
	if qf.updater {
		b.updater = true
	}
	col := qf.col
	switch op {
	case "_null", "_nnull":
		isNull, ok := truthy(v)
		if !ok {
			return "", badValue(qf, op, "must be true or false")
		}
		if op == "_nnull" {
			isNull = !isNull
		}
		if isNull {
			return col + " IS NULL", nil
		}
		return col + " IS NOT NULL", nil
	case "_in", "_nin":
		list, err := listValue(qf, op, v)
		if err != nil {
			return "", err
		}
		if len(list) == 0 {
			if op == "_in" {
				return "1 = 0", nil
			}
			return "1 = 1", nil
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(list)), ", ")
		b.args = append(b.args, list...)
		if op == "_in" {
			return col + " IN (" + marks + ")", nil
		}
		return col + " NOT IN (" + marks + ")", nil
	}
	if v == nil {
		switch op {
		case "_eq":
			return col + " IS NULL", nil
		case "_neq":
			return col + " IS NOT NULL", nil
		}
		return "", badValue(qf, op, "needs a value")
	}
	val, err := coerce(qf, op, v)
	if err != nil {
		return "", err
	}
	switch op {
	case "_eq", "_neq", "_lt", "_lte", "_gt", "_gte":
		b.args = append(b.args, val)
		return col + " " + comparison(op) + " ?", nil
	case "_contains", "_ncontains":
		s, _ := val.(string)
		b.args = append(b.args, s)
		fn := "instr(" + col + ", ?)"
		if b.dialect == DialectPostgres {
			fn = "strpos(" + col + ", ?)"
		}
		if op == "_contains" {
			return fn + " > 0", nil
		}
		return fn + " = 0", nil
	default: // _icontains
		s, _ := val.(string)
		b.args = append(b.args, "%"+escapeLike(s)+"%")
		return "lower(" + col + ") LIKE lower(?) ESCAPE '\\'", nil
	}
}

func comparison(op string) string {
	switch op {
	case "_neq":
		return "<>"
	case "_lt":
		return "<"
	case "_lte":
		return "<="
	case "_gt":
		return ">"
	case "_gte":
		return ">="
	}
	return "="
}

func badValue(qf queryField, op, why string) *QueryError {
	return &QueryError{Kind: BadValue, Field: qf.name, Type: string(qf.typ), Op: op,
		Msg: fmt.Sprintf("%s on field %q %s", op, qf.name, why)}
}

// listValue reads an _in/_nin list: a JSON array, or a comma-separated
// string as the bracket syntax (filter[id][_in]=1,2) sends it.
func listValue(qf queryField, op string, v any) ([]any, error) {
	var raw []any
	switch x := v.(type) {
	case []any:
		raw = x
	case string:
		if x != "" {
			for _, p := range strings.Split(x, ",") {
				raw = append(raw, p)
			}
		}
	default:
		raw = []any{v}
	}
	if len(raw) > maxFilterList {
		return nil, &QueryError{Kind: TooComplex, Field: qf.name, Op: op,
			Msg: fmt.Sprintf("%s lists more than %d values", op, maxFilterList)}
	}
	out := make([]any, 0, len(raw))
	for _, r := range raw {
		if r == nil {
			return nil, badValue(qf, op, "cannot list null")
		}
		val, err := coerce(qf, op, r)
		if err != nil {
			return nil, err
		}
		out = append(out, val)
	}
	return out, nil
}

// coerce converts a filter value to the column's stored type: integers for
// ids, unix milliseconds for timestamps, text otherwise.
func coerce(qf queryField, op string, v any) (any, error) {
	switch qf.typ {
	case typeInteger:
		switch x := v.(type) {
		case json.Number:
			if n, err := x.Int64(); err == nil {
				return n, nil
			}
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
			}
		}
		return nil, badValue(qf, op, "needs an integer")
	case typeTimestamp:
		if s, ok := v.(string); ok {
			if t, ok := parseTimestamp(s); ok {
				return t.UnixMilli(), nil
			}
		}
		return nil, badValue(qf, op, "needs a date like 2024-05-01 or 2024-05-01T10:00:00Z")
	default:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return nil, badValue(qf, op, "needs a string")
	}
}

// parseTimestamp accepts the ISO 8601 forms Directus clients send; a time
// without a zone is UTC.
func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// truthy reads the argument of _null/_nnull: a bool or "true"/"false"/"1"/"0".
func truthy(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(x)
		return b, err == nil
	case json.Number:
		b, err := strconv.ParseBool(x.String())
		return b, err == nil
	case float64:
		return x != 0, x == 0 || x == 1
	}
	return false, false
}

func joinConds(parts []string, sep string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return "(" + strings.Join(parts, sep) + ")"
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// orderBy compiles Sort; NULLs sort as the largest value in both dialects.
func orderBy(fields []string) (string, bool, error) {
	if len(fields) > maxSortFields {
		return "", false, &QueryError{Kind: TooComplex, Msg: fmt.Sprintf("more than %d sort fields", maxSortFields)}
	}
	var (
		parts   []string
		byID    bool
		updater bool
	)
	for _, f := range fields {
		dir := "ASC"
		if rest, ok := strings.CutPrefix(f, "-"); ok {
			f, dir = rest, "DESC"
		}
		qf, ok := postQueryField(f)
		if !ok {
			return "", false, unknownField(f)
		}
		if qf.col == "p.id" {
			byID = true
		}
		updater = updater || qf.updater
		if qf.nullable {
			parts = append(parts, "("+qf.col+" IS NULL) "+dir)
		}
		parts = append(parts, qf.col+" "+dir)
	}
	if !byID {
		parts = append(parts, "p.id ASC")
	}
	return strings.Join(parts, ", "), updater, nil
}

// postQuerySQL builds the statements of q: the page of rows and, when asked,
// the filtered count. Placeholders are '?'.
func postQuerySQL(dialect string, q PostQuery) (rowsSQL, countSQL string, args []any, withUpdater bool, err error) {
	b := &filterSQL{dialect: dialect}
	where := ""
	if q.Filter != nil {
		if where, err = b.group(q.Filter, 0); err != nil {
			return "", "", nil, false, err
		}
	}
	if q.Search != "" {
		p := "%" + escapeLike(q.Search) + "%"
		s := `(lower(p.title) LIKE lower(?) ESCAPE '\' OR lower(p.content) LIKE lower(?) ESCAPE '\')`
		b.args = append(b.args, p, p)
		if where == "" {
			where = s
		} else {
			where = where + " AND " + s
		}
	}
	order, sortUpdater, err := orderBy(q.Sort)
	if err != nil {
		return "", "", nil, false, err
	}
	withUpdater = q.WithUpdater || b.updater || sortUpdater
	from := ` FROM posts p JOIN users u ON u.id = p.user_created`
	if withUpdater {
		from += ` LEFT JOIN users uu ON uu.id = p.user_updated`
	}
	if where != "" {
		from += ` WHERE ` + where
	}
	content, html := "p.content", "p.content_html"
	if q.WithoutContent {
		content = "''"
	}
	if q.WithoutHTML {
		html = "''"
	}
	cols := `p.id, p.title, ` + content + `, ` + html + `, p.excerpt,
	p.user_created, p.date_created, p.user_updated, p.date_updated,
	u.id, u.first_name, u.last_name, u.avatar_version`
	if withUpdater {
		cols += `, uu.id, uu.first_name, uu.last_name, uu.avatar_version`
	}
	rowsSQL = `SELECT ` + cols + from + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	countSQL = `SELECT COUNT(*)` + from
	return rowsSQL, countSQL, b.args, withUpdater, nil
}

// bind converts a dynamic statement to the dialect's placeholders. Unlike
// s.q it does not cache: the statements vary with client input, and the
// cache must not grow with it.
func (s *Store) bind(query string) string {
	if s.dialect == DialectPostgres {
		return rebind(query)
	}
	return query
}

// QueryPosts runs a PostQuery. A refused query returns a *QueryError.
func (s *Store) QueryPosts(ctx context.Context, q PostQuery) (PostQueryResult, error) {
	res := PostQueryResult{TotalCount: -1, FilterCount: -1}
	rowsSQL, countSQL, args, withUpdater, err := postQuerySQL(s.dialect, q)
	if err != nil {
		return res, err
	}
	n := q.Limit
	if n < 0 || n > MaxPostQueryLimit {
		n = MaxPostQueryLimit
	}
	offset := max(q.Offset, 0)
	if n > 0 {
		rows, err := s.r.QueryContext(ctx, s.bind(rowsSQL), append(slices.Clip(args), n, offset)...)
		if err != nil {
			return res, fmt.Errorf("store: query posts: %w", err)
		}
		defer rows.Close()
		res.Rows = []PostRow{}
		for rows.Next() {
			r, err := scanPostRow(rows, withUpdater)
			if err != nil {
				return res, fmt.Errorf("store: query posts: %w", err)
			}
			res.Rows = append(res.Rows, r)
		}
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("store: query posts: %w", err)
		}
	}
	if q.TotalCount {
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM posts`).Scan(&res.TotalCount); err != nil {
			return res, fmt.Errorf("store: count posts: %w", err)
		}
	}
	if q.FilterCount {
		if q.Filter == nil && q.Search == "" && q.TotalCount {
			res.FilterCount = res.TotalCount
		} else if err := s.r.QueryRowContext(ctx, s.bind(countSQL), args...).Scan(&res.FilterCount); err != nil {
			return res, fmt.Errorf("store: count posts: %w", err)
		}
	}
	return res, nil
}

// extraScan lets scanPost read the post columns while the updater columns
// that follow them land in extra.
type extraScan struct {
	rows  *sql.Rows
	extra []any
}

func (e extraScan) Scan(dest ...any) error { return e.rows.Scan(append(dest, e.extra...)...) }

func scanPostRow(rows *sql.Rows, withUpdater bool) (PostRow, error) {
	if !withUpdater {
		p, err := scanPost(rows)
		return PostRow{Post: p}, err
	}
	var (
		id, first, last sql.NullString
		avatar          sql.NullInt64
	)
	p, err := scanPost(extraScan{rows: rows, extra: []any{&id, &first, &last, &avatar}})
	r := PostRow{Post: p}
	if err == nil && id.Valid {
		r.Updater = &Author{ID: id.String, FirstName: first.String, LastName: last.String, AvatarVersion: avatar.Int64}
	}
	return r, err
}
