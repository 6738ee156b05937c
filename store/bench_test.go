package store_test

import (
	"context"
	"testing"
	"time"

	"quire/bench/seed"
	"quire/content"
	"quire/password"
	"quire/store"
	"quire/store/storetest"
)

// BenchmarkListPosts measures the query behind /blog on 5,000 seeded posts
// of realistic size: the first page, a page deep in the list, one author's
// page, and one post with its body.
func BenchmarkListPosts(b *testing.B) {
	ctx := context.Background()
	st := storetest.Open(b, store.DialectSQLite)
	cheap := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	res, err := seed.Seed(ctx, st, content.New(), cheap, seed.Options{Users: 10, Posts: 5000, Bodies: 200})
	if err != nil {
		b.Fatal(err)
	}
	mid := len(res.PostIDs) / 2
	deep := &store.Cursor{Date: time.UnixMilli(res.PostDates[mid]).UTC(), ID: res.PostIDs[mid]}
	for _, bc := range []struct {
		name string
		q    store.ListPostsQuery
	}{
		{"first", store.ListPostsQuery{Limit: 21, Summary: true}},
		{"deep", store.ListPostsQuery{Limit: 21, Summary: true, Before: deep}},
		{"author", store.ListPostsQuery{Limit: 21, Summary: true, AuthorID: res.Users[3].ID}},
		{"first-with-bodies", store.ListPostsQuery{Limit: 21}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				posts, err := st.ListPosts(ctx, bc.q)
				if err != nil || len(posts) != 21 {
					b.Fatalf("ListPosts: %d posts, %v", len(posts), err)
				}
			}
		})
	}
	b.Run("by-id", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.PostByID(ctx, res.PostIDs[mid]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
