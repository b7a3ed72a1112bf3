-- Retention, legal holds and destruction (R-F1–R-F4). The retention policy
-- itself is a setting (key retention_policy, JSON).

-- A closed relationship: its end date starts the retention clock, and the
-- customer is restricted until destruction (PIPL Art. 47). doc_expiry is
-- the latest expiry date of the customer's identity documents at closing
-- ('' when unknown or long-term), for policies that count from it.
CREATE TABLE customer_closures (
    customer_id      TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    relationship_end TEXT NOT NULL,
    doc_expiry       TEXT NOT NULL DEFAULT '',
    reason_ct        BLOB,
    closed_by        INTEGER NOT NULL,
    closed_at        INTEGER NOT NULL
) WITHOUT ROWID;

-- Legal holds (R-F2). No foreign key to customers: a released hold stays on
-- record after its customer is destroyed. reason_ct is encrypted under the
-- customer's data key, so it goes with the customer.
CREATE TABLE legal_holds (
    id              INTEGER PRIMARY KEY,
    customer_id     TEXT NOT NULL,
    scope           TEXT NOT NULL,
    txn_from        TEXT NOT NULL DEFAULT '',
    txn_to          TEXT NOT NULL DEFAULT '',
    case_ref        TEXT NOT NULL,
    reason_ct       BLOB,
    owner_id        INTEGER NOT NULL REFERENCES users(id),
    placed_by       INTEGER NOT NULL,
    placed_at       INTEGER NOT NULL,
    released_at     INTEGER,
    release_request INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX legal_holds_customer ON legal_holds(customer_id);

-- Destruction batches (R-F3) and their customers. Items keep the random
-- customer id and the archive number for the certificate, nothing personal.
CREATE TABLE destruction_batches (
    id               INTEGER PRIMARY KEY,
    state            TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    created_by       INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    request_id       INTEGER NOT NULL DEFAULT 0,
    witness_id       INTEGER NOT NULL DEFAULT 0,
    witnessed_at     INTEGER,
    executed_by      INTEGER NOT NULL DEFAULT 0,
    executed_at      INTEGER,
    counts           TEXT NOT NULL DEFAULT '{}',
    certificate_json TEXT NOT NULL DEFAULT '',
    certificate_pdf  BLOB
);
CREATE INDEX destruction_batches_state ON destruction_batches(state);

CREATE TABLE destruction_items (
    batch_id    INTEGER NOT NULL REFERENCES destruction_batches(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    archive_no  TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'listed',
    PRIMARY KEY (batch_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX destruction_items_customer ON destruction_items(customer_id);

-- Customers whose identity documents have expired (job kyc.id_expiry), so
-- their account managers renew them (R-A5); one row per customer and date.
CREATE TABLE id_expiry_flags (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    expired_on  TEXT NOT NULL,
    flagged_at  INTEGER NOT NULL,
    PRIMARY KEY (customer_id, expired_on)
) WITHOUT ROWID;

-- Destroying a customer deletes its blind indexes and identity key by
-- cascade, which without these indexes scans both tables once per customer
-- (the services delete them by exact key otherwise, see putIndex).
CREATE INDEX customer_index_customer ON customer_index(customer_id);
CREATE INDEX customer_identity_customer ON customer_identity(customer_id);

-- Reading a restricted (closed) customer is allowed only for storage, legal
-- and audit purposes; storage is new.
INSERT INTO purposes (code, name_zh, name_en, active) VALUES ('storage', '存储与保管', 'Storage and safekeeping', TRUE)
    ON CONFLICT (code) DO NOTHING;
