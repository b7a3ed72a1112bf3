-- A history's totals (count and sum by currency and direction, and the
-- count of large-value records withheld) read only the index: the unique
-- key (customer, time, source, reference) also carries amount, currency and
-- direction, so summing a customer's five years visits a few index pages
-- instead of one heap page per record (R-E2, docs/performance.md).
-- Index-only scans need the visibility map, which autovacuum keeps for an
-- append-only table. SQLite keeps its rowid table and key (see 0006).
ALTER TABLE transactions DROP CONSTRAINT transactions_key;
ALTER TABLE transactions ADD CONSTRAINT transactions_key UNIQUE (cnum, at, source, reference) INCLUDE (amount, currency, direction);
