// Package multi proves that Quire keeps no state in its processes: two real
// quire binaries serve one PostgreSQL schema, and a visitor's requests may
// land on either. It signs in on one instance and continues on the other,
// rotates a session on one and replays the old token on the other, edits
// one post from both at once, trips the login throttle on one and meets it
// on the other, and moves a populated SQLite site to PostgreSQL with
// `quire copy`.
//
// The tests speak plain HTTP (net/http, cookies and CSRF tokens handled by
// hand) and need the PostgreSQL at 127.0.0.1:5432 (QUIRE_TEST_PG overrides
// the DSN); `bash scripts/test-deps.sh` starts it. Without it the suite
// fails, it never skips.
package multi
