-- Purge of expired transactions of customers whose relationship continues
-- (R-F1, R-F3). A destruction item either destroys the whole (closed)
-- customer (txn_before NULL) or deletes only the customer's transactions
-- dated before txn_before (the same time encoding as transactions.at); the
-- customer, its data key and its later transactions stay. A customer
-- appears once per batch either way.
ALTER TABLE destruction_items ADD COLUMN txn_before TIMESTAMPTZ;
