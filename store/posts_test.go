package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPostsCreateGet(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "writer@example.com", RoleAuthor)
		in := PostInput{Title: "Hello", Content: "# Hi", ContentHTML: "<h1>Hi</h1>", Excerpt: "Hi"}
		p, err := s.CreatePost(ctx, u.ID, in, at(0))
		if err != nil {
			t.Fatal(err)
		}
		want := Post{ID: p.ID, Title: "Hello", Content: "# Hi", ContentHTML: "<h1>Hi</h1>", Excerpt: "Hi",
			UserCreated: u.ID, DateCreated: at(0),
			Author: Author{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName}}
		if p.ID <= 0 || p != want {
			t.Fatalf("CreatePost = %+v, want %+v", p, want)
		}
		got, err := s.PostByID(ctx, p.ID)
		if err != nil || got != want {
			t.Fatalf("PostByID = %+v, %v; want %+v", got, err, want)
		}
		if _, err := s.PostByID(ctx, p.ID+1000); !errors.Is(err, ErrNotFound) {
			t.Fatalf("PostByID(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := s.CreatePost(ctx, "no-such-user", in, at(0)); err == nil {
			t.Fatal("CreatePost by an unknown user succeeded (foreign key not enforced)")
		}
		p2, err := s.CreatePost(ctx, u.ID, in, at(time.Second))
		if err != nil || p2.ID <= p.ID {
			t.Fatalf("second post id %d (err %v), want > %d", p2.ID, err, p.ID)
		}
	})
}

func TestPostsUpdateDelete(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		owner := mustUser(t, s, "owner@example.com", RoleAuthor)
		other := mustUser(t, s, "other@example.com", RoleAuthor)
		admin := mustUser(t, s, "admin@example.com", RoleAdmin)
		orig := PostInput{Title: "orig", Content: "orig", ContentHTML: "<p>orig</p>", Excerpt: "orig"}
		edit := PostInput{Title: "edited", Content: "edited", ContentHTML: "<p>edited</p>", Excerpt: "edited"}

		tests := []struct {
			name     string
			actor    string
			anyOwner bool
			missing  bool
			wantErr  error
		}{
			{"non-owner", other.ID, false, false, ErrForbidden},
			{"unknown post", owner.ID, false, true, ErrNotFound},
			{"unknown post any owner", admin.ID, true, true, ErrNotFound},
			{"owner", owner.ID, false, false, nil},
			{"any owner", admin.ID, true, false, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := s.CreatePost(ctx, owner.ID, orig, at(0))
				if err != nil {
					t.Fatal(err)
				}
				id := p.ID
				if tt.missing {
					id += 1_000_000
				}
				got, err := s.UpdatePost(ctx, id, tt.actor, tt.anyOwner, edit, at(time.Hour))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("UpdatePost err = %v, want %v", err, tt.wantErr)
				}
				after, err := s.PostByID(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				if tt.wantErr != nil {
					if after != p {
						t.Fatalf("refused update changed the row: %+v, was %+v", after, p)
					}
				} else {
					want := p
					want.Title, want.Content, want.ContentHTML, want.Excerpt = edit.Title, edit.Content, edit.ContentHTML, edit.Excerpt
					want.UserUpdated, want.DateUpdated = tt.actor, at(time.Hour)
					if got != want || after != want {
						t.Fatalf("after update: returned %+v, stored %+v, want %+v", got, after, want)
					}
				}

				err = s.DeletePost(ctx, id, tt.actor, tt.anyOwner)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DeletePost err = %v, want %v", err, tt.wantErr)
				}
				_, err = s.PostByID(ctx, p.ID)
				if deleted := errors.Is(err, ErrNotFound); deleted != (tt.wantErr == nil) {
					t.Fatalf("after DeletePost: PostByID err = %v (want deleted=%v)", err, tt.wantErr == nil)
				}
			})
		}
	})
}

