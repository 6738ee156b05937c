package seed

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"quire/content"
	"quire/password"
	"quire/store"
	"quire/store/storetest"
)

func TestSeed(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.DialectSQLite)
	h := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	res, err := Seed(ctx, st, content.New(), h, Options{Users: 3, Posts: 1200, Bodies: 7, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Users) != 3 || len(res.PostIDs) != 1200 || len(res.PostDates) != 1200 || len(res.PostOwners) != 1200 {
		t.Fatalf("result sizes: %d users, %d/%d/%d posts", len(res.Users), len(res.PostIDs), len(res.PostDates), len(res.PostOwners))
	}
	for i := 1; i < len(res.PostIDs); i++ {
		if res.PostIDs[i] <= res.PostIDs[i-1] || res.PostDates[i] <= res.PostDates[i-1] {
			t.Fatalf("post %d: ids or dates not increasing", i)
		}
	}
	// Every user signs in with the one password.
	for _, u := range res.Users {
		got, err := st.UserByEmail(ctx, u.Email)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, err := h.Verify(ctx, res.Password, got.PasswordHash); !ok || err != nil {
			t.Errorf("%s: password does not verify (%v)", u.Email, err)
		}
	}
	// The newest page is what the seed says, with real rendered bodies.
	page, err := st.ListPosts(ctx, store.ListPostsQuery{Limit: 20})
	if err != nil || len(page) != 20 {
		t.Fatalf("ListPosts: %d, %v", len(page), err)
	}
	for i, p := range page {
		j := len(res.PostIDs) - 1 - i
		switch {
		case p.ID != res.PostIDs[j] || p.DateCreated.UnixMilli() != res.PostDates[j]:
			t.Errorf("page[%d] = post %d at %d, want %d at %d", i, p.ID, p.DateCreated.UnixMilli(), res.PostIDs[j], res.PostDates[j])
		case p.UserCreated != res.Users[res.PostOwners[j]].ID:
			t.Errorf("post %d owned by %s, want user %d", p.ID, p.UserCreated, res.PostOwners[j])
		case !strings.Contains(p.ContentHTML, "<h2>") || !strings.Contains(p.ContentHTML, "<p>"):
			t.Errorf("post %d: body not rendered: %.80q", p.ID, p.ContentHTML)
		case p.Excerpt == "" || utf8.RuneCountInString(p.Excerpt) > excerptLength+1:
			t.Errorf("post %d: excerpt %q", p.ID, p.Excerpt)
		}
	}
	owned := res.OwnedBy(1, 5)
	if len(owned) != 5 {
		t.Fatalf("OwnedBy = %v", owned)
	}
	for _, id := range owned {
		p, err := st.PostByID(ctx, id)
		if err != nil || p.UserCreated != res.Users[1].ID {
			t.Errorf("OwnedBy gave post %d of %q (%v)", id, p.UserCreated, err)
		}
	}
}

func TestMarkdown(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{{"small", 500}, {"typical", 3000}, {"large", 20_000}}
	rend := content.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Markdown(rand.New(rand.NewPCG(1, 2)), tt.size)
			b := Markdown(rand.New(rand.NewPCG(1, 2)), tt.size)
			if a != b {
				t.Fatal("same seed, different Markdown")
			}
			if len(a) < tt.size || len(a) > tt.size+4000 {
				t.Errorf("asked for %d bytes, got %d", tt.size, len(a))
			}
			if _, err := rend.Render(a); err != nil {
				t.Errorf("Render: %v", err)
			}
		})
	}
}
