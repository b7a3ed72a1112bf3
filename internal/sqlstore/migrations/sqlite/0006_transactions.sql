-- Transaction records (R-E1, R-E2, R-E4). Recorded once, never updated; a
-- correction is a reversing entry (txn_reversals links it to the original).
--
-- Bulk loading decides the layout: each index is a b-tree that every row
-- must enter, and the pure-Go SQLite pays for every one. So the table is a
-- rowid table (rows append at its end) with one index, which serves three
-- purposes: a customer's history by time (its prefix), keyset paging in
-- that order, and idempotency (unique: a row imported twice is the same
-- customer, time, source and reference). Customers get a small integer
-- (txn_customers) so the index entries stay short. Searches by account or
-- counterparty go through txn_links (blind index -> the customers that have
-- it, one row per pair, written only for new pairs) and then through the
-- customers' histories; a time index for searches without any customer
-- scope was left out: it costs a third of the import rate (docs/performance.md).

CREATE TABLE txn_customers (
    cnum        INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL UNIQUE REFERENCES customers(id) -- no cascade: records outlive nothing by accident (R-F1)
);

-- Who recorded a set of transactions, when, from which source and through
-- which channel (api, cli, web): the provenance of every row.
CREATE TABLE txn_batches (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    recorded_by INTEGER NOT NULL,
    via         TEXT NOT NULL DEFAULT '',
    recorded_at INTEGER NOT NULL,
    row_count   INTEGER NOT NULL DEFAULT 0,
    inserted    INTEGER NOT NULL DEFAULT 0
);

-- amount: exact, in units of 10^-4 of the currency. sealed: account,
-- counterparty name and account, purpose and remarks, AES-256-GCM under the
-- customer's data key, bound to source and reference. *_ix: the first 8
-- bytes of the blind index (HMAC-SHA256) of the account, the counterparty's
-- account and the counterparty's name.
CREATE TABLE transactions (
    id            INTEGER PRIMARY KEY,
    cnum          INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    source        TEXT NOT NULL,
    reference     TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    direction     TEXT NOT NULL,
    type          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    cp_bank       TEXT NOT NULL DEFAULT '',
    account_ix    INTEGER NOT NULL,
    cp_account_ix INTEGER,
    cp_name_ix    INTEGER,
    sealed        BLOB NOT NULL,
    attachments   TEXT,
    reversal_of   TEXT,
    batch_id      INTEGER NOT NULL
);
CREATE UNIQUE INDEX transactions_key ON transactions (cnum, at, source, reference);

-- Blind index (account, counterparty account or name) -> customer.
CREATE TABLE txn_links (
    ix   INTEGER NOT NULL,
    cnum INTEGER NOT NULL,
    PRIMARY KEY (ix, cnum)
) WITHOUT ROWID;

-- One reversal per transaction: the key of the original, the id of the
-- reversing entry.
CREATE TABLE txn_reversals (
    cnum        INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    source      TEXT NOT NULL,
    reference   TEXT NOT NULL,
    reversal    TEXT NOT NULL,
    reversed_by INTEGER NOT NULL,
    reversed_at INTEGER NOT NULL,
    PRIMARY KEY (cnum, at, source, reference)
) WITHOUT ROWID;
