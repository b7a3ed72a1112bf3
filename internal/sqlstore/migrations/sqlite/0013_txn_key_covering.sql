-- PostgreSQL's transaction key carries amount, currency and direction from
-- this version (see its 0013). SQLite keeps the rowid table and its key: a
-- second, covering index would cost every import row another b-tree.
SELECT 1;
