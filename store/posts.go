package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// postSelect reads posts with their author joined, so a page of posts is
// one query.
const postSelect = `SELECT p.id, p.title, p.content, p.content_html, p.excerpt,
	p.user_created, p.date_created, p.user_updated, p.date_updated,
	u.id, u.first_name, u.last_name, u.avatar_version
	FROM posts p JOIN users u ON u.id = p.user_created`

func scanPost(row interface{ Scan(...any) error }) (Post, error) {
	var (
		p                Post
		created, updated sql.NullInt64
		userUpdated      sql.NullString
	)
	err := row.Scan(&p.ID, &p.Title, &p.Content, &p.ContentHTML, &p.Excerpt,
		&p.UserCreated, &created, &userUpdated, &updated,
		&p.Author.ID, &p.Author.FirstName, &p.Author.LastName, &p.Author.AvatarVersion)
	p.DateCreated, p.DateUpdated = fromMS(created), fromMS(updated)
	p.UserUpdated = userUpdated.String
	return p, err
}

// postSummarySelect reads only what a listing shows: no Markdown or HTML
// body (copying them out was most of a listing query's cost) and no column
// twice, since each column read is a driver call of its own.
const postSummarySelect = `SELECT p.id, p.title, p.excerpt, p.user_created, p.date_created, p.date_updated,
	u.first_name, u.last_name, u.avatar_version
	FROM posts p JOIN users u ON u.id = p.user_created`

// scanPostSummary scans a postSummarySelect row.
func scanPostSummary(row interface{ Scan(...any) error }) (Post, error) {
	var (
		p                Post
		created, updated sql.NullInt64
	)
	err := row.Scan(&p.ID, &p.Title, &p.Excerpt, &p.UserCreated, &created, &updated,
		&p.Author.FirstName, &p.Author.LastName, &p.Author.AvatarVersion)
	p.DateCreated, p.DateUpdated = fromMS(created), fromMS(updated)
	p.Author.ID = p.UserCreated
	return p, err
}

// listPostsSQL builds the ListPosts statement ('?' placeholders).
func listPostsSQL(q ListPostsQuery) (string, []any) {
	query := postSelect + ` WHERE 1 = 1`
	if q.Summary {
		query = postSummarySelect + ` WHERE 1 = 1`
	}
	var args []any
	if q.AuthorID != "" {
		query += ` AND p.user_created = ?`
		args = append(args, q.AuthorID)
	}
	if q.Before != nil {
		// The leading "<=" gives both planners a range bound on the
		// index; the OR picks the rows strictly before the cursor.
		d := q.Before.Date.UnixMilli()
		query += ` AND p.date_created <= ? AND (p.date_created < ? OR (p.date_created = ? AND p.id < ?))`
		args = append(args, d, d, d, q.Before.ID)
	}
	query += ` ORDER BY p.date_created DESC, p.id DESC LIMIT ?`
	return query, append(args, limit(q.Limit, 20, 100))
}

// queryer is what both *sql.DB and *sql.Tx offer for single-row reads.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) postByID(ctx context.Context, db queryer, id int64) (Post, error) {
	var row *sql.Row
	if db == s.r {
		row = s.readRow(ctx, postSelect+` WHERE p.id = ?`, id)
	} else {
		row = db.QueryRowContext(ctx, s.q(postSelect+` WHERE p.id = ?`), id)
	}
	p, err := scanPost(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Post{}, ErrNotFound
	}
	return p, err
}

// CreatePost stores a new post owned by userID and returns it with its
// author.
func (s *Store) CreatePost(ctx context.Context, userID string, in PostInput, now time.Time) (Post, error) {
	var p Post
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO posts
			(title, content, content_html, excerpt, user_created, date_created)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			in.Title, in.Content, in.ContentHTML, in.Excerpt, userID, ms(now)).Scan(&id)
		if err != nil {
			return err
		}
		p, err = s.postByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return Post{}, fmt.Errorf("store: create post: %w", err)
	}
	return p, nil
}

// PostByID returns one post with its author or ErrNotFound.
func (s *Store) PostByID(ctx context.Context, id int64) (Post, error) {
	p, err := s.postByID(ctx, s.r, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return Post{}, ErrNotFound
	case err != nil:
		return Post{}, fmt.Errorf("store: post by id: %w", err)
	}
	return p, nil
}

// ListPosts returns a page of posts, newest first, walking the
// (date_created, id) index by keyset: no OFFSET and no COUNT, so every page
// costs the same however deep it is.
func (s *Store) ListPosts(ctx context.Context, q ListPostsQuery) ([]Post, error) {
	query, args := listPostsSQL(q)
	rows, err := s.readRows(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list posts: %w", err)
	}
	defer rows.Close()
	scan := scanPost
	if q.Summary {
		scan = scanPostSummary
	}
	out := make([]Post, 0, limit(q.Limit, 20, 100))
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list posts: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list posts: %w", err)
	}
	return out, nil
}

// UpdatePost changes a post's text if actorID owns it or anyOwner is set
// (the caller decided the actor may edit any post). The ownership rule is
// part of the UPDATE itself; when no row changes, ErrNotFound or
// ErrForbidden says why. Owner and creation date never change.
func (s *Store) UpdatePost(ctx context.Context, id int64, actorID string, anyOwner bool, in PostInput, now time.Time) (Post, error) {
	var p Post
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE posts
			SET title = ?, content = ?, content_html = ?, excerpt = ?, user_updated = ?, date_updated = ?
			WHERE id = ? AND (user_created = ? OR ?)`),
			in.Title, in.Content, in.ContentHTML, in.Excerpt, actorID, ms(now), id, actorID, anyOwner)
		if err != nil {
			return err
		}
		if err := s.checkPostWrite(ctx, tx, res, id); err != nil {
			return err
		}
		p, err = s.postByID(ctx, tx, id)
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden):
		return Post{}, err
	case err != nil:
		return Post{}, fmt.Errorf("store: update post: %w", err)
	}
	return p, nil
}

// DeletePost deletes a post under the same ownership rule as UpdatePost.
func (s *Store) DeletePost(ctx context.Context, id int64, actorID string, anyOwner bool) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM posts WHERE id = ? AND (user_created = ? OR ?)`),
			id, actorID, anyOwner)
		if err != nil {
			return err
		}
		return s.checkPostWrite(ctx, tx, res, id)
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden):
		return err
	case err != nil:
		return fmt.Errorf("store: delete post: %w", err)
	}
	return nil
}

// checkPostWrite turns an owner-guarded write that changed nothing into
// ErrNotFound (no such post) or ErrForbidden (someone else's post).
func (s *Store) checkPostWrite(ctx context.Context, tx *sql.Tx, res sql.Result, id int64) error {
	n, err := rowsAffected(res)
	if err != nil || n > 0 {
		return err
	}
	var exists int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM posts WHERE id = ?`), id).Scan(&exists); err != nil {
		return err
	}
	if exists == 0 {
		return ErrNotFound
	}
	return ErrForbidden
}