// TestListPostsKeyset pages through posts sharing timestamps: every post
// appears exactly once, newest first, ties broken by id.
func TestListPostsKeyset(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		a := mustUser(t, s, "a@example.com", RoleAuthor)
		b := mustUser(t, s, "b@example.com", RoleAuthor)
		const total = 45
		byAuthor := map[string]int{}
		for i := range total {
			author := a
			if i%3 == 0 {
				author = b
			}
			// Only five distinct timestamps, interleaved with insertion
			// order so id order and date order disagree.
			when := at(time.Duration(i%5) * time.Minute)
			if _, err := s.CreatePost(ctx, author.ID, PostInput{Title: fmt.Sprint(i)}, when); err != nil {
				t.Fatal(err)
			}
			byAuthor[author.ID]++
		}

		walk := func(q ListPostsQuery) (all []Post, pages []int) {
			t.Helper()
			for range 10 {
				page, err := s.ListPosts(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, len(page))
				all = append(all, page...)
				if len(page) < q.Limit {
					return all, pages
				}
				last := page[len(page)-1]
				q.Before = &Cursor{Date: last.DateCreated, ID: last.ID}
			}
			t.Fatal("pagination did not end")
			return nil, nil
		}
		tests := []struct {
			name      string
			q         ListPostsQuery
			wantTotal int
			wantPages []int
		}{
			{"all", ListPostsQuery{Limit: 20}, total, []int{20, 20, 5}},
			{"author a", ListPostsQuery{Limit: 20, AuthorID: a.ID}, byAuthor[a.ID], []int{20, 10}},
			{"author b", ListPostsQuery{Limit: 7, AuthorID: b.ID}, byAuthor[b.ID], []int{7, 7, 1}},
		}
		for _, tt := range tests {
			all, pages := walk(tt.q)
			if fmt.Sprint(pages) != fmt.Sprint(tt.wantPages) || len(all) != tt.wantTotal {
				t.Errorf("%s: pages %v (total %d), want %v (total %d)", tt.name, pages, len(all), tt.wantPages, tt.wantTotal)
			}
			seen := map[int64]bool{}
			for i, p := range all {
				if seen[p.ID] {
					t.Errorf("%s: post %d listed twice", tt.name, p.ID)
				}
				seen[p.ID] = true
				if tt.q.AuthorID != "" && (p.UserCreated != tt.q.AuthorID || p.Author.ID != tt.q.AuthorID) {
					t.Errorf("%s: post %d by %s", tt.name, p.ID, p.UserCreated)
				}
				if p.Author.FirstName == "" {
					t.Errorf("%s: post %d has no author joined", tt.name, p.ID)
				}
				if i > 0 {
					prev := all[i-1]
					newer := prev.DateCreated.After(p.DateCreated) ||
						prev.DateCreated.Equal(p.DateCreated) && prev.ID > p.ID
					if !newer {
						t.Errorf("%s: order broken at %d: (%v,%d) then (%v,%d)", tt.name, i,
							prev.DateCreated, prev.ID, p.DateCreated, p.ID)
					}
				}
			}
		}

		limits := []struct{ limit, want int }{{0, 20}, {-1, 20}, {1000, total}, {3, 3}}
		for _, l := range limits {
			page, err := s.ListPosts(ctx, ListPostsQuery{Limit: l.limit})
			if err != nil || len(page) != l.want {
				t.Errorf("Limit %d: %d posts (%v), want %d", l.limit, len(page), err, l.want)
			}
		}
	})
}

func TestListPostsLimitMax(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, "sqlite:"+t.TempDir()+"/m.db")
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "m@example.com", RoleAuthor)
	for i := range 101 {
		if _, err := s.CreatePost(t.Context(), u.ID, PostInput{}, at(time.Duration(i))); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListPosts(t.Context(), ListPostsQuery{Limit: 500})
	if err != nil || len(page) != 100 {
		t.Fatalf("Limit 500 gave %d posts (%v), want the maximum 100", len(page), err)
	}
}

// TestListPostsUsesIndex checks the plan: the page is read in index order
// with no sort step and no full scan, in both dialects.
func TestListPostsUsesIndex(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := mustUser(t, s, "i@example.com", RoleAuthor)
		for i := range 30 {
			if _, err := s.CreatePost(ctx, u.ID, PostInput{}, at(time.Duration(i%4)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		conn, err := s.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := "EXPLAIN QUERY PLAN "
		if s.Dialect() == DialectPostgres {
			// The tables are tiny; tell the planner scans and bitmap
			// heaps are off so it shows whether the index can serve
			// the order by itself.
			for _, set := range []string{"SET enable_seqscan = off", "SET enable_bitmapscan = off"} {
				if _, err := conn.ExecContext(ctx, set); err != nil {
					t.Fatal(err)
				}
			}
			explain = "EXPLAIN "
		}
		cursor := &Cursor{Date: at(2 * time.Second), ID: 10}
		tests := []struct {
			name, index string
			q           ListPostsQuery
		}{
			{"first page", "posts_date_idx", ListPostsQuery{}},
			{"next page", "posts_date_idx", ListPostsQuery{Before: cursor}},
			{"author first page", "posts_author_date_idx", ListPostsQuery{AuthorID: u.ID}},
			{"author next page", "posts_author_date_idx", ListPostsQuery{AuthorID: u.ID, Before: cursor}},
		}
		for _, tt := range tests {
			query, args := listPostsSQL(tt.q)
			rows, err := conn.QueryContext(ctx, explain+s.q(query), args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				cols, _ := rows.Columns()
				vals := make([]any, len(cols))
				for i := range vals {
					vals[i] = new(any)
				}
				if err := rows.Scan(vals...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(*(vals[len(vals)-1].(*any))))
			}
			rows.Close()
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, tt.index) || strings.Contains(text, "TEMP B-TREE") ||
				strings.Contains(text, "Sort") || strings.Contains(text, "Seq Scan on posts") {
				t.Errorf("%s: plan does not walk %s without sorting:\n%s", tt.name, tt.index, text)
			}
		}
	})
}
