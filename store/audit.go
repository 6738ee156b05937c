package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrLastAdmin means a change would leave the site without an active admin.
var ErrLastAdmin = errors.New("store: would leave no active admin")

// Audit actions recorded by the admin area.
const (
	AuditSuspend    = "user.suspend"
	AuditUnsuspend  = "user.unsuspend"
	AuditPromote    = "user.promote"
	AuditDemote     = "user.demote"
	AuditDeletePost = "post.delete"
)

// AuditEntry is one admin action. The log has no foreign keys, so an entry
// keeps naming a user or post after it is gone; Detail holds what a reader
// needs then (an email, a title).
type AuditEntry struct {
	ID           int64
	At           time.Time
	ActorID      string
	Action       string
	TargetUserID string // "" = none
	TargetPostID int64  // 0 = none
	Detail       string
	// Filled by ListAudit from the users table; "" when the user is gone.
	ActorEmail  string
	TargetEmail string
}

// AddAudit appends e to the audit log and returns its id.
func (s *Store) AddAudit(ctx context.Context, e AuditEntry) (int64, error) {
	id, err := s.addAudit(ctx, s.w, e)
	if err != nil {
		return 0, fmt.Errorf("store: add audit: %w", err)
	}
	return id, nil
}

// addAudit writes e through db, a transaction when the entry records a
// change made in it.
func (s *Store) addAudit(ctx context.Context, db queryer, e AuditEntry) (int64, error) {
	if e.ActorID == "" || e.Action == "" {
		return 0, errors.New("audit entry needs an actor and an action")
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	var post any
	if e.TargetPostID != 0 {
		post = e.TargetPostID
	}
	var id int64
	err := db.QueryRowContext(ctx, s.q(`INSERT INTO audit_log (at, actor_id, action, target_user_id, target_post_id, detail)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		ms(e.At), e.ActorID, e.Action, nullString(e.TargetUserID), post, e.Detail).Scan(&id)
	return id, err
}

// ListAuditQuery selects one page of the audit log, newest first.
type ListAuditQuery struct {
	Before       int64  // keyset: entries with a smaller id (0 = newest)
	TargetUserID string // "" = every entry
	Limit        int    // default 50, max 200
}

// ListAudit returns a page of the audit log, newest first, with the actor's
// and target's current emails joined in.
func (s *Store) ListAudit(ctx context.Context, q ListAuditQuery) ([]AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	if q.Before > 0 {
		where = append(where, "a.id < ?")
		args = append(args, q.Before)
	}
	if q.TargetUserID != "" {
		where = append(where, "a.target_user_id = ?")
		args = append(args, q.TargetUserID)
	}
	query := `SELECT a.id, a.at, a.actor_id, a.action, a.target_user_id, a.target_post_id, a.detail,
		actor.email, target.email
		FROM audit_log a
		LEFT JOIN users actor ON actor.id = a.actor_id
		LEFT JOIN users target ON target.id = a.target_user_id`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY a.id DESC LIMIT ?`
	args = append(args, limit(q.Limit, 50, 200))
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var (
			e                                   AuditEntry
			at                                  sql.NullInt64
			targetUser, actorEmail, targetEmail sql.NullString
			targetPost                          sql.NullInt64
		)
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Action, &targetUser, &targetPost, &e.Detail,
			&actorEmail, &targetEmail); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		e.At, e.TargetUserID, e.TargetPostID = fromMS(at), targetUser.String, targetPost.Int64
		e.ActorEmail, e.TargetEmail = actorEmail.String, targetEmail.String
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return out, nil
}

// UserChange is an admin's change to another user's (or their own) role or
// status; "" leaves a field as it is.
type UserChange struct {
	Role   string
	Status string
}

// ChangeUser applies ch to user id on behalf of actorID and records it in
// the audit log (e's Action and Detail; actor, target and time are set
// here), in one transaction. The actor must be an active admin
// (checked here, inside the transaction: ErrForbidden otherwise), and the
// change may not leave the site without an active admin (ErrLastAdmin). On
// PostgreSQL the active admins' rows are locked first, so two admins
// demoting each other at once cannot both succeed. It returns the user as
// changed; an unknown user is ErrNotFound.
func (s *Store) ChangeUser(ctx context.Context, actorID, id string, ch UserChange, e AuditEntry, now time.Time) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if s.dialect == DialectPostgres {
			lock = " FOR UPDATE"
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM users WHERE role = ? AND status = ? ORDER BY id`+lock),
			RoleAdmin, StatusActive)
		if err != nil {
			return err
		}
		admins := map[string]bool{}
		for rows.Next() {
			var aid string
			if err := rows.Scan(&aid); err != nil {
				rows.Close()
				return err
			}
			admins[aid] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !admins[actorID] {
			return ErrForbidden
		}
		u, err = scanUser(tx.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users WHERE id = ?`), id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if ch.Role != "" {
			u.Role = ch.Role
		}
		if ch.Status != "" {
			u.Status = ch.Status
		}
		if admins[id] && (u.Role != RoleAdmin || u.Status != StatusActive) && len(admins) <= 1 {
			return ErrLastAdmin
		}
		u.UpdatedAt = time.UnixMilli(now.UnixMilli()).UTC()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET role = ?, status = ?, updated_at = ? WHERE id = ?`),
			u.Role, u.Status, ms(u.UpdatedAt), id); err != nil {
			return err
		}
		e.ActorID, e.TargetUserID, e.At = actorID, id, now
		_, err = s.addAudit(ctx, tx, e)
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden), errors.Is(err, ErrLastAdmin):
		return User{}, err
	case err != nil:
		return User{}, fmt.Errorf("store: change user: %w", err)
	}
	return u, nil
}

// AdminDeletePost deletes any post on behalf of actorID, who must be an
// active admin (checked in the DELETE itself: ErrForbidden otherwise), and
// records it in the audit log (with the title and author, which outlive the
// post there) in the same transaction. It returns the deleted post; an
// unknown post is ErrNotFound.
func (s *Store) AdminDeletePost(ctx context.Context, actorID string, id int64, now time.Time) (Post, error) {
	var p Post
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = s.postByID(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM posts WHERE id = ?
			AND EXISTS (SELECT 1 FROM users WHERE id = ? AND role = ? AND status = ?)`),
			id, actorID, RoleAdmin, StatusActive)
		if err != nil {
			return err
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return ErrForbidden
		}
		_, err = s.addAudit(ctx, tx, AuditEntry{At: now, ActorID: actorID, Action: AuditDeletePost,
			TargetUserID: p.UserCreated, TargetPostID: id,
			Detail: "“" + p.Title + "” by " + strings.TrimSpace(p.Author.FirstName+" "+p.Author.LastName)})
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden):
		return Post{}, err
	case err != nil:
		return Post{}, fmt.Errorf("store: admin delete post: %w", err)
	}
	return p, nil
}
