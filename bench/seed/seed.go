// Package seed fills a Quire database with users and posts of realistic
// Markdown for benchmarks. It writes through package store, and renders every
// body with the real content.Renderer, so content_html and excerpt are what
// the application itself would have stored.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"quire/content"
	"quire/password"
	"quire/store"
)

// excerptLength matches the listing excerpt handlers store (handlers.excerptLength).
const excerptLength = 220

// Options says what to create. Zero fields take the defaults.
type Options struct {
	Users    int           // default 50
	Posts    int           // default 10,000
	Password string        // every user's password (default "bench-password-1234")
	Bodies   int           // distinct bodies, each rendered once (default min(Posts, 2000))
	Span     time.Duration // posts' creation dates spread evenly over this (default 3 years)
	Now      time.Time     // newest post's date (default time.Now())
	Seed     uint64        // PRNG seed: the same seed gives the same site
	// Progress, when set, is called now and then with posts written so far.
	Progress func(done, total int)
}

func (o Options) withDefaults() Options {
	if o.Users <= 0 {
		o.Users = 50
	}
	if o.Posts < 0 {
		o.Posts = 0
	}
	if o.Password == "" {
		o.Password = "bench-password-1234"
	}
	if o.Bodies <= 0 {
		o.Bodies = min(max(o.Posts, 1), 2000)
	}
	if o.Span <= 0 {
		o.Span = 3 * 365 * 24 * time.Hour
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

// User is a seeded account.
type User struct {
	ID    string
	Email string
}

// Result describes what was written, so a benchmark can build requests
// without querying the database.
type Result struct {
	Users    []User
	Password string
	// PostIDs, PostDates (unix ms) and PostOwners (index into Users) are in
	// creation order, oldest first.
	PostIDs    []int64
	PostDates  []int64
	PostOwners []int32
	// BodyBytes is the mean Markdown size of the distinct bodies.
	BodyBytes int
	Render    time.Duration // rendering the distinct bodies (wall clock)
	Insert    time.Duration // writing the posts
}

// OwnedBy returns up to n ids of posts owned by user index u, newest first.
func (r *Result) OwnedBy(u, n int) []int64 {
	var out []int64
	for i := len(r.PostIDs) - 1; i >= 0 && len(out) < n; i-- {
		if int(r.PostOwners[i]) == u {
			out = append(out, r.PostIDs[i])
		}
	}
	return out
}

var firstNames = []string{"Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger", "Radia",
	"Donald", "Sophie", "Alan", "Hedy", "John", "Katherine", "Niklaus", "Adele", "Tim", "Lynn"}
var lastNames = []string{"Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen",
	"Dijkstra", "Perlman", "Knuth", "Wilson", "Turing", "Lamarr", "McCarthy", "Johnson", "Wirth", "Goldberg", "Berners-Lee", "Conway"}

// Email returns the address of seeded user i.
func Email(i int) string { return fmt.Sprintf("user%04d@bench.quire.test", i) }

// Seed writes opt.Users users (all with opt.Password, hashed once with h) and
// opt.Posts posts into st, which must be migrated and should be empty.
func Seed(ctx context.Context, st *store.Store, rend *content.Renderer, h *password.Hasher, opt Options) (*Result, error) {
	opt = opt.withDefaults()
	res := &Result{Password: opt.Password}
	hash, err := h.Hash(ctx, opt.Password)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	r := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	created := opt.Now.Add(-opt.Span - time.Hour)
	for i := 0; i < opt.Users; i++ {
		u := store.User{
			FirstName: firstNames[r.IntN(len(firstNames))], LastName: lastNames[r.IntN(len(lastNames))],
			Email: Email(i), PasswordHash: hash, CreatedAt: created,
		}
		if i == 0 {
			u.Role = store.RoleAdmin
		}
		if err := st.CreateUser(ctx, &u); err != nil {
			return nil, fmt.Errorf("seed: user %d: %w", i, err)
		}
		res.Users = append(res.Users, User{ID: u.ID, Email: u.Email})
	}
	if opt.Posts == 0 {
		return res, nil
	}

	start := time.Now()
	bodies, err := renderBodies(rend, opt.Bodies, opt.Seed)
	if err != nil {
		return nil, err
	}
	res.Render = time.Since(start)
	total := 0
	for _, b := range bodies {
		total += len(b.Content)
	}
	res.BodyBytes = total / len(bodies)

	start = time.Now()
	step := opt.Span / time.Duration(opt.Posts)
	first := opt.Now.Add(-opt.Span)
	res.PostIDs = make([]int64, 0, opt.Posts)
	res.PostDates = make([]int64, 0, opt.Posts)
	res.PostOwners = make([]int32, 0, opt.Posts)
	batch := make([]store.PostImport, 0, importBatch)
	flush := func() error {
		ids, err := st.ImportPosts(ctx, batch)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		res.PostIDs = append(res.PostIDs, ids...)
		batch = batch[:0]
		if opt.Progress != nil {
			opt.Progress(len(res.PostIDs), opt.Posts)
		}
		return nil
	}
	for i := 0; i < opt.Posts; i++ {
		owner := i % opt.Users
		date := first.Add(time.Duration(i) * step).Add(time.Duration(r.IntN(int(max(step/2, 1)))))
		date = time.UnixMilli(date.UnixMilli()).UTC()
		b := bodies[r.IntN(len(bodies))]
		in := b
		in.Title = Title(r)
		batch = append(batch, store.PostImport{PostInput: in, UserCreated: res.Users[owner].ID, DateCreated: date})
		res.PostDates = append(res.PostDates, date.UnixMilli())
		res.PostOwners = append(res.PostOwners, int32(owner))
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	res.Insert = time.Since(start)
	return res, nil
}

// importBatch is how many posts go into one import transaction.
const importBatch = 500

// renderBodies generates n Markdown bodies and renders them on every CPU.
func renderBodies(rend *content.Renderer, n int, seed uint64) ([]store.PostInput, error) {
	out := make([]store.PostInput, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				// One generator per body keeps the output independent of
				// the number of workers.
				r := rand.New(rand.NewPCG(seed, uint64(i)+1))
				md := Markdown(r, bodySize(r))
				html, err := rend.Render(md)
				if err != nil {
					errs[i] = fmt.Errorf("seed: render body %d: %w", i, err)
					continue
				}
				out[i] = store.PostInput{Content: md, ContentHTML: string(html),
					Excerpt: content.Excerpt(html, excerptLength)}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
