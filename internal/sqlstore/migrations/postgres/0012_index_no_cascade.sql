-- SQLite drops the foreign-key cascade of customer_index and
-- customer_identity in this version (see its 0012); PostgreSQL keeps its
-- foreign keys and the indexes of migration 0010, and the destruction
-- deletes the rows by exact key on both. Nothing changes here.
SELECT 1;
