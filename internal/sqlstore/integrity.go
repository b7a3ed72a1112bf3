package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
)

// Tamper evidence of the rows a decision depends on (R-D3). The audit
// trail is hash-chained and signed; but a permission decision reads a
// customer's owner, unit, sensitivity and status, and a statement reads a
// transaction's amount, straight from their rows. Someone who can write
// the database could change them unnoticed. So every such row carries
// row_mac: an HMAC (seal.RecordMAC) under the record key, which lives with
// the other keys outside the database, over the row's security-relevant
// columns in a fixed, length-prefixed encoding. Every insert and update in
// this package writes it; every load of such a row checks it, and a
// mismatch (or a missing tag) fails closed: the load returns an
// *IntegrityError instead of the row, and the alarm set with
// SetIntegrityAlarm is raised once the transaction is over. The tag does
// not stop a whole old row (with its old tag) from being put back; the
// audit trail records every change for that.
//
// Covered: customers (id, archive number, type, unit, owner, category,
// status, sensitivity, protection reason, verification, building, classes
// — risk level and tier —, version); txn_customers (which customer a
// transaction number belongs to); transactions (number, time, source,
// reference, amount, currency, direction, type, channel, counterparty
// bank, reversal, batch).
//
// Not covered: aggregates computed by the database (the totals and the
// withheld count of a transaction search sum rows it does not hand over;
// a changed amount outside the page shows there until the page holding it
// is read or VerifyRecords runs), and tables other than these three
// (users, grants, portfolios).

// RecordMAC computes and checks row tags; seal.RecordMAC implements it.
type RecordMAC interface {
	MAC(dst, msg []byte) []byte
	Verify(msg, tag []byte) bool
}

// SetRecordMAC sets the key that tags rows. A store without one refuses to
// write or read tagged rows.
func (db *DB) SetRecordMAC(m RecordMAC) { db.rmac = m }

// SetIntegrityAlarm sets what is called, outside any transaction, when a
// row fails its check: the services record an audit event. It must not
// block for long.
func (db *DB) SetIntegrityAlarm(fn func(context.Context, *IntegrityError)) { db.alarm = fn }

// The tables whose rows are tagged.
const (
	TableCustomers    = "customers"
	TableTxnCustomers = "txn_customers"
	TableTransactions = "transactions"
)

// IntegrityError is a stored row that failed its check: changed outside
// Custos, or tagged with another record key. It names the table and the
// row's customer (for the alarm's reference), never a value.
type IntegrityError struct {
	Table      string
	CustomerID string // "" when unknown (a transaction row whose number is not resolved)
	Row        string // a non-personal locator: the transaction id or number
	raised     atomic.Bool
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("sqlstore: a row of %s failed its integrity check (changed outside Custos or tagged with another record key)", e.Table)
}

// ErrIntegrity is matched by every *IntegrityError (errors.Is).
var ErrIntegrity = errors.New("sqlstore: integrity check failed")

// Is makes errors.Is(err, ErrIntegrity) hold.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }

var errNoRecordKey = errors.New("sqlstore: no record key set (SetRecordMAC): tagged rows cannot be written or read")

// raise calls the alarm once per error.
func (db *DB) raise(ctx context.Context, e *IntegrityError) {
	if db.alarm != nil && e.raised.CompareAndSwap(false, true) {
		db.alarm(context.WithoutCancel(ctx), e)
	}
}

// raiseFrom raises the alarm of an integrity error inside err, if any and
// not yet raised.
func (db *DB) raiseFrom(ctx context.Context, err error) {
	var ie *IntegrityError
	if errors.As(err, &ie) {
		db.raise(ctx, ie)
	}
}

// mismatch builds the error of a row that failed its check. Outside the
// writer's transaction the alarm is raised at once; inside it, Write raises
// it after the transaction ended, because the alarm itself is a write.
func (tx *Tx) mismatch(ctx context.Context, table, customerID, row string) error {
	e := &IntegrityError{Table: table, CustomerID: customerID, Row: row}
	if !tx.batched {
		tx.db.raise(ctx, e)
	}
	return e
}

// macMsg builds a row's message: a domain string naming the table, then
// each column length-prefixed (strings) or as a varint (integers), so no
// two different rows encode alike.
type macMsg []byte

func newMsg(table string) macMsg { return newMsgInto(make([]byte, 0, 160), table) }

// newMsgInto starts a row's message in b.
func newMsgInto(b []byte, table string) macMsg {
	b = append(b, "custos/row/v1|"...)
	b = append(b, table...)
	return append(b, 0)
}

