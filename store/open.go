package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// Dialect names returned by (*Store).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqliteParams makes the driver apply these pragmas to every new SQLite
// connection, so a connection the pool opens later can never miss one.
// busy_timeout makes another process wait for the lock instead of failing.
const sqliteParams = "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(ON)&_pragma=synchronous(NORMAL)"

// Options tunes the connection pools. Zero values pick sensible defaults.
type Options struct {
	// MaxOpenConns bounds the SQLite reader pool or the PostgreSQL pool
	// (default max(4, 2*GOMAXPROCS)). The SQLite writer always has one.
	MaxOpenConns int
	// MaxIdleConns defaults to MaxOpenConns.
	MaxIdleConns int
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// Store is the application's only gateway to the database. It is safe for
// concurrent use.
type Store struct {
	dialect string
	// w takes every write. On SQLite it holds a single connection so
	// writers queue in Go instead of fighting over the file lock.
	w *sql.DB
	// r serves plain reads; on SQLite a separate pool that WAL lets run
	// alongside the writer, on PostgreSQL the same pool as w.
	r   *sql.DB
	log *slog.Logger
	// rebound caches the $n form of each ?-placeholder statement (postgres).
	rebound sync.Map
	// stmts caches prepared hot reads on the SQLite reader pool (stmt.go).
	stmts sync.Map
}

// Open connects to the database named by dsn and pings it. A dsn starting
// with postgres:// or postgresql:// selects PostgreSQL; "sqlite:PATH" or a
// plain PATH selects SQLite, creating the file if it is missing.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if opt.MaxOpenConns <= 0 {
		opt.MaxOpenConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opt.MaxIdleConns <= 0 {
		opt.MaxIdleConns = opt.MaxOpenConns
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	var (
		s   *Store
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s, err = openPostgres(dsn, opt)
	} else {
		s, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), opt)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	return s, nil
}

func openPostgres(dsn string, opt Options) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opt.MaxOpenConns)
	db.SetMaxIdleConns(opt.MaxIdleConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{dialect: DialectPostgres, w: db, r: db, log: opt.Logger}, nil
}

func openSQLite(ctx context.Context, path string, opt Options) (*Store, error) {
	switch {
	case path == "":
		return nil, errors.New("empty SQLite path")
	case strings.Contains(path, "?"):
		return nil, fmt.Errorf("SQLite path %q must not contain '?'", path)
	case strings.Contains(path, ":memory:"):
		return nil, errors.New("in-memory SQLite is not supported: the reader and writer pools must share a file")
	}
	w, err := sql.Open("sqlite", path+sqliteParams+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	// Connect the writer first: it creates the file and switches it to WAL
	// once, before readers open it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+sqliteParams)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(opt.MaxOpenConns)
	r.SetMaxIdleConns(opt.MaxIdleConns)
	return &Store{dialect: DialectSQLite, w: w, r: r, log: opt.Logger}, nil
}

// Close closes every pool.
func (s *Store) Close() error {
	err := errors.Join(s.closeStmts(), s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Ping checks that every pool can reach the database (readiness probes).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w", err)
		}
	}
	return nil
}

// Dialect reports "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Backup writes a consistent copy of a SQLite database to path while the
// application keeps running (VACUUM INTO). It refuses to overwrite an
// existing file. PostgreSQL is backed up with pg_dump instead.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != DialectSQLite {
		return errors.New("store: backup: not supported on PostgreSQL; use pg_dump")
	}
	if path == "" {
		return errors.New("store: backup: empty target path")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup: %s already exists", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: backup: %w", err)
	}
	if _, err := s.r.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}
