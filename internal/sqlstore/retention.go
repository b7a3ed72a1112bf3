package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/custos-cim/custos"
)

// Retention, legal holds and destruction (R-F1–R-F4); the tables are in
// migration 0010_retention.sql.

// ClosureRecord is a closed relationship.
type ClosureRecord struct {
	CustomerID      string
	RelationshipEnd string // YYYY-MM-DD
	DocExpiry       string // YYYY-MM-DD or ""
	ReasonCT        []byte
	ClosedBy        int64
	ClosedAt        time.Time
}

// InsertClosure records that a customer's relationship ended.
func (tx *Tx) InsertClosure(ctx context.Context, c *ClosureRecord) error {
	_, err := tx.exec(ctx, `INSERT INTO customer_closures (customer_id, relationship_end, doc_expiry, reason_ct, closed_by, closed_at)
		VALUES (?, ?, ?, ?, ?, ?)`, c.CustomerID, c.RelationshipEnd, c.DocExpiry, c.ReasonCT, c.ClosedBy, tx.db.ts(c.ClosedAt))
	if isUnique(err) {
		return custos.Errorf(custos.EConflict, "该客户关系已终止", "the relationship has already ended")
	}
	return err
}

// Closure loads a customer's closure.
func (tx *Tx) Closure(ctx context.Context, customerID string) (*ClosureRecord, error) {
	var c ClosureRecord
	err := tx.row(ctx, `SELECT customer_id, relationship_end, doc_expiry, reason_ct, closed_by, closed_at FROM customer_closures WHERE customer_id = ?`,
		customerID).Scan(&c.CustomerID, &c.RelationshipEnd, &c.DocExpiry, &c.ReasonCT, &c.ClosedBy, scanTime{&c.ClosedAt})
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// RetentionCandidate is a closed customer whose data key still exists,
// with the dates its retention clock can start from.
type RetentionCandidate struct {
	CustomerID      string
	ArchiveNo       string
	RelationshipEnd string
	DocExpiry       string
	LastTxn         *time.Time
}

// RetentionCandidates lists the closed customers not yet destroyed.
func (tx *Tx) RetentionCandidates(ctx context.Context) ([]RetentionCandidate, error) {
	rows, err := tx.query(ctx, `SELECT c.id, c.archive_no, cl.relationship_end, cl.doc_expiry,
			(SELECT MAX(t.at) FROM transactions t WHERE t.cnum = (SELECT tc.cnum FROM txn_customers tc WHERE tc.customer_id = c.id))
		FROM customer_closures cl JOIN customers c ON c.id = cl.customer_id
		WHERE c.status = 'closed' AND EXISTS (SELECT 1 FROM customer_keys k WHERE k.customer_id = c.id)
		ORDER BY c.archive_no`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RetentionCandidate
	for rows.Next() {
		var c RetentionCandidate
		if err := rows.Scan(&c.CustomerID, &c.ArchiveNo, &c.RelationshipEnd, &c.DocExpiry, scanTimePtr{&c.LastTxn}); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// HoldRecord is a legal hold as stored: its reason is encrypted under the
// customer's data key.
type HoldRecord struct {
	custos.LegalHold
	ReasonCT []byte
}

const holdColumns = `h.id, h.customer_id, COALESCE(c.archive_no, ''), h.scope, h.txn_from, h.txn_to, h.case_ref, h.reason_ct, h.owner_id,
	h.placed_by, h.placed_at, h.released_at, h.release_request`

const holdFrom = ` FROM legal_holds h LEFT JOIN customers c ON c.id = h.customer_id`

func scanHold(s scanner) (*HoldRecord, error) {
	var h HoldRecord
	var scope string
	if err := s.Scan(&h.ID, &h.CustomerID, &h.ArchiveNo, &scope, &h.TxnFrom, &h.TxnTo, &h.CaseRef, &h.ReasonCT, &h.OwnerID,
		&h.PlacedBy, scanTime{&h.PlacedAt}, scanTimePtr{&h.ReleasedAt}, &h.ReleaseRequest); err != nil {
		return nil, notFound(err)
	}
	h.Scope = custos.HoldScope(scope)
	return &h, nil
}

// InsertHold stores a new legal hold.
func (tx *Tx) InsertHold(ctx context.Context, h *HoldRecord) error {
	return tx.row(ctx, `INSERT INTO legal_holds (customer_id, scope, txn_from, txn_to, case_ref, reason_ct, owner_id, placed_by, placed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, h.CustomerID, string(h.Scope), h.TxnFrom, h.TxnTo, h.CaseRef, h.ReasonCT,
		h.OwnerID, h.PlacedBy, tx.db.ts(h.PlacedAt)).Scan(&h.ID)
}

// Hold loads one legal hold.
func (tx *Tx) Hold(ctx context.Context, id int64) (*HoldRecord, error) {
	return scanHold(tx.row(ctx, `SELECT `+holdColumns+holdFrom+` WHERE h.id = ?`, id))
}

// Holds lists legal holds, newest first: of one customer (customerID != "")
// and only those in force (activeOnly).
func (tx *Tx) Holds(ctx context.Context, customerID string, activeOnly bool) ([]*HoldRecord, error) {
	q, args := `SELECT `+holdColumns+holdFrom+` WHERE 1=1`, []any{}
	if customerID != "" {
		q, args = q+` AND h.customer_id = ?`, append(args, customerID)
	}
	if activeOnly {
		q += ` AND h.released_at IS NULL`
	}
	rows, err := tx.query(ctx, q+` ORDER BY h.id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*HoldRecord
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ReleaseHold ends a hold in force, naming the approved request that ended it.
func (tx *Tx) ReleaseHold(ctx context.Context, id, requestID int64, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE legal_holds SET released_at = ?, release_request = ? WHERE id = ? AND released_at IS NULL`,
		tx.db.ts(at), requestID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.Errorf(custos.EConflict, "该保全已解除", "the hold has already been released")
	}
	return nil
}

// HeldCustomers returns the customers with a hold in force of any scope:
// a hold on transactions also keeps the customer's data key, which the
// transactions are encrypted under.
func (tx *Tx) HeldCustomers(ctx context.Context) (map[string]bool, error) {
	rows, err := tx.query(ctx, `SELECT DISTINCT customer_id FROM legal_holds WHERE released_at IS NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// BatchRecord is a destruction batch with its certificate.
type BatchRecord struct {
	custos.DestructionBatch
	CertificateJSON string
	CertificatePDF  []byte
}

const batchColumns = `id, state, reason, created_by, created_at, request_id, witness_id, witnessed_at, executed_by, executed_at, counts`

func scanBatch(s scanner, extra ...any) (*BatchRecord, error) {
	var b BatchRecord
	var state, counts string
	dest := []any{&b.ID, &state, &b.Reason, &b.CreatedBy, scanTime{&b.CreatedAt}, &b.RequestID, &b.WitnessID, scanTimePtr{&b.WitnessedAt},
		&b.ExecutedBy, scanTimePtr{&b.ExecutedAt}, &counts}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, notFound(err)
	}
	b.State = custos.DestructionState(state)
	if counts != "" && counts != "{}" {
		if err := json.Unmarshal([]byte(counts), &b.Counts); err != nil {
			return nil, fmt.Errorf("batch %d counts: %w", b.ID, err)
		}
	}
	return &b, nil
}

// InsertBatch stores a new destruction batch with its items.
func (tx *Tx) InsertBatch(ctx context.Context, b *custos.DestructionBatch) error {
	if err := tx.row(ctx, `INSERT INTO destruction_batches (state, reason, created_by, created_at, request_id) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		string(b.State), b.Reason, b.CreatedBy, tx.db.ts(b.CreatedAt), b.RequestID).Scan(&b.ID); err != nil {
		return err
	}
	return tx.ReplaceBatchItems(ctx, b.ID, b.Items)
}

// ReplaceBatchItems sets the items of a batch.
func (tx *Tx) ReplaceBatchItems(ctx context.Context, batchID int64, items []custos.DestructionItem) error {
	if _, err := tx.exec(ctx, `DELETE FROM destruction_items WHERE batch_id = ?`, batchID); err != nil {
		return err
	}
	for _, it := range items {
		if it.State == "" {
			it.State = custos.ItemListed
		}
		var before any
		if it.TransactionsOnly() {
			before = tx.db.ts(it.TxnBefore)
		}
		if _, err := tx.exec(ctx, `INSERT INTO destruction_items (batch_id, customer_id, archive_no, due_at, state, txn_before) VALUES (?, ?, ?, ?, ?, ?)`,
			batchID, it.CustomerID, it.ArchiveNo, it.DueAt, it.State, before); err != nil {
			return err
		}
	}
	return nil
}

// SetBatchItemState records what happened to one item.
func (tx *Tx) SetBatchItemState(ctx context.Context, batchID int64, customerID, state string) error {
	_, err := tx.exec(ctx, `UPDATE destruction_items SET state = ? WHERE batch_id = ? AND customer_id = ?`, state, batchID, customerID)
	return err
}

// Batch loads a batch with its items, and its certificate if withCert.
func (tx *Tx) Batch(ctx context.Context, id int64, withCert bool) (*BatchRecord, error) {
	var b *BatchRecord
	var err error
	if withCert {
		var js string
		var pdf []byte
		b, err = scanBatch(tx.row(ctx, `SELECT `+batchColumns+`, certificate_json, certificate_pdf FROM destruction_batches WHERE id = ?`, id), &js, &pdf)
		if err == nil {
			b.CertificateJSON, b.CertificatePDF = js, pdf
		}
	} else {
		b, err = scanBatch(tx.row(ctx, `SELECT `+batchColumns+` FROM destruction_batches WHERE id = ?`, id))
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, `SELECT customer_id, archive_no, due_at, state, txn_before FROM destruction_items WHERE batch_id = ? ORDER BY archive_no`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var it custos.DestructionItem
		var before *time.Time
		if err := rows.Scan(&it.CustomerID, &it.ArchiveNo, &it.DueAt, &it.State, scanTimePtr{&before}); err != nil {
			return nil, err
		}
		if before != nil {
			it.TxnBefore = before.UTC()
		}
		b.Items = append(b.Items, it)
	}
	return b, rows.Err()
}

// BatchByRequest finds the batch a KindDestruction request is about.
func (tx *Tx) BatchByRequest(ctx context.Context, requestID int64) (*BatchRecord, error) {
	var id int64
	if err := tx.row(ctx, `SELECT id FROM destruction_batches WHERE request_id = ?`, requestID).Scan(&id); err != nil {
		return nil, notFound(err)
	}
	return tx.Batch(ctx, id, false)
}

// Batches lists destruction batches, newest first, without items; state
// "" lists all.
func (tx *Tx) Batches(ctx context.Context, state custos.DestructionState, limit int) ([]*custos.DestructionBatch, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q, args := `SELECT `+batchColumns+` FROM destruction_batches`, []any{}
	if state != "" {
		q, args = q+` WHERE state = ?`, append(args, string(state))
	}
	rows, err := tx.query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*custos.DestructionBatch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, &b.DestructionBatch)
	}
	return out, rows.Err()
}

// UpdateBatch stores a batch's state, request, witness, execution, counts
// and certificate.
func (tx *Tx) UpdateBatch(ctx context.Context, b *BatchRecord) error {
	counts := "{}"
	if len(b.Counts) > 0 {
		c, _ := json.Marshal(b.Counts)
		counts = string(c)
	}
	_, err := tx.exec(ctx, `UPDATE destruction_batches SET state = ?, reason = ?, request_id = ?, witness_id = ?, witnessed_at = ?, executed_by = ?,
		executed_at = ?, counts = ?, certificate_json = ?, certificate_pdf = ? WHERE id = ?`,
		string(b.State), b.Reason, b.RequestID, b.WitnessID, tx.db.tsp(b.WitnessedAt), b.ExecutedBy, tx.db.tsp(b.ExecutedAt), counts,
		b.CertificateJSON, b.CertificatePDF, b.ID)
	return err
}

// OpenBatchCustomers returns the customers still listed in batches of the
// given states, with their batch.
func (tx *Tx) OpenBatchCustomers(ctx context.Context, states ...custos.DestructionState) (map[string]int64, error) {
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = string(s)
	}
	if len(args) == 0 {
		return map[string]int64{}, nil
	}
	rows, err := tx.query(ctx, `SELECT i.customer_id, i.batch_id FROM destruction_items i JOIN destruction_batches b ON b.id = i.batch_id
		WHERE b.state IN (`+placeholders(len(args))+`) AND i.state = 'listed'`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var b int64
		if err := rows.Scan(&id, &b); err != nil {
			return nil, err
		}
		out[id] = b
	}
	return out, rows.Err()
}

// ErrHeld refuses to destroy a customer with a legal hold in force.
var ErrHeld = custos.Errorf(custos.EConflict, "客户处于法律保全中，不能销毁", "the customer is under a legal hold and cannot be destroyed")

// destroyCounted are the tables counted for a destruction certificate:
// what the certificate calls them, and the query that counts one
// customer's rows.
var destroyCounted = []struct{ name, q string }{
	{"versions", `SELECT count(*) FROM customer_versions WHERE customer_id = ?`},
	{"attachments", `SELECT count(*) FROM attachments WHERE customer_id = ?`},
	{"timeline", `SELECT count(*) FROM timeline WHERE customer_id = ?`},
	{"verifications", `SELECT count(*) FROM verifications WHERE customer_id = ?`},
	{"business_records", `SELECT count(*) FROM business_records WHERE customer_id = ?`},
	{"paper_files", `SELECT count(*) FROM paper_files WHERE customer_id = ?`},
	{"requests", `SELECT count(*) FROM requests WHERE customer_id = ?`},
	{"grants", `SELECT count(*) FROM grants WHERE customer_id = ?`},
	{"transactions", `SELECT count(*) FROM transactions WHERE cnum = (SELECT cnum FROM txn_customers WHERE customer_id = ?)`},
}

func (tx *Tx) refuseHeld(ctx context.Context, id string) error {
	var held int
	if err := tx.row(ctx, `SELECT count(*) FROM legal_holds WHERE customer_id = ? AND released_at IS NULL`, id).Scan(&held); err != nil {
		return err
	}
	if held > 0 {
		return ErrHeld
	}
	return nil
}

// ShredCustomer is the first step of destroying a customer: it counts what
// the customer has, for the certificate, and deletes its wrapped data key,
// after which everything encrypted under it is unreadable
// (crypto-shredding). A customer with a hold in force is refused.
// DeleteTransactions and DeleteCustomer then remove the rows.
func (tx *Tx) ShredCustomer(ctx context.Context, id string) (map[string]int64, error) {
	if err := tx.refuseHeld(ctx, id); err != nil {
		return nil, err
	}
	if err := tx.secureDelete(ctx); err != nil {
		return nil, err
	}
	counts := map[string]int64{"customers": 1}
	for _, c := range destroyCounted {
		var n int64
		if err := tx.row(ctx, c.q, id).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", c.name, err)
		}
		counts[c.name] = n
	}
	res, err := tx.exec(ctx, `DELETE FROM customer_keys WHERE customer_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("shred data key: %w", err)
	}
	counts["data_keys"], _ = res.RowsAffected()
	return counts, nil
}

// secureDelete makes SQLite overwrite deleted content with zeros. It is
// set for every connection when the store opens; stated again here so
// that a destruction cannot lose it.
func (tx *Tx) secureDelete(ctx context.Context) error {
	if tx.db.dialect != SQLite {
		return nil
	}
	_, err := tx.exec(ctx, `PRAGMA secure_delete = ON`)
	return err
}

// DeleteTransactions deletes transactions of customers whose data keys are
// already shredded, in slices of about limit rows, each its own short
// write, so that no other writer waits long. Given several customers it
// deletes all their transactions (the caller groups customers so that
// they hold about limit rows between them); given one, it deletes its
// oldest limit rows. Both go through the (customer, time) index. done
// reports that the customers have no transactions left.
func (tx *Tx) DeleteTransactions(ctx context.Context, customerIDs []string, limit int) (n int64, done bool, err error) {
	if len(customerIDs) == 0 {
		return 0, true, nil
	}
	if err := tx.secureDelete(ctx); err != nil {
		return 0, false, err
	}
	args := make([]any, len(customerIDs))
	for i, id := range customerIDs {
		args[i] = id
	}
	rows, err := tx.query(ctx, `SELECT cnum FROM txn_customers WHERE customer_id IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return 0, false, err
	}
	var cnums []any
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return 0, false, err
		}
		cnums = append(cnums, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(cnums) == 0 {
		return 0, err == nil, err
	}
	q, qargs := `DELETE FROM transactions WHERE cnum IN (`+placeholders(len(cnums))+`)`, cnums
	done = true
	if len(cnums) == 1 {
		var bound time.Time
		err := tx.row(ctx, `SELECT at FROM transactions WHERE cnum = ? ORDER BY at LIMIT 1 OFFSET ?`, cnums[0], limit-1).Scan(scanTime{&bound})
		switch {
		case err == sql.ErrNoRows: // fewer than limit left: all of them
		case err != nil:
			return 0, false, err
		default:
			q, qargs, done = `DELETE FROM transactions WHERE cnum = ? AND at <= ?`, []any{cnums[0], tx.db.ts(bound)}, false
		}
	}
	res, err := tx.exec(ctx, q, qargs...)
	if err != nil {
		return 0, false, fmt.Errorf("delete transactions: %w", err)
	}
	n, err = res.RowsAffected()
	return n, done, err
}

// DeleteCustomer is the last step of destroying a customer: its remaining
// transactions with their links and reversals, then the customer, whose
// archive versions, attachments and their contents, timeline,
// verifications, business records, paper files and their movements,
// requests, grants, indexes, portfolio entries and closure go with it
// (ON DELETE CASCADE). Audit events are kept: they hold only HMAC
// references. A customer with a hold in force is refused.
func (tx *Tx) DeleteCustomer(ctx context.Context, id string) error {
	if err := tx.refuseHeld(ctx, id); err != nil {
		return err
	}
	if err := tx.secureDelete(ctx); err != nil {
		return err
	}
	var cnum int64
	err := tx.row(ctx, `SELECT cnum FROM txn_customers WHERE customer_id = ?`, id).Scan(&cnum)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return err
	default:
		for _, q := range []string{`DELETE FROM transactions WHERE cnum = ?`, `DELETE FROM txn_reversals WHERE cnum = ?`,
			`DELETE FROM txn_links WHERE cnum = ?`, `DELETE FROM txn_customers WHERE cnum = ?`} {
			if _, err := tx.exec(ctx, q, cnum); err != nil {
				return fmt.Errorf("delete transaction records: %w", err)
			}
		}
	}
	// The export log keeps its entries; only their link to the customer's
	// requests, which go with the customer, is cut.
	if _, err := tx.exec(ctx, `UPDATE exports SET request_id = NULL WHERE request_id IN (SELECT id FROM requests WHERE customer_id = ?)`, id); err != nil {
		return fmt.Errorf("unlink exports: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM customer_keys WHERE customer_id = ?`, id); err != nil {
		return err
	}
	res, err := tx.exec(ctx, `DELETE FROM customers WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete customer: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.ErrNotFound
	}
	return nil
}

// destroyTouched are the tables a destruction deletes from, directly or by
// cascade: PostgreSQL vacuums them afterwards.
var destroyTouched = []string{"customers", "customer_keys", "customer_classes", "customer_index", "customer_identity", "customer_versions",
	"customer_closures", "portfolio", "grants", "timeline", "attachments", "attachment_blobs", "verifications", "business_records",
	"paper_files", "paper_movements", "requests", "request_decisions", "transactions", "txn_links", "txn_reversals", "txn_customers"}

// SecureFreedSpace makes the space freed by a destruction unreadable
// through the database, and says how. SQLite: the deletes ran with
// secure_delete, which overwrites deleted content with zeros; a TRUNCATE
// checkpoint then copies the WAL into the file and empties the WAL, so no
// old page image is left in it (retried while readers hold an older
// snapshot). PostgreSQL: VACUUM of every touched table removes the dead
// row versions and returns their space for reuse (it does not overwrite
// the disk blocks; see docs/backup.md).
func (db *DB) SecureFreedSpace(ctx context.Context) (string, error) {
	if db.dialect == SQLite {
		return db.truncateWAL(ctx)
	}
	vacuumed := 0
	for _, t := range destroyTouched {
		var exists bool
		if err := db.w.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, t).Scan(&exists); err != nil {
			return "", err
		}
		if !exists {
			continue
		}
		if _, err := db.w.ExecContext(ctx, `VACUUM `+t); err != nil {
			return "", fmt.Errorf("vacuum %s: %w", t, err)
		}
		vacuumed++
	}
	return fmt.Sprintf("postgresql VACUUM of %d tables", vacuumed), nil
}

// CountKeysNotUnder counts the data keys not wrapped under a KEK version.
func (tx *Tx) CountKeysNotUnder(ctx context.Context, kekID int64) (int64, error) {
	var n int64
	err := tx.row(ctx, `SELECT count(*) FROM customer_keys WHERE kek_id <> ?`, kekID).Scan(&n)
	return n, err
}

// FlagIDExpiry records that a customer's identity document expired on a
// date; it reports whether the flag is new.
func (tx *Tx) FlagIDExpiry(ctx context.Context, customerID, expiredOn string, at time.Time) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO id_expiry_flags (customer_id, expired_on, flagged_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		customerID, expiredOn, tx.db.ts(at))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// truncateWAL copies the WAL into the database file and empties it. A
// passive checkpoint first copies without holding up anyone; then TRUNCATE,
// which blocks new writers while it waits for readers on older snapshots,
// is tried with a short busy timeout, again and again, so that no writer
// (nor a read, whose audit event is a write) waits long.
func (db *DB) truncateWAL(ctx context.Context) (string, error) {
	if _, _, err := db.Checkpoint(ctx, "PASSIVE"); err != nil {
		return "", fmt.Errorf("wal checkpoint: %w", err)
	}
	var walSize int64 = -1
	for attempt := 0; attempt < 300; attempt++ {
		emptied, size, err := db.tryTruncateWAL(ctx, 40)
		if err != nil {
			return "", err
		}
		if walSize = size; emptied {
			return "sqlite secure_delete=ON; wal_checkpoint(TRUNCATE): WAL emptied", nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("the WAL could not be emptied (%d bytes left): readers kept an old snapshot", walSize)
}

// isBusy reports SQLite's busy or locked error.
func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// trimWALSize is the WAL size above which TrimWAL checkpoints.
const trimWALSize = 16 << 20

// TrimWAL runs a passive checkpoint when the SQLite WAL has grown past
// trimWALSize, during long deletions: it holds up nobody, where a large
// WAL would later cost the background checkpointer a long, blocking
// TRUNCATE. It does nothing on PostgreSQL.
func (db *DB) TrimWAL(ctx context.Context) error {
	if db.dialect != SQLite {
		return nil
	}
	if st, err := os.Stat(db.path + "-wal"); err != nil || st.Size() < trimWALSize {
		return nil
	}
	_, _, err := db.Checkpoint(ctx, "PASSIVE")
	return err
}
