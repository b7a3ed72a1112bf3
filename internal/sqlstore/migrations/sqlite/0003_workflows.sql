-- Approval workflows, archive versions, verification, business records,
-- paper archives and staff handovers (issue 4).

ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';

CREATE TABLE approval_rules (
    kind        TEXT PRIMARY KEY,
    roles       TEXT NOT NULL,
    scope       TEXT NOT NULL,
    required    INTEGER NOT NULL,
    ttl_seconds INTEGER NOT NULL
);

CREATE TABLE requests (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    customer_id  TEXT REFERENCES customers(id) ON DELETE CASCADE,
    subject_id   TEXT NOT NULL DEFAULT '',
    org_id       INTEGER NOT NULL REFERENCES orgs(id),
    reason       TEXT NOT NULL,
    summary      TEXT NOT NULL DEFAULT '',
    payload_ct   BLOB,
    requested_by INTEGER NOT NULL REFERENCES users(id),
    requested_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    required     INTEGER NOT NULL,
    decided_at   INTEGER,
    applied_at   INTEGER,
    outcome      TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX requests_state ON requests(state, kind);
CREATE INDEX requests_customer ON requests(customer_id);
CREATE INDEX requests_requester ON requests(requested_by, state);

CREATE TABLE request_decisions (
    request_id INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    role       TEXT NOT NULL,
    approve    INTEGER NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL,
    PRIMARY KEY (request_id, user_id)
) WITHOUT ROWID;

-- Every approved state of an archive (R-B1), encrypted like the archive.
CREATE TABLE customer_versions (
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    request_id   INTEGER,
    requested_by INTEGER NOT NULL,
    approved_by  INTEGER NOT NULL DEFAULT 0,
    reason       TEXT NOT NULL DEFAULT '',
    fields       TEXT NOT NULL DEFAULT '',
    meta         TEXT NOT NULL,
    profile_ct   BLOB NOT NULL,
    custom_ct    BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (customer_id, version)
) WITHOUT ROWID;

CREATE TABLE verifications (
    id           INTEGER PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    inspector_id INTEGER NOT NULL REFERENCES users(id),
    method       TEXT NOT NULL,
    passed       INTEGER NOT NULL,
    name_matches INTEGER NOT NULL,
    evidence     TEXT NOT NULL DEFAULT '',
    note_ct      BLOB,
    at           INTEGER NOT NULL
);
CREATE INDEX verifications_customer ON verifications(customer_id);

CREATE TABLE business_records (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    reference_ct BLOB NOT NULL,
    product      TEXT NOT NULL DEFAULT '',
    opened_on    TEXT NOT NULL,
    created_by   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX business_records_customer ON business_records(customer_id);

CREATE TABLE secure_locations (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs(id),
    room         TEXT NOT NULL,
    cabinet      TEXT NOT NULL,
    shelf        TEXT NOT NULL DEFAULT '',
    box          TEXT NOT NULL DEFAULT '',
    lock_type    TEXT NOT NULL,
    custodian_id INTEGER NOT NULL REFERENCES users(id),
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL
);

CREATE TABLE paper_files (
    id            INTEGER PRIMARY KEY,
    customer_id   TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    title_ct      BLOB NOT NULL,
    contents_ct   BLOB,
    location_id   INTEGER NOT NULL REFERENCES secure_locations(id),
    status        TEXT NOT NULL,
    borrower_id   INTEGER NOT NULL DEFAULT 0,
    due_at        INTEGER,
    registered_by INTEGER NOT NULL,
    registered_at INTEGER NOT NULL
);
CREATE INDEX paper_files_customer ON paper_files(customer_id);
CREATE INDEX paper_files_location ON paper_files(location_id);
CREATE INDEX paper_files_lent ON paper_files(status, due_at);

CREATE TABLE paper_movements (
    id            INTEGER PRIMARY KEY,
    file_id       INTEGER NOT NULL REFERENCES paper_files(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    from_location INTEGER NOT NULL DEFAULT 0,
    to_location   INTEGER NOT NULL DEFAULT 0,
    borrower_id   INTEGER NOT NULL DEFAULT 0,
    due_at        INTEGER,
    request_id    INTEGER NOT NULL DEFAULT 0,
    inspection    TEXT NOT NULL DEFAULT '',
    by_user       INTEGER NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX paper_movements_file ON paper_movements(file_id, at);

CREATE TABLE handovers (
    id               INTEGER PRIMARY KEY,
    leaver_id        INTEGER NOT NULL REFERENCES users(id),
    supervisor_id    INTEGER NOT NULL REFERENCES users(id),
    successors       TEXT NOT NULL,
    reason           TEXT NOT NULL,
    state            TEXT NOT NULL,
    inventory        TEXT NOT NULL,
    assignments      TEXT NOT NULL DEFAULT '{}',
    signatures       TEXT NOT NULL DEFAULT '{}',
    certificate_pdf  BLOB,
    certificate_json TEXT NOT NULL DEFAULT '',
    created_by       INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER
);
CREATE INDEX handovers_leaver ON handovers(leaver_id);
