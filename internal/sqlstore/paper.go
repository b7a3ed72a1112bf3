package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
)

// CreateLocation stores a secure location.
func (tx *Tx) CreateLocation(ctx context.Context, l *custos.SecureLocation) error {
	l.CreatedAt = tx.Now()
	err := tx.row(ctx, `INSERT INTO secure_locations (org_id, room, cabinet, shelf, box, lock_type, custodian_id, active, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, l.OrgID, l.Room, l.Cabinet, l.Shelf, l.Box, string(l.LockType), l.CustodianID,
		l.Active, tx.db.ts(l.CreatedAt)).Scan(&l.ID)
	if isForeignKey(err) {
		return custos.Errorf(custos.EInvalid, "机构或保管员不存在", "unit or custodian does not exist")
	}
	return err
}

// UpdateLocation changes a location's custodian, lock or active flag.
func (tx *Tx) UpdateLocation(ctx context.Context, l *custos.SecureLocation) error {
	res, err := tx.exec(ctx, `UPDATE secure_locations SET room = ?, cabinet = ?, shelf = ?, box = ?, lock_type = ?, custodian_id = ?, active = ? WHERE id = ?`,
		l.Room, l.Cabinet, l.Shelf, l.Box, string(l.LockType), l.CustodianID, l.Active, l.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.ErrNotFound
	}
	return nil
}

const locationColumns = `id, org_id, room, cabinet, shelf, box, lock_type, custodian_id, active, created_at`

func scanLocation(s scanner) (*custos.SecureLocation, error) {
	var l custos.SecureLocation
	var lock string
	if err := s.Scan(&l.ID, &l.OrgID, &l.Room, &l.Cabinet, &l.Shelf, &l.Box, &lock, &l.CustodianID, &l.Active, scanTime{&l.CreatedAt}); err != nil {
		return nil, notFound(err)
	}
	l.LockType = custos.LockType(lock)
	return &l, nil
}

// Location loads one location.
func (tx *Tx) Location(ctx context.Context, id int64) (*custos.SecureLocation, error) {
	return scanLocation(tx.row(ctx, `SELECT `+locationColumns+` FROM secure_locations WHERE id = ?`, id))
}

// Locations lists the locations of the units under a path ("" for all).
func (tx *Tx) Locations(ctx context.Context, orgPath string) ([]*custos.SecureLocation, error) {
	q := `SELECT ` + locationColumns + ` FROM secure_locations`
	var args []any
	if orgPath != "" {
		q += ` WHERE org_id IN (SELECT id FROM orgs WHERE path LIKE ? ESCAPE '\')`
		args = append(args, like(orgPath)+"%")
	}
	rows, err := tx.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*custos.SecureLocation
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// PaperRecord is a paper file as stored; title and contents are ciphertext.
type PaperRecord struct {
	custos.PaperFile
	TitleCT    []byte
	ContentsCT []byte
}

// InsertPaperFile stores a paper file.
func (tx *Tx) InsertPaperFile(ctx context.Context, f *PaperRecord) error {
	return tx.row(ctx, `INSERT INTO paper_files (customer_id, title_ct, contents_ct, location_id, status, borrower_id, due_at, registered_by, registered_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, f.CustomerID, f.TitleCT, f.ContentsCT, f.LocationID, string(f.Status), f.BorrowerID,
		tx.db.tsp(f.DueAt), f.RegisteredBy, tx.db.ts(f.RegisteredAt)).Scan(&f.ID)
}

// SetPaperTitle stores the encrypted title and contents (bound to the file id, known only after insert).
func (tx *Tx) SetPaperTitle(ctx context.Context, id int64, title, contents []byte) error {
	_, err := tx.exec(ctx, `UPDATE paper_files SET title_ct = ?, contents_ct = ? WHERE id = ?`, title, contents, id)
	return err
}

// UpdatePaperFile stores a file's place and loan state.
func (tx *Tx) UpdatePaperFile(ctx context.Context, f *custos.PaperFile) error {
	_, err := tx.exec(ctx, `UPDATE paper_files SET location_id = ?, status = ?, borrower_id = ?, due_at = ? WHERE id = ?`,
		f.LocationID, string(f.Status), f.BorrowerID, tx.db.tsp(f.DueAt), f.ID)
	return err
}

const paperColumns = `id, customer_id, title_ct, contents_ct, location_id, status, borrower_id, due_at, registered_by, registered_at`

func scanPaper(s scanner) (*PaperRecord, error) {
	var f PaperRecord
	var status string
	if err := s.Scan(&f.ID, &f.CustomerID, &f.TitleCT, &f.ContentsCT, &f.LocationID, &status, &f.BorrowerID, scanTimePtr{&f.DueAt},
		&f.RegisteredBy, scanTime{&f.RegisteredAt}); err != nil {
		return nil, notFound(err)
	}
	f.Status = custos.PaperStatus(status)
	return &f, nil
}

// PaperFile loads one paper file.
func (tx *Tx) PaperFile(ctx context.Context, id int64) (*PaperRecord, error) {
	return scanPaper(tx.row(ctx, `SELECT `+paperColumns+` FROM paper_files WHERE id = ?`, id))
}

// PaperQuery selects paper files.
type PaperQuery struct {
	CustomerID string
	LocationID int64
	BorrowerID int64
	Status     custos.PaperStatus
	DueBefore  time.Time // lent files due before this time (overdue list)
	OrgPath    string    // files at locations of these units
}

// PaperFiles lists paper files.
func (tx *Tx) PaperFiles(ctx context.Context, q PaperQuery) ([]*PaperRecord, error) {
	var where []string
	var args []any
	if q.CustomerID != "" {
		where, args = append(where, "customer_id = ?"), append(args, q.CustomerID)
	}
	if q.LocationID != 0 {
		where, args = append(where, "location_id = ?"), append(args, q.LocationID)
	}
	if q.BorrowerID != 0 {
		where, args = append(where, "borrower_id = ?"), append(args, q.BorrowerID)
	}
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(q.Status))
	}
	if !q.DueBefore.IsZero() {
		where, args = append(where, "status = 'lent' AND due_at < ?"), append(args, tx.db.ts(q.DueBefore))
	}
	if q.OrgPath != "" {
		where, args = append(where, `location_id IN (SELECT id FROM secure_locations WHERE org_id IN (SELECT id FROM orgs WHERE path LIKE ? ESCAPE '\'))`), append(args, like(q.OrgPath)+"%")
	}
	sql := `SELECT ` + paperColumns + ` FROM paper_files`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := tx.query(ctx, sql+` ORDER BY id LIMIT 5000`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*PaperRecord
	for rows.Next() {
		f, err := scanPaper(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// InsertMovement records a paper file movement.
func (tx *Tx) InsertMovement(ctx context.Context, m *custos.PaperMovement) error {
	return tx.row(ctx, `INSERT INTO paper_movements (file_id, kind, from_location, to_location, borrower_id, due_at, request_id, inspection, by_user, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.FileID, string(m.Kind), m.FromID, m.ToID, m.BorrowerID, tx.db.tsp(m.DueAt),
		m.RequestID, m.Inspection, m.By, tx.db.ts(m.At)).Scan(&m.ID)
}

// Movements lists a file's movements, oldest first.
func (tx *Tx) Movements(ctx context.Context, fileID int64) ([]custos.PaperMovement, error) {
	rows, err := tx.query(ctx, `SELECT id, file_id, kind, from_location, to_location, borrower_id, due_at, request_id, inspection, by_user, at
		FROM paper_movements WHERE file_id = ? ORDER BY id`, fileID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.PaperMovement
	for rows.Next() {
		var m custos.PaperMovement
		var kind string
		if err := rows.Scan(&m.ID, &m.FileID, &kind, &m.FromID, &m.ToID, &m.BorrowerID, scanTimePtr{&m.DueAt}, &m.RequestID, &m.Inspection, &m.By, scanTime{&m.At}); err != nil {
			return nil, err
		}
		m.Kind = custos.MovementKind(kind)
		out = append(out, m)
	}
	return out, rows.Err()
}

// HandoverRecord is a handover as stored, with its certificate.
type HandoverRecord struct {
	custos.Handover
	CertificatePDF  []byte
	CertificateJSON string
}

func int64s(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func parseInt64s(s string) []int64 {
	var out []int64
	for _, p := range strings.Split(s, ",") {
		if n, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}

type signatures struct {
	By map[string]int64     `json:"by"`
	At map[string]time.Time `json:"at"`
}

// SaveHandover inserts (ID 0) or updates a handover.
func (tx *Tx) SaveHandover(ctx context.Context, h *HandoverRecord) error {
	inv, err := json.Marshal(h.Inventory)
	if err != nil {
		return err
	}
	asg, _ := json.Marshal(h.Assignments)
	sig, _ := json.Marshal(signatures{By: h.SignedBy, At: h.SignedAt})
	if h.ID == 0 {
		return tx.row(ctx, `INSERT INTO handovers (leaver_id, supervisor_id, successors, reason, state, inventory, assignments, signatures, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, h.LeaverID, h.SupervisorID, int64s(h.Successors), h.Reason, string(h.State),
			string(inv), string(asg), string(sig), h.CreatedBy, tx.db.ts(h.CreatedAt)).Scan(&h.ID)
	}
	_, err = tx.exec(ctx, `UPDATE handovers SET successors = ?, state = ?, inventory = ?, assignments = ?, signatures = ?, certificate_pdf = ?,
		certificate_json = ?, completed_at = ? WHERE id = ?`, int64s(h.Successors), string(h.State), string(inv), string(asg), string(sig),
		h.CertificatePDF, h.CertificateJSON, tx.db.tsp(h.CompletedAt), h.ID)
	return err
}

// Handover loads one handover; withCertificate also loads the certificate.
func (tx *Tx) Handover(ctx context.Context, id int64, withCertificate bool) (*HandoverRecord, error) {
	cols := `id, leaver_id, supervisor_id, successors, reason, state, inventory, assignments, signatures, created_by, created_at, completed_at`
	if withCertificate {
		cols += `, certificate_pdf, certificate_json`
	}
	var h HandoverRecord
	var succ, state, inv, asg, sig string
	dest := []any{&h.ID, &h.LeaverID, &h.SupervisorID, &succ, &h.Reason, &state, &inv, &asg, &sig, &h.CreatedBy, scanTime{&h.CreatedAt}, scanTimePtr{&h.CompletedAt}}
	if withCertificate {
		dest = append(dest, &h.CertificatePDF, &h.CertificateJSON)
	}
	if err := tx.row(ctx, `SELECT `+cols+` FROM handovers WHERE id = ?`, id).Scan(dest...); err != nil {
		return nil, notFound(err)
	}
	h.Successors, h.State = parseInt64s(succ), custos.HandoverState(state)
	if err := json.Unmarshal([]byte(inv), &h.Inventory); err != nil {
		return nil, fmt.Errorf("handover inventory: %w", err)
	}
	json.Unmarshal([]byte(asg), &h.Assignments)
	var s signatures
	json.Unmarshal([]byte(sig), &s)
	h.SignedBy, h.SignedAt = s.By, s.At
	return &h, nil
}

// Handovers lists handovers, newest first.
func (tx *Tx) Handovers(ctx context.Context) ([]*custos.Handover, error) {
	rows, err := tx.query(ctx, `SELECT id FROM handovers ORDER BY id DESC LIMIT 500`)
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
	var out []*custos.Handover
	for _, id := range ids {
		h, err := tx.Handover(ctx, id, false)
		if err != nil {
			return nil, err
		}
		out = append(out, &h.Handover)
	}
	return out, nil
}

// Holdings lists what a member of staff holds, for a handover inventory.
func (tx *Tx) Holdings(ctx context.Context, userID int64, now time.Time) (custos.HandoverInventory, error) {
	inv := custos.HandoverInventory{TakenAt: now}
	collect := func(q string, args []any, fn func(s scanner) error) error {
		rows, err := tx.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	err := collect(`SELECT c.id FROM customers c WHERE c.owner_id = ? AND EXISTS (SELECT 1 FROM customer_keys k WHERE k.customer_id = c.id)
		UNION SELECT customer_id FROM portfolio WHERE user_id = ? ORDER BY 1`, []any{userID, userID}, func(s scanner) error {
		var id string
		err := s.Scan(&id)
		inv.Customers = append(inv.Customers, id)
		return err
	})
	if err == nil {
		err = collect(`SELECT building FROM portfolio_buildings WHERE user_id = ? ORDER BY building`, []any{userID}, func(s scanner) error {
			var b string
			err := s.Scan(&b)
			inv.Buildings = append(inv.Buildings, b)
			return err
		})
	}
	if err == nil {
		err = collect(`SELECT id FROM requests WHERE requested_by = ? AND state IN ('pending', 'approved') ORDER BY id`, []any{userID}, func(s scanner) error {
			var id int64
			err := s.Scan(&id)
			inv.OpenRequests = append(inv.OpenRequests, id)
			return err
		})
	}
	if err == nil {
		err = collect(`SELECT id FROM grants WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY id`, []any{userID, tx.db.ts(now)}, func(s scanner) error {
			var id int64
			err := s.Scan(&id)
			inv.ActiveGrants = append(inv.ActiveGrants, id)
			return err
		})
	}
	if err == nil {
		err = collect(`SELECT id FROM paper_files WHERE borrower_id = ? AND status = 'lent' ORDER BY id`, []any{userID}, func(s scanner) error {
			var id int64
			err := s.Scan(&id)
			inv.BorrowedFiles = append(inv.BorrowedFiles, id)
			return err
		})
	}
	if err == nil {
		err = collect(`SELECT id FROM attachments WHERE created_by = ? AND checklist_item = '' ORDER BY id`, []any{userID}, func(s scanner) error {
			var id string
			err := s.Scan(&id)
			inv.UnfiledAttachments = append(inv.UnfiledAttachments, id)
			return err
		})
	}
	return inv, err
}

// ReassignOwner moves a customer to a new owner (handover).
func (tx *Tx) ReassignOwner(ctx context.Context, customerID string, from, to int64) error {
	err := tx.changeCustomer(ctx, customerID, func(c *customerSeal) bool {
		if c.OwnerID != from {
			return false
		}
		c.OwnerID = to
		return true
	})
	if err != nil && !errors.Is(err, custos.ErrNotFound) {
		return err
	}
	_, err = tx.exec(ctx, `UPDATE portfolio SET user_id = ? WHERE user_id = ? AND customer_id = ?
		AND NOT EXISTS (SELECT 1 FROM portfolio p2 WHERE p2.user_id = ? AND p2.customer_id = ?)`, to, from, customerID, to, customerID)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `DELETE FROM portfolio WHERE user_id = ? AND customer_id = ?`, from, customerID)
	return err
}

// ReassignBuilding moves a building from one butler's portfolio to another's.
func (tx *Tx) ReassignBuilding(ctx context.Context, building string, from, to int64) error {
	if _, err := tx.exec(ctx, `INSERT INTO portfolio_buildings (user_id, building) VALUES (?, ?) ON CONFLICT DO NOTHING`, to, building); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM portfolio_buildings WHERE user_id = ? AND building = ?`, from, building)
	return err
}
