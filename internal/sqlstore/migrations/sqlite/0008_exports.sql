-- Encrypted exports and the confidentiality-agreement registry (R-C7, R-C8,
-- R-E5). An export row records what was exported, by whom, under which
-- agreement, the SHA-256 of the encrypted file and its row counts; never
-- the password. The encrypted file (an age archive) is kept in
-- export_files for a limited time for download, then deleted.

CREATE TABLE agreements (
    id            INTEGER PRIMARY KEY,
    party         TEXT NOT NULL,
    reference     TEXT NOT NULL,
    scope         TEXT NOT NULL,
    valid_from    TEXT NOT NULL,
    valid_to      TEXT NOT NULL,
    signed_by     TEXT NOT NULL,
    created_by    INTEGER NOT NULL REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoked_by    INTEGER NOT NULL DEFAULT 0,
    revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX agreements_reference ON agreements(reference);

CREATE TABLE exports (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    agreement_id    INTEGER REFERENCES agreements(id),
    party           TEXT NOT NULL DEFAULT '',
    customer_id     TEXT NOT NULL DEFAULT '',
    archive_no      TEXT NOT NULL DEFAULT '',
    date_from       TEXT NOT NULL DEFAULT '',
    date_to         TEXT NOT NULL DEFAULT '',
    reveal          INTEGER NOT NULL DEFAULT 0,
    reason          TEXT NOT NULL,
    state           TEXT NOT NULL,
    request_id      INTEGER REFERENCES requests(id),
    requested_by    INTEGER NOT NULL REFERENCES users(id),
    requested_at    INTEGER NOT NULL,
    generated_at    INTEGER,
    sha256          TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    rows_json       TEXT NOT NULL DEFAULT '',
    file_expires_at INTEGER,
    downloads       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX exports_requester ON exports(requested_by, id);
CREATE INDEX exports_request ON exports(request_id);
CREATE INDEX exports_file_expiry ON exports(state, file_expires_at);

CREATE TABLE export_files (
    export_id INTEGER PRIMARY KEY REFERENCES exports(id),
    content   BLOB NOT NULL
);
