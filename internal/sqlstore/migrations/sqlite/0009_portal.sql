-- The customer self-service portal (R-B5, R-E3): which customers may sign
-- in, their argon2id password hash and lockout state, one-time login codes
-- (only an HMAC of the code is kept) and portal sessions (only a hash of
-- the session id is kept). Nothing here is personal data in clear: the
-- customer is named by id, and the ID number used to sign in is matched
-- through the customers' blind index.

CREATE TABLE portal_accounts (
    customer_id         TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    password_hash       TEXT NOT NULL DEFAULT '',
    enabled             INTEGER NOT NULL DEFAULT 1,
    enabled_by          INTEGER NOT NULL REFERENCES users(id),
    enabled_at          INTEGER NOT NULL,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        INTEGER NOT NULL DEFAULT 0,
    password_changed_at INTEGER NOT NULL DEFAULT 0,
    last_login_at       INTEGER
);

CREATE TABLE portal_otps (
    id          INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     INTEGER
);
CREATE INDEX portal_otps_customer ON portal_otps(customer_id, created_at);

CREATE TABLE portal_sessions (
    id_hash      BLOB PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    lang         TEXT NOT NULL DEFAULT '',
    client_addr  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX portal_sessions_customer ON portal_sessions(customer_id);
