-- Times are unix milliseconds (UTC). STRICT makes SQLite reject values of
-- the wrong type, as PostgreSQL does.

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE users (
    id             TEXT NOT NULL PRIMARY KEY,
    first_name     TEXT NOT NULL DEFAULT '',
    last_name      TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    password_hash  TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT 'author' CHECK (role IN ('author', 'admin')),
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    avatar_version INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE posts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT NOT NULL,
    content      TEXT NOT NULL,
    content_html TEXT NOT NULL,
    excerpt      TEXT NOT NULL,
    user_created TEXT NOT NULL REFERENCES users (id),
    date_created INTEGER NOT NULL,
    user_updated TEXT REFERENCES users (id),
    date_updated INTEGER
) STRICT;

CREATE INDEX posts_date_idx ON posts (date_created DESC, id DESC);
CREATE INDEX posts_author_date_idx ON posts (user_created, date_created DESC, id DESC);

CREATE TABLE session_families (
    id              TEXT NOT NULL PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    user_agent      TEXT NOT NULL DEFAULT '',
    ip              TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX session_families_user_idx ON session_families (user_id);

CREATE TABLE session_tokens (
    id          TEXT NOT NULL PRIMARY KEY,
    family_id   TEXT NOT NULL REFERENCES session_families (id) ON DELETE CASCADE,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    rotated_at  INTEGER,
    replaced_by TEXT
) STRICT;

CREATE INDEX session_tokens_family_idx ON session_tokens (family_id);

CREATE TABLE rate_limits (
    key          TEXT NOT NULL PRIMARY KEY,
    count        INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    last_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX rate_limits_last_idx ON rate_limits (last_at);

CREATE TABLE web_state (
    id         TEXT NOT NULL PRIMARY KEY,
    data       BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX web_state_expires_idx ON web_state (expires_at);
