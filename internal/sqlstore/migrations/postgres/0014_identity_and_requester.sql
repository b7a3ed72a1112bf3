-- A verification is bound to the identity it checked (R-A5, R-A10): a keyed
-- digest of the identity fields and the evidence examined. Rows from before
-- this migration have none and keep the meaning they had.
ALTER TABLE verifications ADD COLUMN identity_digest BYTEA;

-- A customer's own request from the self-service portal (R-B5) is the
-- customer's: requested_by then names the account manager responsible when
-- it was filed (the column must name a user), never its requester.
ALTER TABLE requests ADD COLUMN requester_customer BOOLEAN NOT NULL DEFAULT FALSE;
