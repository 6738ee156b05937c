package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"quire/store"
)

// apiField is one member of an apiObject.
type apiField struct {
	Key   string
	Value any
}

// apiObject is a JSON object that keeps its members in the order they were
// added, so API answers list fields in schema order as Directus does.
type apiObject []apiField

// MarshalJSON writes the members in order.
func (o apiObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := apiEncode(&b, o); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// apiMarshal is json.Marshal without escaping <, > and &: the answers are
// JSON for programs, never HTML, and Directus sends them unescaped too.
func apiMarshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := apiEncode(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// apiEncode appends v to b. Objects and lists are written here, directly:
// handed to encoding/json as Marshalers, every nested object's output would
// be re-scanned and compacted once per level it is nested in, which made
// encoding a page of posts (with their Markdown) most of the request's cost.
// Everything else - strings, numbers, structs - goes to encoding/json.
func apiEncode(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case apiObject:
		b.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := apiEncode(b, f.Key); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := apiEncode(b, f.Value); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case []apiObject:
		return apiEncodeList(b, len(v), func(i int) any { return v[i] })
	case []any:
		return apiEncodeList(b, len(v), func(i int) any { return v[i] })
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode ends with a newline
	return nil
}

// apiEncodeList appends a JSON array of n elements.
func apiEncodeList(b *bytes.Buffer, n int, elem func(int) any) error {
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := apiEncode(b, elem(i)); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

// Directus error codes used by the API.
const (
	codeInvalidCredentials = "INVALID_CREDENTIALS"
	codeInvalidToken       = "INVALID_TOKEN"
	codeTokenExpired       = "TOKEN_EXPIRED"
	codeInvalidPayload     = "INVALID_PAYLOAD"
	codeInvalidQuery       = "INVALID_QUERY"
	codeForbidden          = "FORBIDDEN"
	codeFailedValidation   = "FAILED_VALIDATION"
	codeRecordNotUnique    = "RECORD_NOT_UNIQUE"
	codeUserSuspended      = "USER_SUSPENDED"
	codeRequestsExceeded   = "REQUESTS_EXCEEDED"
	codeNotFound           = "NOT_FOUND"
	codeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	codeContentTooLarge    = "CONTENT_TOO_LARGE"
	codeUnavailable        = "SERVICE_UNAVAILABLE"
	codeInternal           = "INTERNAL_SERVER_ERROR"
)

const (
	msgInvalidCredentials = "Invalid user credentials."
	msgNoRefreshToken     = "Invalid payload. The refresh token is required in either the payload or cookie."
)

// apiErr is one entry of Directus's {"errors":[...]} answer. Extensions
// always holds "code"; some errors add reason, field, collection or type.
type apiErr struct {
	Message    string    `json:"message"`
	Extensions apiObject `json:"extensions"`
}

// newAPIErr builds an entry; ext are key/value pairs placed before "code",
// as Directus orders them.
func newAPIErr(code, msg string, ext ...any) apiErr {
	var o apiObject
	for i := 0; i+1 < len(ext); i += 2 {
		k, _ := ext[i].(string)
		o = append(o, apiField{k, ext[i+1]})
	}
	return apiErr{Message: msg, Extensions: append(o, apiField{"code", code})}
}

// apiFail answers with one error and stops the handler chain.
func (a *App) apiFail(c *gin.Context, status int, code, msg string, ext ...any) {
	a.apiErrors(c, status, newAPIErr(code, msg, ext...))
}

// apiErrors answers with several errors (e.g. one per invalid field).
func (a *App) apiErrors(c *gin.Context, status int, errs ...apiErr) {
	a.apiJSON(c, status, struct {
		Errors []apiErr `json:"errors"`
	}{errs})
	c.Abort()
}

// apiForbidden is Directus's FORBIDDEN, whose reason repeats the message.
func (a *App) apiForbidden(c *gin.Context, msg string) {
	a.apiFail(c, http.StatusForbidden, codeForbidden, msg, "reason", msg)
}

// apiJSON writes v as the whole response. Marshalling first means an
// encoding error never sends half a body.
func (a *App) apiJSON(c *gin.Context, status int, v any) {
	body, err := apiMarshal(v)
	if err != nil {
		a.Log.Error("api: encode response", "err", err, "request_id", requestID(c))
		status = http.StatusInternalServerError
		body = []byte(`{"errors":[{"message":"An unexpected error occurred.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	c.Data(status, "application/json; charset=utf-8", body)
}

// apiData answers 200 {"data": v}, plus "meta" when not nil.
func (a *App) apiData(c *gin.Context, v any, meta apiObject) {
	out := apiObject{}
	if meta != nil {
		out = append(out, apiField{"meta", meta})
	}
	a.apiJSON(c, http.StatusOK, append(out, apiField{"data", v}))
}

// apiServerError is the API's fail: the database being unreachable is a
// 503 the client may retry, anything else a logged 500 with no details.
func (a *App) apiServerError(c *gin.Context, err error) {
	if a.clientGone(c, err) {
		return
	}
	if store.IsUnavailable(err) {
		a.Log.Error("database unavailable", "err", err, "request_id", requestID(c))
		a.apiFail(c, http.StatusServiceUnavailable, codeUnavailable, "Service is temporarily unavailable. Please try again.")
		return
	}
	a.Log.Error("api request failed", "err", err, "request_id", requestID(c), "path", c.Request.URL.Path)
	a.apiFail(c, http.StatusInternalServerError, codeInternal, "An unexpected error occurred.", "request_id", requestID(c))
}

// apiBody decodes the JSON request body (numbers as json.Number) into a
// generic value; an empty body is nil. Bodies that are not JSON are refused
// rather than read as empty: a form post must not create an empty user, and
// refusing text/plain keeps cross-site "simple" requests out as well.
func (a *App) apiBody(c *gin.Context) (any, bool) {
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			a.apiTooLarge(c)
			return nil, false
		}
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. The body could not be read.")
		return nil, false
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, true
	}
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. The body must be JSON (Content-Type: application/json).")
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. "+jsonProblem(err)+".")
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, "Invalid payload. Unexpected data after the JSON value.")
		return nil, false
	}
	return v, true
}

// apiObjectBody is apiBody for endpoints that take one JSON object; an
// empty body is an empty object.
func (a *App) apiObjectBody(c *gin.Context) (map[string]any, bool) {
	v, ok := a.apiBody(c)
	if !ok {
		return nil, false
	}
	if v == nil {
		return map[string]any{}, true
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, `Invalid payload. "value" must be of type object.`)
		return nil, false
	}
	return m, true
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "Unexpected end of JSON input"
	case errors.As(err, &se):
		return "Malformed JSON: " + se.Error()
	}
	return "Malformed JSON"
}

func (a *App) apiTooLarge(c *gin.Context) {
	a.apiFail(c, http.StatusRequestEntityTooLarge, codeContentTooLarge, "Request body is too large.")
}

// bodyString reads an optional string member of a JSON object: absent and
// null are "", another type is an error.
func bodyString(m map[string]any, key string) (string, bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", ok, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, errors.New(`"` + key + `" must be a string`)
	}
	return s, true, nil
}
