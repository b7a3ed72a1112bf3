-- PLACEHOLDER on branch duties only: versions 14-15 are reserved for other
-- branches of issue 12. Drop this file when merging (a duplicate version fails loudly).
SELECT 1;
