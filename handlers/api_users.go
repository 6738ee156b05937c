package handlers

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"quire/authz"
	"quire/password"
	"quire/store"
)

// registerFields are the only members POST /users accepts, in the order
// their problems are reported. "role" is accepted too, but only with the
// author role's id (it grants nothing the preset does not).
func registerFields() []string { return []string{"first_name", "last_name", "email", "password"} }

// apiForbiddenUserField is Directus's answer to a field the public may not
// set on directus_users.
func (a *App) apiForbiddenUserField(c *gin.Context, field string) {
	a.apiForbidden(c, fmt.Sprintf(`You don't have permission to access field %q in collection "directus_users" or it does not exist.`, field))
}

// failedValidation is one FAILED_VALIDATION entry naming the field.
func failedValidation(field, typ, problem string) apiErr {
	return newAPIErr(codeFailedValidation, fmt.Sprintf("Validation failed for field %q. %s", field, problem),
		"field", field, "type", typ)
}

// apiRegister is POST /users: public registration with the same rules as
// the register page (names, email, password policy, per-IP limit), always
// as an author. Unlike Directus, missing or empty fields are refused with
// 400 FAILED_VALIDATION, and one user is created per request.
func (a *App) apiRegister(c *gin.Context) {
	v, ok := a.apiBody(c)
	if !ok {
		return
	}
	body, isObj := v.(map[string]any)
	if !isObj {
		msg := `Invalid payload. "value" must be of type object.`
		if _, isList := v.([]any); isList {
			msg = "Invalid payload. Create one user per request."
		}
		a.apiFail(c, http.StatusBadRequest, codeInvalidPayload, msg)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(body)) {
		switch {
		case k == "role":
			if r, _ := body[k].(string); r != AuthorRoleID && r != store.RoleAuthor {
				a.apiForbiddenUserField(c, k)
				return
			}
		case !slices.Contains(registerFields(), k):
			a.apiForbiddenUserField(c, k)
			return
		}
	}
	vals := map[string]string{}
	var errs []apiErr
	for _, f := range registerFields() {
		s, present, err := bodyString(body, f)
		if err != nil {
			errs = append(errs, failedValidation(f, "string", "Value has to be a string."))
			continue
		}
		if f == "password" {
			vals[f] = s
			switch {
			case !present || s == "":
				errs = append(errs, failedValidation(f, "nempty", "Value can't be empty."))
			default:
				if err := password.Validate(s, a.Common); err != nil {
					errs = append(errs, failedValidation(f, "password", err.Error()))
				}
			}
			continue
		}
		clean, problem := cleanText(s, false)
		switch {
		case problem != "":
			errs = append(errs, failedValidation(f, "text", "Value "+problem+"."))
		case clean == "":
			errs = append(errs, failedValidation(f, "nempty", "Value can't be empty."))
		case f == "email" && !validEmail(normalizeEmail(clean)):
			errs = append(errs, failedValidation(f, "email", "Value has to be a valid email address."))
		case f != "email" && utf8.RuneCountInString(clean) > 100:
			errs = append(errs, failedValidation(f, "max", "Value must be at most 100 characters."))
		}
		vals[f] = clean
	}
	if len(errs) > 0 {
		a.apiErrors(c, http.StatusBadRequest, errs...)
		return
	}
	if ok, retry, err := a.allowRegistration(c); err != nil {
		a.apiServerError(c, err)
		return
	} else if !ok {
		secs := int(retry.Seconds() + 0.999)
		c.Header("Retry-After", strconv.Itoa(secs))
		a.apiFail(c, http.StatusTooManyRequests, codeRequestsExceeded, "Too many requests, retry after "+strconv.Itoa(secs)+"s.")
		return
	}
	_, err := a.createUser(c, vals["first_name"], vals["last_name"], normalizeEmail(vals["email"]), vals["password"], store.RoleAuthor)
	switch {
	case errors.Is(err, store.ErrDuplicateEmail):
		a.apiFail(c, http.StatusBadRequest, codeRecordNotUnique,
			`Value for field "email" in collection "directus_users" has to be unique.`,
			"collection", "directus_users", "field", "email")
		return
	case err != nil:
		a.apiServerError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func isRegisterField(k string) bool {
	for _, f := range registerFields() {
		if f == k {
			return true
		}
	}
	return false
}

// userFieldNames are the fields of directus_users a user may read about
// themself, in output order. There is no password, hash or token here.
func userFieldNames() []string {
	return []string{"id", "first_name", "last_name", "email", "avatar", "status", "role"}
}

// authorFieldNames are the public fields of any author (user_created.*).
func authorFieldNames() []string { return []string{"id", "first_name", "last_name", "avatar"} }

// avatarPath is the URL of a user's avatar image, or nil when they have
// none (Directus gives a file id; Quire has no file library).
func avatarPath(id string, version int64) any {
	if version == 0 {
		return nil
	}
	return "/avatars/" + id + "/256?v=" + strconv.FormatInt(version, 10)
}

// apiMe is GET /users/me: the caller's own account, never secrets.
func (a *App) apiMe(c *gin.Context) {
	cur := apiCurrent(c)
	if cur == nil || !authz.Can(cur.User.Role, authz.ReadOwnUser) {
		a.apiFail(c, http.StatusUnauthorized, codeInvalidCredentials, msgInvalidCredentials)
		return
	}
	names, ok := a.apiUserFields(c)
	if !ok {
		return
	}
	u := cur.User
	out := apiObject{}
	for _, n := range names {
		var v any
		switch n {
		case "id":
			v = u.ID
		case "first_name":
			v = u.FirstName
		case "last_name":
			v = u.LastName
		case "email":
			v = u.Email
		case "avatar":
			v = avatarPath(u.ID, u.AvatarVersion)
		case "status":
			v = u.Status
		case "role":
			v = roleID(u.Role)
		}
		out = append(out, apiField{n, v})
	}
	a.apiData(c, out, nil)
}

// apiUserFields reads ?fields= for /users/me; an unknown or secret field is
// Directus's 403.
func (a *App) apiUserFields(c *gin.Context) ([]string, bool) {
	list := queryList(c, "fields")
	if len(list) == 0 {
		return userFieldNames(), true
	}
	var out []string
	for _, f := range list {
		if f == "*" {
			for _, n := range userFieldNames() {
				out = appendUnique(out, n)
			}
			continue
		}
		if !slices.Contains(userFieldNames(), f) {
			a.apiForbidden(c, fmt.Sprintf(`You don't have permission to access field %q in collection "directus_users" or it does not exist. Queried in root.`, f))
			return nil, false
		}
		out = appendUnique(out, f)
	}
	return out, true
}

// apiRoleObject describes a role; both are public so that clients can be
// configured with the author role id.
func apiRoleObject(role string) apiObject {
	desc := "Writes posts; may change and delete only their own."
	if role == store.RoleAdmin {
		desc = "Manages users; may change and delete any post."
	}
	return apiObject{{"id", roleID(role)}, {"name", role}, {"description", desc},
		{"admin_access", role == store.RoleAdmin}, {"app_access", true}}
}

// apiRoles is GET /roles: the two fixed roles. ?filter[name][_eq]=author
// (or the JSON form) narrows the list by name or id.
func (a *App) apiRoles(c *gin.Context) {
	f, ok := a.apiFilterParam(c)
	if !ok {
		return
	}
	out := []apiObject{}
	for _, r := range []string{store.RoleAuthor, store.RoleAdmin} {
		match, err := roleMatches(f, r)
		if err != nil {
			a.apiFail(c, http.StatusBadRequest, codeInvalidQuery, "Invalid query. "+err.Error()+".")
			return
		}
		if match {
			out = append(out, apiRoleObject(r))
		}
	}
	a.apiData(c, out, nil)
}

// roleMatches evaluates the small filter /roles supports: _eq/_neq/_in on
// id or name, ANDed.
func roleMatches(f map[string]any, role string) (bool, error) {
	fields := map[string]string{"id": roleID(role), "name": role}
	for field, cond := range f {
		val, known := fields[field]
		ops, isObj := cond.(map[string]any)
		if !known || !isObj {
			return false, fmt.Errorf("roles can be filtered by id or name only")
		}
		for op, arg := range ops {
			var ok bool
			switch op {
			case "_eq":
				ok = arg == val
			case "_neq":
				ok = arg != val
			case "_in":
				list, _ := arg.([]any)
				if s, isStr := arg.(string); isStr {
					for _, p := range strings.Split(s, ",") {
						list = append(list, p)
					}
				}
				for _, x := range list {
					ok = ok || x == val
				}
			default:
				return false, fmt.Errorf("%q is not supported on roles", op)
			}
			if !ok {
				return false, nil
			}
		}
	}
	return true, nil
}

// apiRole is GET /roles/:id.
func (a *App) apiRole(c *gin.Context) {
	for _, r := range []string{store.RoleAuthor, store.RoleAdmin} {
		if c.Param("id") == roleID(r) {
			a.apiData(c, apiRoleObject(r), nil)
			return
		}
	}
	a.apiFail(c, http.StatusNotFound, codeNotFound, fmt.Sprintf("Item %q not found in collection \"directus_roles\".", c.Param("id")))
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
