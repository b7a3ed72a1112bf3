-- PLACEHOLDER on branch credentials only: versions 14-16 are reserved for other
-- branches of issue 12. Drop this file when merging (a duplicate version fails loudly).
SELECT 1;
