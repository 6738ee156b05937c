// Command seed fills a new Quire database with benchmark users and posts, for
// profiling by hand: go run ./bench/cmd/seed --db /tmp/q.db --posts 10000.
// make bench seeds its own database; this is the same code on its own.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"quire/bench/seed"
	"quire/content"
	"quire/password"
	"quire/store"
)

func main() {
	db := flag.String("db", "", "SQLite file or postgres:// URL (must be empty)")
	users := flag.Int("users", 50, "users to create")
	posts := flag.Int("posts", 10_000, "posts to create")
	pw := flag.String("password", "bench-password-1234", "every user's password")
	flag.Parse()
	if *db == "" {
		fmt.Fprintln(os.Stderr, "seed: --db is required")
		os.Exit(2)
	}
	if err := run(context.Background(), *db, seed.Options{Users: *users, Posts: *posts, Password: *pw}); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dsn string, opt seed.Options) error {
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	start := time.Now()
	res, err := seed.Seed(ctx, st, content.New(), password.NewHasher(password.DefaultParams(), 0), opt)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d users and %d posts in %s (render %s, insert %s, mean body %d B); sign in as %s / %s\n",
		len(res.Users), len(res.PostIDs), time.Since(start).Round(time.Millisecond),
		res.Render.Round(time.Millisecond), res.Insert.Round(time.Millisecond), res.BodyBytes,
		res.Users[0].Email, res.Password)
	return nil
}
