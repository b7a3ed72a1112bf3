-- A password set by someone else (an administrator creating the account or
-- resetting it) is a one-time credential: the user must choose their own at
-- the next sign-in before anything else works (R-C4).
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT false;