func (m macMsg) str(s string) macMsg {
	m = binary.AppendUvarint(m, uint64(len(s)))
	return append(m, s...)
}

func (m macMsg) int(v int64) macMsg { return binary.AppendVarint(m, v) }

// customerSeal is what a customer's tag covers, as stored.
type customerSeal struct {
	ID, ArchiveNo, Type           string
	OrgID, OwnerID                int64
	Category, Status, Sensitivity string
	ProtectedReason, Verification string
	Building, Classes             string // classes: the stored JSON text
	Version                       int64
}

func (s *customerSeal) msg() []byte {
	return newMsg(TableCustomers).str(s.ID).str(s.ArchiveNo).str(s.Type).int(s.OrgID).int(s.OwnerID).str(s.Category).
		str(s.Status).str(s.Sensitivity).str(s.ProtectedReason).str(s.Verification).str(s.Building).str(s.Classes).int(s.Version)
}

func sealOfRecord(r *CustomerRecord, classes string) customerSeal {
	return customerSeal{ID: r.ID, ArchiveNo: r.ArchiveNo, Type: string(r.Type), OrgID: r.OrgID, OwnerID: r.OwnerID, Category: r.Category,
		Status: string(r.Status), Sensitivity: string(r.Sensitivity), ProtectedReason: r.ProtectedReason, Verification: string(r.Verification),
		Building: r.Building, Classes: classes, Version: r.Version}
}

// customerSealColumns select a customerSeal and the tag, over customers c.
const customerSealColumns = `c.id, c.archive_no, c.type, c.org_id, c.owner_id, c.category, c.status, c.sensitivity, c.protected_reason,
	c.verification, c.building, c.classes, c.version, c.row_mac`

func (s *customerSeal) dest(tag *[]byte) []any {
	return []any{&s.ID, &s.ArchiveNo, &s.Type, &s.OrgID, &s.OwnerID, &s.Category, &s.Status, &s.Sensitivity, &s.ProtectedReason,
		&s.Verification, &s.Building, &s.Classes, &s.Version, tag}
}

func (db *DB) tag(msg []byte) ([]byte, error) {
	if db.rmac == nil {
		return nil, errNoRecordKey
	}
	return db.rmac.MAC(nil, msg), nil
}

// checkCustomer verifies a loaded customer's tag.
func (tx *Tx) checkCustomer(ctx context.Context, s *customerSeal, tag []byte) error {
	if tx.db.rmac == nil {
		return errNoRecordKey
	}
	if !tx.db.rmac.Verify(s.msg(), tag) {
		return tx.mismatch(ctx, TableCustomers, s.ID, "")
	}
	return nil
}

func txnCustomerMsg(cnum int64, customerID string) []byte {
	return newMsg(TableTxnCustomers).int(cnum).str(customerID)
}

func (db *DB) txnMsg(m macMsg, r *TxnRecord) macMsg {
	return m.int(r.CNum).int(r.At.UnixMicro()).str(r.Source).str(r.Reference).int(r.Amount).str(r.Currency).str(r.Direction).
		str(r.Type).str(r.Channel).str(r.CPBank).str(r.ReversalOf).int(r.BatchID)
}

// checkTxn verifies a loaded transaction's tag.
func (tx *Tx) checkTxn(ctx context.Context, r *TxnRecord, tag []byte) error {
	if tx.db.rmac == nil {
		return errNoRecordKey
	}
	if !tx.db.rmac.Verify(tx.db.txnMsg(newMsg(TableTransactions), r), tag) {
		return tx.mismatch(ctx, TableTransactions, "", r.TxnKey.String())
	}
	return nil
}

// KeyChecks returns the recorded key checks by purpose (see migration 0015).
func (tx *Tx) KeyChecks(ctx context.Context) (map[string]string, error) {
	rows, err := tx.query(ctx, `SELECT purpose, value FROM key_checks`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var p, v string
		if err := rows.Scan(&p, &v); err != nil {
			return nil, err
		}
		out[p] = v
	}
	return out, rows.Err()
}

// PutKeyCheck records a key check unless the purpose has one already (then
// the recorded one stays, and the caller compares it again).
func (tx *Tx) PutKeyCheck(ctx context.Context, purpose, value string) error {
	_, err := tx.exec(ctx, `INSERT INTO key_checks (purpose, value, created_at) VALUES (?, ?, ?) ON CONFLICT (purpose) DO NOTHING`,
		purpose, value, tx.db.ts(tx.Now()))
	return err
}

