-- Tamper evidence beyond the audit trail (R-D3), and the keys a store was
-- made with.
--
-- row_mac: HMAC-SHA256 (16 bytes) under the record key (records.json,
-- outside the database) over a row's security-relevant columns: for a
-- customer its place, owner, status, verification, sensitivity, classes
-- (risk level, tier) and building; for a transaction its customer number,
-- time, source, reference, amount, currency, direction, type, channel,
-- reversal and batch; for txn_customers which customer a number belongs
-- to. Written with every insert and update, checked on every read a
-- decision depends on (internal/sqlstore/integrity.go). Rows stored before
-- this migration are sealed when the store is next opened with its keys
-- (app.OpenKeys); until then their NULL fails every check.
ALTER TABLE customers ADD COLUMN row_mac BLOB;
ALTER TABLE transactions ADD COLUMN row_mac BLOB;
ALTER TABLE txn_customers ADD COLUMN row_mac BLOB;

-- One row per key purpose (kek, index, auditref, auditsign, records): a
-- fingerprint of the key, or for the KEK a value sealed under it, recorded
-- when the key is first used with this store, so that a store opened with
-- another store's keys says so instead of failing in confusing ways.
CREATE TABLE key_checks (
    purpose    TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
