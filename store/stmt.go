package store

import (
	"context"
	"database/sql"
	"errors"
)

// The hot reads of every page view (the post list, one post, the session
// token and its user, the web state) run through prepared statements on
// SQLite: given as text, each call would parse and plan the SQL again, a
// large share of a short query's cost in the pure-Go driver. A *sql.Stmt is
// prepared once per pooled connection and reused. PostgreSQL's driver (pgx)
// already caches prepared statements per connection, so there the text goes
// through unchanged.

// readStmt returns the cached prepared statement for query on the reader
// pool, or nil where statements are not cached (PostgreSQL) or preparing
// failed (the caller then runs the text, which reports the error).
func (s *Store) readStmt(ctx context.Context, query string) *sql.Stmt {
	if s.dialect != DialectSQLite {
		return nil
	}
	if v, ok := s.stmts.Load(query); ok {
		return v.(*sql.Stmt)
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if v, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt)
	}
	return st
}

// readRow runs a single-row read on the reader pool.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, s.q(query), args...)
}

// readRows runs a read on the reader pool.
func (s *Store) readRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.readStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, s.q(query), args...)
}

// closeStmts closes the cached statements (Close).
func (s *Store) closeStmts() error {
	var err error
	s.stmts.Range(func(k, v any) bool {
		err = errors.Join(err, v.(*sql.Stmt).Close())
		s.stmts.Delete(k)
		return true
	})
	return err
}
