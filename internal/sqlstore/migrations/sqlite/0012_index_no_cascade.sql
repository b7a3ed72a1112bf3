-- Blind indexes and identity keys without a foreign-key cascade (SQLite).
--
-- Migration 0010 indexed customer_index(customer_id) and
-- customer_identity(customer_id) so that deleting a customer (destruction,
-- R-F3) would not scan both tables for the cascade; every customer insert
-- then paid for two more random b-tree inserts, about 40 % of the store's
-- create rate (docs/performance.md). Instead the rows are deleted by their
-- exact keys, as putIndex already does when a customer changes: the
-- destruction recomputes them from the decrypted profile before the data
-- key is shredded (sqlstore.Tx.DeleteCustomerIndex). Without the foreign
-- key SQLite no longer looks for child rows when a customer is deleted.
-- PostgreSQL keeps its foreign keys and indexes: there the cost is hidden
-- behind the round trips.
DROP INDEX customer_index_customer;
DROP INDEX customer_identity_customer;

CREATE TABLE customer_index_v2 (
    kind        TEXT NOT NULL,
    hash        BLOB NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (kind, hash, customer_id)
) WITHOUT ROWID;
INSERT INTO customer_index_v2 (kind, hash, customer_id) SELECT kind, hash, customer_id FROM customer_index;
DROP TABLE customer_index;
ALTER TABLE customer_index_v2 RENAME TO customer_index;

CREATE TABLE customer_identity_v2 (
    hash        BLOB PRIMARY KEY,
    customer_id TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO customer_identity_v2 (hash, customer_id) SELECT hash, customer_id FROM customer_identity;
DROP TABLE customer_identity;
ALTER TABLE customer_identity_v2 RENAME TO customer_identity;
