package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PostImport is a post written with a given owner and creation date, for
// bulk loads (benchmark seeding, imports) rather than for requests.
type PostImport struct {
	PostInput
	UserCreated string
	DateCreated time.Time
}

// ImportPosts inserts posts in one transaction with one prepared statement
// and returns their ids in order. It exists because CreatePost's
// transaction and read-back per post make loading a million posts take far
// longer than the load itself.
func (s *Store) ImportPosts(ctx context.Context, posts []PostImport) ([]int64, error) {
	ids := make([]int64, 0, len(posts))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO posts
			(title, content, content_html, excerpt, user_created, date_created)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, p := range posts {
			var id int64
			if err := stmt.QueryRowContext(ctx, p.Title, p.Content, p.ContentHTML, p.Excerpt,
				p.UserCreated, ms(p.DateCreated)).Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: import posts: %w", err)
	}
	return ids, nil
}