// ReplaceKeyCheck replaces a key check if it is still old (a KEK check
// value rewrapped under a new KEK version).
func (tx *Tx) ReplaceKeyCheck(ctx context.Context, purpose, old, value string) error {
	_, err := tx.exec(ctx, `UPDATE key_checks SET value = ? WHERE purpose = ? AND value = ?`, value, purpose, old)
	return err
}

// HoldsData reports whether the store holds anything keys were used for:
// users, customers, audit events or recorded key checks. Only a store that
// does not may be given fresh keys.
func (tx *Tx) HoldsData(ctx context.Context) (bool, error) {
	var n int
	err := tx.row(ctx, `SELECT (SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) u) + (SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1) c)
		+ (SELECT count(*) FROM (SELECT 1 FROM audit_events LIMIT 1) a) + (SELECT count(*) FROM (SELECT 1 FROM key_checks LIMIT 1) k)`).Scan(&n)
	return n > 0, err
}

// FirstCustomerKey returns the wrapped data key of one customer (ok=false
// when there is none), for checking a KEK against a store that recorded
// no KEK check.
func (tx *Tx) FirstCustomerKey(ctx context.Context) (id string, wrapped []byte, ok bool, err error) {
	err = tx.row(ctx, `SELECT customer_id, wrapped FROM customer_keys ORDER BY customer_id LIMIT 1`).Scan(&id, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	return id, wrapped, err == nil, err
}

// sealBatch is how many rows one write of SealUntagged tags.
const sealBatch = 500

// SealUntagged tags every row that has no tag: the rows stored before
// migration 0015. It runs once, when the record key is first recorded for
// the store (app.OpenKeys); afterwards an untagged row is a row tampered
// with, and nothing tags it. Rows are tagged in short writes; it can be
// interrupted and run again.
func (db *DB) SealUntagged(ctx context.Context, progress func(table string, done int64)) (int64, error) {
	var total int64
	// Customers.
	for {
		var n int
		err := db.Write(ctx, func(tx *Tx) error {
			n = 0
			rows, err := tx.query(ctx, `SELECT `+customerSealColumns+` FROM customers c WHERE c.row_mac IS NULL ORDER BY c.id LIMIT ?`, sealBatch)
			if err != nil {
				return err
			}
			var todo []customerSeal
			for rows.Next() {
				var cs customerSeal
				var tag []byte
				if err := rows.Scan(cs.dest(&tag)...); err != nil {
					rows.Close()
					return err
				}
				todo = append(todo, cs)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for i := range todo {
				tag, err := db.tag(todo[i].msg())
				if err != nil {
					return err
				}
				if _, err := tx.exec(ctx, `UPDATE customers SET row_mac = ? WHERE id = ? AND row_mac IS NULL`, tag, todo[i].ID); err != nil {
					return err
				}
			}
			n = len(todo)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("tag customers: %w", err)
		}
		total += int64(n)
		if progress != nil && n > 0 {
			progress(TableCustomers, total)
		}
		if n < sealBatch {
			break
		}
	}
	// Transaction customer numbers.
	for {
		var n int
		err := db.Write(ctx, func(tx *Tx) error {
			n = 0
			rows, err := tx.query(ctx, `SELECT cnum, customer_id FROM txn_customers WHERE row_mac IS NULL ORDER BY cnum LIMIT ?`, sealBatch)
			if err != nil {
				return err
			}
			type tc struct {
				cnum int64
				id   string
			}
			var todo []tc
			for rows.Next() {
				var t tc
				if err := rows.Scan(&t.cnum, &t.id); err != nil {
					rows.Close()
					return err
				}
				todo = append(todo, t)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, t := range todo {
				tag, err := db.tag(txnCustomerMsg(t.cnum, t.id))
				if err != nil {
					return err
				}
				if _, err := tx.exec(ctx, `UPDATE txn_customers SET row_mac = ? WHERE cnum = ? AND row_mac IS NULL`, tag, t.cnum); err != nil {
					return err
				}
			}
			n = len(todo)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("tag transaction customer numbers: %w", err)
		}
		total += int64(n)
		if n < sealBatch {
			break
		}
	}
	// Transactions, in key order after the last one tagged.
	var after *TxnKey
	var done int64
	for {
		var n int
		var last TxnKey
		err := db.Write(ctx, func(tx *Tx) error {
			n = 0
			q := txnSelect + ` WHERE t.row_mac IS NULL`
			var args []any
			if after != nil {
				q += ` AND (t.cnum, t.at, t.source, t.reference) > (?, ?, ?, ?)`
				args = append(args, after.CNum, db.ts(after.At), after.Source, after.Reference)
			}
			rows, err := tx.query(ctx, q+` ORDER BY t.cnum, t.at, t.source, t.reference LIMIT ?`, append(args, sealBatch)...)
			if err != nil {
				return err
			}
			var todo []TxnRecord
			for rows.Next() {
				var r TxnRecord
				var tag []byte
				if err := rows.Scan(&r.CNum, scanTime{&r.At}, &r.Source, &r.Reference, &r.Amount, &r.Currency, &r.Direction, &r.Type, &r.Channel, &r.CPBank,
					&r.AccountIx, &r.CPAccountIx, &r.CPNameIx, &r.Sealed, &r.Attachments, &r.ReversalOf, &r.BatchID, &tag); err != nil {
					rows.Close()
					return err
				}
				r.Sealed = nil
				todo = append(todo, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if err := db.tagTxns(todo); err != nil {
				return err
			}
			for i := range todo {
				r := &todo[i]
				if _, err := tx.exec(ctx, `UPDATE transactions SET row_mac = ? WHERE cnum = ? AND at = ? AND source = ? AND reference = ? AND row_mac IS NULL`,
					r.mac, r.CNum, db.ts(r.At), r.Source, r.Reference); err != nil {
					return err
				}
			}
			n = len(todo)
			if n > 0 {
				last = todo[n-1].TxnKey
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("tag transactions: %w", err)
		}
		total += int64(n)
		done += int64(n)
		if progress != nil && n > 0 {
			progress(TableTransactions, done)
		}
		if n < sealBatch {
			break
		}
		after = &last
	}
	return total, nil
}

// RecordProblem is a row that failed its check in VerifyRecords: its table
// and a locator that holds no personal data (a customer's id and archive
// number, a transaction's id).
type RecordProblem struct {
	Table      string
	CustomerID string
	Row        string
}

// RecordsReport counts the rows VerifyRecords checked and found bad.
type RecordsReport struct {
	Customers, TxnCustomers, Transactions int64
	Bad                                   int64
}

// VerifyRecords checks the tag of every tagged row, streaming each table
// once, and calls bad for each row that fails (returning an error from bad
// stops the scan). It raises no alarm: it is the operator's own check.
func (db *DB) VerifyRecords(ctx context.Context, bad func(RecordProblem) error) (RecordsReport, error) {
	var rep RecordsReport
	if db.rmac == nil {
		return rep, errNoRecordKey
	}
	note := func(p RecordProblem) error {
		rep.Bad++
		return bad(p)
	}
	tx := db.Reader()
	rows, err := tx.query(ctx, `SELECT `+customerSealColumns+` FROM customers c ORDER BY c.id`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var cs customerSeal
		var tag []byte
		if err := rows.Scan(cs.dest(&tag)...); err != nil {
			rows.Close()
			return rep, err
		}
		rep.Customers++
		if !db.rmac.Verify(cs.msg(), tag) {
			if err := note(RecordProblem{Table: TableCustomers, CustomerID: cs.ID, Row: "archive " + cs.ArchiveNo}); err != nil {
				rows.Close()
				return rep, err
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	rows, err = tx.query(ctx, `SELECT cnum, customer_id, row_mac FROM txn_customers ORDER BY cnum`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var cnum int64
		var id string
		var tag []byte
		if err := rows.Scan(&cnum, &id, &tag); err != nil {
			rows.Close()
			return rep, err
		}
		rep.TxnCustomers++
		if !db.rmac.Verify(txnCustomerMsg(cnum, id), tag) {
			if err := note(RecordProblem{Table: TableTxnCustomers, CustomerID: id, Row: fmt.Sprintf("customer number %d", cnum)}); err != nil {
				rows.Close()
				return rep, err
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	rows, err = tx.query(ctx, `SELECT t.cnum, t.at, t.source, t.reference, t.amount, t.currency, t.direction, t.type, t.channel, t.cp_bank,
		COALESCE(t.reversal_of, ''), t.batch_id, t.row_mac FROM transactions t`)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	msg := make([]byte, 0, 256)
	for rows.Next() {
		var r TxnRecord
		var tag []byte
		if err := rows.Scan(&r.CNum, scanTime{&r.At}, &r.Source, &r.Reference, &r.Amount, &r.Currency, &r.Direction, &r.Type, &r.Channel, &r.CPBank,
			&r.ReversalOf, &r.BatchID, &tag); err != nil {
			return rep, err
		}
		rep.Transactions++
		msg = db.txnMsg(newMsgInto(msg[:0], TableTransactions), &r)
		if !db.rmac.Verify(msg, tag) {
			if err := note(RecordProblem{Table: TableTransactions, Row: "transaction " + r.TxnKey.String()}); err != nil {
				return rep, err
			}
		}
	}
	return rep, rows.Err()
}
