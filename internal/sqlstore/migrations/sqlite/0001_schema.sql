-- Custos schema, SQLite dialect. Times are INTEGER microseconds since the
-- Unix epoch (UTC); booleans are 0/1; ciphertexts are BLOBs.

CREATE TABLE orgs (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    name_en    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    parent_id  INTEGER REFERENCES orgs(id),
    path       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX orgs_path ON orgs(path);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL DEFAULT '',
    org_id              INTEGER NOT NULL REFERENCES orgs(id),
    role                TEXT NOT NULL,
    password_hash       TEXT NOT NULL DEFAULT '',
    totp_ct             BLOB,
    mfa_enabled         INTEGER NOT NULL DEFAULT 0,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        INTEGER NOT NULL DEFAULT 0,
    disabled            INTEGER NOT NULL DEFAULT 0,
    password_changed_at INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    last_login_at       INTEGER
);
CREATE INDEX users_org ON users(org_id);

CREATE TABLE sessions (
    id_hash      BLOB PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    mfa_passed   INTEGER NOT NULL DEFAULT 0,
    purpose      TEXT NOT NULL DEFAULT '',
    lang         TEXT NOT NULL DEFAULT '',
    client_addr  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL DEFAULT '',
    token_hash   BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL DEFAULT '',
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE purposes (
    code    TEXT PRIMARY KEY,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    active  INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE categories (
    code       TEXT PRIMARY KEY,
    name_zh    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    applies_to TEXT NOT NULL DEFAULT ''
);

CREATE TABLE taxonomies (
    code    TEXT PRIMARY KEY,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    sort    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE taxonomy_terms (
    taxonomy TEXT NOT NULL REFERENCES taxonomies(code),
    code     TEXT NOT NULL,
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL,
    sort     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (taxonomy, code)
) WITHOUT ROWID;

CREATE TABLE custom_field_defs (
    id        INTEGER PRIMARY KEY,
    category  TEXT NOT NULL REFERENCES categories(code),
    key       TEXT NOT NULL,
    label_zh  TEXT NOT NULL DEFAULT '',
    label_en  TEXT NOT NULL DEFAULT '',
    type      TEXT NOT NULL,
    required  INTEGER NOT NULL DEFAULT 0,
    choices   TEXT NOT NULL DEFAULT '[]',
    sensitive INTEGER NOT NULL DEFAULT 0,
    sort      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (category, key)
);

CREATE TABLE checklist_items (
    category TEXT NOT NULL REFERENCES categories(code),
    code     TEXT NOT NULL,
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL,
    required INTEGER NOT NULL DEFAULT 1,
    sort     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (category, code)
) WITHOUT ROWID;

CREATE TABLE archive_series (
    series   TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE customers (
    id               TEXT PRIMARY KEY,
    archive_no       TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    org_id           INTEGER NOT NULL REFERENCES orgs(id),
    owner_id         INTEGER NOT NULL REFERENCES users(id),
    category         TEXT NOT NULL REFERENCES categories(code),
    status           TEXT NOT NULL,
    sensitivity      TEXT NOT NULL,
    protected_reason TEXT NOT NULL DEFAULT '',
    verification     TEXT NOT NULL,
    display_name     TEXT NOT NULL DEFAULT '',
    building         TEXT NOT NULL DEFAULT '',
    classes          TEXT NOT NULL DEFAULT '{}', -- copy of customer_classes for reads; the table serves filters
    profile_ct       BLOB NOT NULL,
    custom_ct        BLOB,
    created_by       INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE INDEX customers_org ON customers(org_id);
CREATE INDEX customers_owner ON customers(owner_id);
CREATE INDEX customers_building ON customers(building) WHERE building <> '';

CREATE TABLE customer_keys (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    wrapped     BLOB NOT NULL,
    kek_id      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    rotated_at  INTEGER
) WITHOUT ROWID;

CREATE TABLE customer_classes (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    taxonomy    TEXT NOT NULL,
    term        TEXT NOT NULL,
    PRIMARY KEY (customer_id, taxonomy)
) WITHOUT ROWID;
CREATE INDEX customer_classes_term ON customer_classes(taxonomy, term);

-- Blind indexes: HMAC-SHA256 of normalised identifiers (R-D1).
CREATE TABLE customer_index (
    kind        TEXT NOT NULL,
    hash        BLOB NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, hash, customer_id)
) WITHOUT ROWID;

-- One archive per customer (R-A1): the blind index of the primary identity.
CREATE TABLE customer_identity (
    hash        BLOB PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE portfolio (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX portfolio_customer ON portfolio(customer_id);

CREATE TABLE portfolio_buildings (
    user_id  INTEGER NOT NULL REFERENCES users(id),
    building TEXT NOT NULL,
    PRIMARY KEY (user_id, building)
) WITHOUT ROWID;

CREATE TABLE grants (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    actions     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    granted_by  INTEGER NOT NULL,
    starts_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    revoked_by  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX grants_user ON grants(user_id, customer_id);
CREATE INDEX grants_customer ON grants(customer_id);

CREATE TABLE timeline (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    occurred_on    TEXT NOT NULL,
    period         TEXT NOT NULL DEFAULT '',
    title_ct       BLOB,
    body_ct        BLOB,
    attachment_ids TEXT NOT NULL DEFAULT '',
    created_by     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX timeline_customer ON timeline(customer_id, occurred_on);

CREATE TABLE attachments (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    filename_ct    BLOB,
    content_type   TEXT NOT NULL DEFAULT '',
    size           INTEGER NOT NULL,
    checklist_item TEXT NOT NULL DEFAULT '',
    created_by     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX attachments_customer ON attachments(customer_id);

CREATE TABLE attachment_blobs (
    attachment_id TEXT PRIMARY KEY REFERENCES attachments(id) ON DELETE CASCADE,
    content_ct    BLOB NOT NULL
);

-- The tamper-evident audit trail (R-C5, R-D3). No personal data: targets are HMACs.
-- payload is the event exactly as its hash covers it (audit.AppendPayload,
-- JSON); hash also covers the previous event's hash. The searchable columns
-- after hash are computed from payload and cannot be written, so seq, payload
-- and hash are all there is to tamper with, and the chain covers them all.
-- audit verify compares this statement, character for character, with the
-- one the database holds.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    payload     TEXT NOT NULL,
    hash        BLOB NOT NULL,
    at          INTEGER GENERATED ALWAYS AS (json_extract(payload, '$.at')) VIRTUAL,
    actor_id    INTEGER GENERATED ALWAYS AS (json_extract(payload, '$.actor_id')) VIRTUAL,
    actor       TEXT GENERATED ALWAYS AS (json_extract(payload, '$.actor')) VIRTUAL,
    action      TEXT GENERATED ALWAYS AS (json_extract(payload, '$.action')) VIRTUAL,
    target_ref  TEXT GENERATED ALWAYS AS (json_extract(payload, '$.target_ref')) VIRTUAL,
    purpose     TEXT GENERATED ALWAYS AS (json_extract(payload, '$.purpose')) VIRTUAL,
    outcome     TEXT GENERATED ALWAYS AS (json_extract(payload, '$.outcome')) VIRTUAL
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_actor ON audit_events(actor_id, seq);
CREATE INDEX audit_events_target ON audit_events(target_ref, seq) WHERE target_ref <> '';

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
);

CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB NOT NULL,
    at        INTEGER NOT NULL,
    key_id    TEXT NOT NULL,
    every     BIGINT NOT NULL DEFAULT 0,
    signature BLOB NOT NULL
);
