// Package authz is the one place that says who may do what. Handlers and the
// API ask it; the store enforces the resulting scope inside its queries
// (e.g. UPDATE ... WHERE id = ? AND (user_created = ? OR <any>)), so a new
// handler cannot skip the ownership rule.
package authz

import "quire/store"

// Action is something a user may try to do.
type Action string

// Actions.
const (
	ReadPosts   Action = "posts.read"
	CreatePost  Action = "posts.create"
	UpdatePost  Action = "posts.update"
	DeletePost  Action = "posts.delete"
	ManageUsers Action = "users.manage"
	ReadOwnUser Action = "users.read_own"
)

// Scope is how far a permission reaches.
type Scope int

// Scopes, from nothing to everything.
const (
	None Scope = iota
	Own        // only rows whose user_created is the caller (Directus: user_created = $CURRENT_USER)
	Any        // every row
)

// Guest is the role of a visitor who is not signed in.
const Guest = ""

// rules is the whole policy, declared once; it is never modified.
var rules = map[string]map[Action]Scope{
	Guest: {
		ReadPosts: Any,
	},
	store.RoleAuthor: {
		ReadPosts:   Any,
		CreatePost:  Any,
		UpdatePost:  Own,
		DeletePost:  Own,
		ReadOwnUser: Own,
	},
	store.RoleAdmin: {
		ReadPosts:   Any,
		CreatePost:  Any,
		UpdatePost:  Any,
		DeletePost:  Any,
		ReadOwnUser: Own,
		ManageUsers: Any,
	},
}

// ScopeOf returns what a role may do for an action (None for unknown roles).
func ScopeOf(role string, a Action) Scope { return rules[role][a] }

// Can reports whether the role has any permission for the action.
func Can(role string, a Action) bool { return ScopeOf(role, a) != None }

// CanOn reports whether a user with role and id may act on a row owned by
// ownerID. Used to decide what to show (Edit/Delete buttons); the write
// itself is still checked in SQL.
func CanOn(role, userID string, a Action, ownerID string) bool {
	switch ScopeOf(role, a) {
	case Any:
		return true
	case Own:
		return userID != "" && userID == ownerID
	}
	return false
}

// AnyOwner reports whether the store may skip the ownership filter for the
// action (admins).
func AnyOwner(role string, a Action) bool { return ScopeOf(role, a) == Any }
