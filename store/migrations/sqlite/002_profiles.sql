-- Profiles and moderation: avatars stored in the database (so every instance
-- serves them) and an append-only audit log of admin actions.

-- One row per user with an avatar, re-encoded (metadata stripped) at the two
-- sizes pages use. version equals users.avatar_version and never repeats for
-- a user, so /avatars/{id}/{size}?v={version} can be cached forever.
CREATE TABLE avatars (
    user_id      TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    small        BLOB NOT NULL, -- 64 x 64
    large        BLOB NOT NULL, -- 256 x 256
    updated_at   INTEGER NOT NULL
) STRICT;

-- No foreign keys: the log must outlive the users and posts it names.
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    actor_id       TEXT NOT NULL,
    action         TEXT NOT NULL,
    target_user_id TEXT,
    target_post_id INTEGER,
    detail         TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_log_target_user_idx ON audit_log (target_user_id, id);
