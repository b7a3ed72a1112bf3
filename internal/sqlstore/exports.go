package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custos-cim/custos"
)

// The confidentiality-agreement registry and the export register (R-C7,
// R-C8). Export files are age archives, already encrypted under a password
// this package never sees.

const agreementColumns = `id, party, reference, scope, valid_from, valid_to, signed_by, created_by, created_at, revoked_at, revoked_by, revoke_reason`

func scanAgreement(s scanner) (*custos.Agreement, error) {
	var a custos.Agreement
	var scope string
	if err := s.Scan(&a.ID, &a.Party, &a.Reference, &scope, &a.ValidFrom, &a.ValidTo, &a.SignedBy, &a.CreatedBy, scanTime{&a.CreatedAt},
		scanTimePtr{&a.RevokedAt}, &a.RevokedBy, &a.RevokeReason); err != nil {
		return nil, notFound(err)
	}
	for _, k := range strings.Split(scope, ",") {
		if k != "" {
			a.Scope = append(a.Scope, custos.ExportKind(k))
		}
	}
	return &a, nil
}

func joinKinds(ks []custos.ExportKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// InsertAgreement stores a new agreement and sets its id. A reference
// already registered is custos.EConflict.
func (tx *Tx) InsertAgreement(ctx context.Context, a *custos.Agreement) error {
	err := tx.row(ctx, `INSERT INTO agreements (party, reference, scope, valid_from, valid_to, signed_by, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.Party, a.Reference, joinKinds(a.Scope), a.ValidFrom, a.ValidTo, a.SignedBy, a.CreatedBy, tx.db.ts(a.CreatedAt)).Scan(&a.ID)
	if isUnique(err) {
		return &custos.Error{Code: custos.EConflict, Message: custos.Message{ZH: "该协议编号已登记", EN: "an agreement with this reference is already registered"},
			Fields: []custos.FieldError{{Field: "reference", Code: custos.CodeDuplicate, Message: custos.StandardMessage(custos.CodeDuplicate)}}}
	}
	if err != nil {
		return fmt.Errorf("insert agreement: %w", err)
	}
	return nil
}

// RevokeAgreement records an agreement's revocation, once.
func (tx *Tx) RevokeAgreement(ctx context.Context, a *custos.Agreement) error {
	res, err := tx.exec(ctx, `UPDATE agreements SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
		tx.db.tsp(a.RevokedAt), a.RevokedBy, a.RevokeReason, a.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return custos.ErrAgreementRevoked
	}
	return nil
}

// Agreement loads one agreement.
func (tx *Tx) Agreement(ctx context.Context, id int64) (*custos.Agreement, error) {
	return scanAgreement(tx.row(ctx, `SELECT `+agreementColumns+` FROM agreements WHERE id = ?`, id))
}

// Agreements lists the agreements, newest first; activeOn (YYYY-MM-DD), if
// set, keeps only those in force that day.
func (tx *Tx) Agreements(ctx context.Context, activeOn string) ([]*custos.Agreement, error) {
	q := `SELECT ` + agreementColumns + ` FROM agreements`
	var args []any
	if activeOn != "" {
		q += ` WHERE revoked_at IS NULL AND valid_from <= ? AND valid_to >= ?`
		args = append(args, activeOn, activeOn)
	}
	rows, err := tx.query(ctx, q+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*custos.Agreement
	for rows.Next() {
		a, err := scanAgreement(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const exportColumns = `id, kind, recipient, COALESCE(agreement_id, 0), party, customer_id, archive_no, date_from, date_to, reveal, reason, state,
	COALESCE(request_id, 0), requested_by, requested_at, generated_at, sha256, size, rows_json, file_expires_at, downloads`

func scanExport(s scanner) (*custos.Export, error) {
	var e custos.Export
	var kind, recipient, state, rows string
	if err := s.Scan(&e.ID, &kind, &recipient, &e.AgreementID, &e.Party, &e.CustomerID, &e.ArchiveNo, &e.From, &e.To, &e.Reveal, &e.Reason, &state,
		&e.RequestID, &e.RequestedBy, scanTime{&e.RequestedAt}, scanTimePtr{&e.GeneratedAt}, &e.SHA256, &e.Size, &rows,
		scanTimePtr{&e.FileExpiresAt}, &e.Downloads); err != nil {
		return nil, notFound(err)
	}
	e.Kind, e.Recipient, e.State = custos.ExportKind(kind), custos.ExportRecipient(recipient), custos.ExportState(state)
	if rows != "" {
		if err := json.Unmarshal([]byte(rows), &e.Rows); err != nil {
			return nil, fmt.Errorf("export %d rows: %w", e.ID, err)
		}
	}
	return &e, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// InsertExport stores a new export and sets its id.
func (tx *Tx) InsertExport(ctx context.Context, e *custos.Export) error {
	err := tx.row(ctx, `INSERT INTO exports (kind, recipient, agreement_id, party, customer_id, archive_no, date_from, date_to, reveal, reason, state,
		request_id, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		string(e.Kind), string(e.Recipient), nullID(e.AgreementID), e.Party, e.CustomerID, e.ArchiveNo, e.From, e.To, e.Reveal, e.Reason,
		string(e.State), nullID(e.RequestID), e.RequestedBy, tx.db.ts(e.RequestedAt)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("insert export: %w", err)
	}
	return nil
}

// SetExportRequest links an export to the approval request that decides it.
func (tx *Tx) SetExportRequest(ctx context.Context, id, requestID int64) error {
	_, err := tx.exec(ctx, `UPDATE exports SET request_id = ? WHERE id = ?`, requestID, id)
	return err
}

// SetExportState moves an export from one state to another; it fails with
// custos.EConflict if the export is no longer in state from.
func (tx *Tx) SetExportState(ctx context.Context, id int64, from, to custos.ExportState) error {
	res, err := tx.exec(ctx, `UPDATE exports SET state = ? WHERE id = ? AND state = ?`, string(to), id, string(from))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return custos.Errorf(custos.EConflict, "导出状态已变化，请刷新", "the export changed meanwhile; reload")
	}
	return nil
}

// StoreExportFile records a generated export (digest, size, row counts, how
// long the file is kept) and keeps its encrypted file, once: an export that
// is no longer approved is custos.ErrExportGenerated.
func (tx *Tx) StoreExportFile(ctx context.Context, e *custos.Export, content []byte) error {
	rows, err := json.Marshal(e.Rows)
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE exports SET state = ?, generated_at = ?, sha256 = ?, size = ?, rows_json = ?, file_expires_at = ?
		WHERE id = ? AND state = ?`, string(custos.ExportReady), tx.db.tsp(e.GeneratedAt), e.SHA256, e.Size, string(rows), tx.db.tsp(e.FileExpiresAt),
		e.ID, string(custos.ExportApproved))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return custos.ErrExportGenerated
	}
	_, err = tx.exec(ctx, `INSERT INTO export_files (export_id, content) VALUES (?, ?)`, e.ID, content)
	return err
}

// CountExportDownload counts one download of an export's file.
func (tx *Tx) CountExportDownload(ctx context.Context, id int64) error {
	_, err := tx.exec(ctx, `UPDATE exports SET downloads = downloads + 1 WHERE id = ?`, id)
	return err
}

// Export loads one export.
func (tx *Tx) Export(ctx context.Context, id int64) (*custos.Export, error) {
	return scanExport(tx.row(ctx, `SELECT `+exportColumns+` FROM exports WHERE id = ?`, id))
}

// ExportByRequest loads the export an approval request decides.
func (tx *Tx) ExportByRequest(ctx context.Context, requestID int64) (*custos.Export, error) {
	return scanExport(tx.row(ctx, `SELECT `+exportColumns+` FROM exports WHERE request_id = ?`, requestID))
}

// Exports lists exports, newest first: requestedBy's if not 0, else all.
func (tx *Tx) Exports(ctx context.Context, requestedBy int64, limit int) ([]*custos.Export, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	q := `SELECT ` + exportColumns + ` FROM exports`
	var args []any
	if requestedBy != 0 {
		q += ` WHERE requested_by = ?`
		args = append(args, requestedBy)
	}
	rows, err := tx.query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*custos.Export
	for rows.Next() {
		e, err := scanExport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExportFile returns an export's encrypted file.
func (tx *Tx) ExportFile(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	if err := tx.row(ctx, `SELECT content FROM export_files WHERE export_id = ?`, id).Scan(&b); err != nil {
		return nil, notFound(err)
	}
	return b, nil
}

// PurgeExportFiles deletes the files of ready exports whose keeping period
// ended before now, marks them purged and returns their ids.
func (tx *Tx) PurgeExportFiles(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := tx.query(ctx, `SELECT id FROM exports WHERE state = ? AND file_expires_at <= ?`, string(custos.ExportReady), tx.db.ts(now))
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := tx.exec(ctx, `DELETE FROM export_files WHERE export_id = ?`, id); err != nil {
			return nil, err
		}
		if _, err := tx.exec(ctx, `UPDATE exports SET state = ? WHERE id = ?`, string(custos.ExportPurged), id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// CustomersAfter returns up to limit customers in scope (and matching q's
// filter) whose archive number sorts after after, in archive-number order:
// keyset pages for an export that streams a whole unit. Unlike
// FindCustomers it neither counts the matches nor skips an OFFSET, so each
// page costs the same however deep into the unit it is (an OFFSET page
// reads every row before it: 450 pages of 200 read 40 million rows for
// 90,000 customers).
func (tx *Tx) CustomersAfter(ctx context.Context, q CustomerQuery, scope custos.Scope, now time.Time, after string, limit int) ([]*CustomerRecord, error) {
	if scope.None() {
		return nil, nil
	}
	where, args := tx.customerWhere(q, scope, now)
	qargs := append([]any{[]byte{}, after}, args...)
	qargs = append(qargs, limit)
	// The scope is an OR of indexable terms; left bare, SQLite answers it
	// with a MULTI-INDEX OR over the whole unit and sorts that for every
	// page (quadratic again). Inside CASE it is only a filter, so both
	// engines walk the archive-number index from the cursor and stop after
	// limit matches; a unit's archive numbers share its prefix, so the
	// walk stays within the unit.
	rows, err := tx.query(ctx, customerSelect+` WHERE c.archive_no > ? AND (CASE WHEN `+where+` THEN 1 ELSE 0 END) = 1
		ORDER BY c.archive_no ASC LIMIT ?`, qargs...)
	if err != nil {
		return nil, fmt.Errorf("customers after %q: %w", after, err)
	}
	defer rows.Close()
	var out []*CustomerRecord
	for rows.Next() {
		r, err := tx.scanCustomer(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountCustomersIn counts the customers in scope matching q's filter (the
// total an export's progress is measured against).
func (tx *Tx) CountCustomersIn(ctx context.Context, q CustomerQuery, scope custos.Scope, now time.Time) (int, error) {
	if scope.None() {
		return 0, nil
	}
	where, args := tx.customerWhere(q, scope, now)
	var n int
	if err := tx.row(ctx, `SELECT count(*) FROM customers c WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return n, nil
}
