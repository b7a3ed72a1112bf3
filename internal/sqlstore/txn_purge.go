package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Purge of expired transactions of customers whose relationship continues
// (R-F1, R-F3); destruction_items.txn_before is in migration
// 0011_txn_purge.sql.

// TxnPurgeCandidate is a customer whose relationship continues and who has
// transactions dated before a cut-off.
type TxnPurgeCandidate struct {
	CustomerID string
	ArchiveNo  string
	Oldest     time.Time // the customer's oldest transaction
	Expired    int64     // transactions dated before the cut-off (when counted)
}

// TxnPurgeCandidates lists the customers that are not closed and have at
// least one transaction dated before the cut-off, and with count how many
// (which reads every such index entry: for a dry run, not inside a
// write). Each customer is looked up through the (customer, time) index
// prefix of the transactions, never by a scan of the table.
func (tx *Tx) TxnPurgeCandidates(ctx context.Context, before time.Time, count bool) ([]TxnPurgeCandidate, error) {
	b := tx.db.ts(before)
	counted, args := `0`, []any{b}
	if count {
		counted, args = `(SELECT count(*) FROM transactions t WHERE t.cnum = tc.cnum AND t.at < ?)`, []any{b, b}
	}
	rows, err := tx.query(ctx, `SELECT c.id, c.archive_no,
			(SELECT MIN(t.at) FROM transactions t WHERE t.cnum = tc.cnum), `+counted+`
		FROM txn_customers tc JOIN customers c ON c.id = tc.customer_id
		WHERE c.status <> 'closed' AND EXISTS (SELECT 1 FROM transactions t WHERE t.cnum = tc.cnum AND t.at < ?)
		ORDER BY c.archive_no`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TxnPurgeCandidate
	for rows.Next() {
		var c TxnPurgeCandidate
		if err := rows.Scan(&c.CustomerID, &c.ArchiveNo, scanTime{&c.Oldest}, &c.Expired); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PurgeTransactions deletes a customer's transactions dated before a
// cut-off, with the reversal records of those transactions, the oldest
// limit rows at a time: each call is meant to be its own short write, so
// that no other writer waits long (called again until done). It goes
// through the (customer, time) index. The last call also removes the
// customer's search links (txn_links) that no remaining transaction
// carries. The customer's data key, its later transactions and the
// customer itself stay. A customer with a hold in force is refused
// (ErrHeld), whatever the hold's scope.
func (tx *Tx) PurgeTransactions(ctx context.Context, customerID string, before time.Time, limit int) (txns, reversals int64, done bool, err error) {
	if before.IsZero() || limit <= 0 {
		return 0, 0, false, fmt.Errorf("purge transactions: no cut-off or slice size")
	}
	if err := tx.refuseHeld(ctx, customerID); err != nil {
		return 0, 0, false, err
	}
	if err := tx.secureDelete(ctx); err != nil {
		return 0, 0, false, err
	}
	var cnum int64
	err = tx.row(ctx, `SELECT cnum FROM txn_customers WHERE customer_id = ?`, customerID).Scan(&cnum)
	if err == sql.ErrNoRows {
		return 0, 0, true, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	op, bound := `<`, tx.db.ts(before)
	done = true
	var last time.Time
	err = tx.row(ctx, `SELECT at FROM transactions WHERE cnum = ? AND at < ? ORDER BY at LIMIT 1 OFFSET ?`, cnum, bound, limit-1).Scan(scanTime{&last})
	switch {
	case err == sql.ErrNoRows: // fewer than limit left: all of them
	case err != nil:
		return 0, 0, false, err
	default:
		op, bound, done = `<=`, tx.db.ts(last), false
	}
	res, err := tx.exec(ctx, `DELETE FROM transactions WHERE cnum = ? AND at `+op+` ?`, cnum, bound)
	if err != nil {
		return 0, 0, false, fmt.Errorf("purge transactions: %w", err)
	}
	txns, _ = res.RowsAffected()
	res, err = tx.exec(ctx, `DELETE FROM txn_reversals WHERE cnum = ? AND at `+op+` ?`, cnum, bound)
	if err != nil {
		return 0, 0, false, fmt.Errorf("purge reversal records: %w", err)
	}
	reversals, _ = res.RowsAffected()
	if done {
		// The customer's links from a blind index (account, counterparty
		// account or name) that no remaining transaction carries would
		// still tell that the customer once dealt with that counterparty.
		_, err = tx.exec(ctx, `DELETE FROM txn_links WHERE cnum = ? AND ix NOT IN (
			SELECT account_ix FROM transactions WHERE cnum = ?
			UNION SELECT cp_account_ix FROM transactions WHERE cnum = ? AND cp_account_ix IS NOT NULL
			UNION SELECT cp_name_ix FROM transactions WHERE cnum = ? AND cp_name_ix IS NOT NULL)`, cnum, cnum, cnum, cnum)
		if err != nil {
			return 0, 0, false, fmt.Errorf("purge transaction links: %w", err)
		}
	}
	return txns, reversals, done, nil
}

// SetBatchCounts stores the counts of a batch so far.
func (tx *Tx) SetBatchCounts(ctx context.Context, batchID int64, counts map[string]int64) error {
	b, err := json.Marshal(counts)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `UPDATE destruction_batches SET counts = ? WHERE id = ?`, string(b), batchID)
	return err
}
