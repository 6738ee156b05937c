package authz

import (
	"testing"

	"quire/store"
)

func TestPolicy(t *testing.T) {
	tests := []struct {
		name         string
		role, userID string
		action       Action
		owner        string
		want         bool
	}{
		{"guest reads", Guest, "", ReadPosts, "u1", true},
		{"guest cannot create", Guest, "", CreatePost, "", false},
		{"guest cannot update", Guest, "", UpdatePost, "u1", false},
		{"guest with empty owner cannot update", Guest, "", UpdatePost, "", false},
		{"author creates", store.RoleAuthor, "u1", CreatePost, "", true},
		{"author updates own", store.RoleAuthor, "u1", UpdatePost, "u1", true},
		{"author cannot update other's", store.RoleAuthor, "u1", UpdatePost, "u2", false},
		{"author deletes own", store.RoleAuthor, "u1", DeletePost, "u1", true},
		{"author cannot delete other's", store.RoleAuthor, "u1", DeletePost, "u2", false},
		{"author cannot manage users", store.RoleAuthor, "u1", ManageUsers, "", false},
		{"admin updates any", store.RoleAdmin, "a", UpdatePost, "u2", true},
		{"admin deletes any", store.RoleAdmin, "a", DeletePost, "u2", true},
		{"admin manages users", store.RoleAdmin, "a", ManageUsers, "", true},
		{"unknown role gets nothing", "root", "x", ReadPosts, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanOn(tt.role, tt.userID, tt.action, tt.owner); got != tt.want {
				t.Fatalf("CanOn(%q,%q,%q,%q) = %v, want %v", tt.role, tt.userID, tt.action, tt.owner, got, tt.want)
			}
		})
	}
	if AnyOwner(store.RoleAuthor, UpdatePost) {
		t.Fatal("authors must be limited to their own posts")
	}
	if !AnyOwner(store.RoleAdmin, DeletePost) {
		t.Fatal("admins may delete any post")
	}
}
