package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custos-cim/custos"
)

// CustomerRecord is a customer as stored: plaintext only for what scoping,
// filtering and sorting need; everything personal is ciphertext under the
// customer's data key (ProfileCT, CustomCT) or a blind index.
type CustomerRecord struct {
	ID              string
	ArchiveNo       string
	Type            custos.CustomerType
	OrgID           int64
	OrgPath         string // not stored: filled in by the caller from the organisation tree
	OwnerID         int64
	Category        string
	Status          custos.ArchiveStatus
	Sensitivity     custos.Sensitivity
	ProtectedReason string
	Verification    custos.Verification
	DisplayName     string // institutions' names; persons' names are encrypted
	Building        string
	Classes         map[string]string
	ProfileCT       []byte
	CustomCT        []byte
	WrappedKey      []byte
	KEKID           int64
	CreatedBy       int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int64
}

// IndexEntry is one blind index of a customer: kind ("id_number", "phone",
// "uscc", "name") and the HMAC of the normalised value.
type IndexEntry struct {
	Kind string
	Hash []byte
}

// ErrDuplicateIdentity is returned when another archive already holds the identity.
var ErrDuplicateIdentity = &custos.Error{Code: custos.EConflict,
	Message: custos.Message{ZH: "该证件号码的客户档案已存在（一客一档）", EN: "an archive for this identity already exists (one archive per customer)"},
	Fields:  []custos.FieldError{{Field: "id_number", Code: custos.CodeDuplicate, Message: custos.StandardMessage(custos.CodeDuplicate)}}}

// IdentityHolder returns the id of the customer holding an identity key.
func (tx *Tx) IdentityHolder(ctx context.Context, identity []byte) (string, error) {
	var id string
	err := tx.row(ctx, `SELECT customer_id FROM customer_identity WHERE hash = ?`, identity).Scan(&id)
	return id, notFound(err)
}

// ErrStale is returned when a customer changed since the caller read it.
var ErrStale = custos.Errorf(custos.EConflict, "档案已被他人修改，请刷新后重试", "the archive changed since it was read; reload and retry")

// NextArchiveSeq increments and returns the sequence of an archive number series.
func (tx *Tx) NextArchiveSeq(ctx context.Context, series string) (int64, error) {
	var n int64
	err := tx.row(ctx, `INSERT INTO archive_series (series, last_seq) VALUES (?, 1)
		ON CONFLICT (series) DO UPDATE SET last_seq = archive_series.last_seq + 1 RETURNING last_seq`, series).Scan(&n)
	return n, err
}

// InsertCustomer stores a new customer with its wrapped data key, blind
// indexes and identity key (one archive per identity, R-A1).
func (tx *Tx) InsertCustomer(ctx context.Context, r *CustomerRecord, index []IndexEntry, identity []byte) error {
	classes := classesJSON(r.Classes)
	cs := sealOfRecord(r, classes)
	tag, err := tx.db.tag(cs.msg())
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO customers (id, archive_no, type, org_id, owner_id, category, status, sensitivity, protected_reason,
		verification, display_name, building, classes, profile_ct, custom_ct, created_by, created_at, updated_at, version, row_mac)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ArchiveNo, string(r.Type), r.OrgID, r.OwnerID, r.Category, string(r.Status), string(r.Sensitivity), r.ProtectedReason,
		string(r.Verification), r.DisplayName, r.Building, classes, r.ProfileCT, r.CustomCT, r.CreatedBy, tx.db.ts(r.CreatedAt), tx.db.ts(r.UpdatedAt), r.Version, tag)
	if err != nil {
		if isUnique(err) {
			return custos.Errorf(custos.EConflict, "档案编号冲突，请重试", "archive number collision; retry").Wrap(err)
		}
		if isForeignKey(err) {
			return custos.Errorf(custos.EInvalid, "机构、客户经理或客户类别不存在", "organisation, owner or category does not exist").Wrap(err)
		}
		return fmt.Errorf("insert customer: %w", err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO customer_keys (customer_id, wrapped, kek_id, created_at) VALUES (?, ?, ?, ?)`,
		r.ID, r.WrappedKey, r.KEKID, tx.db.ts(r.CreatedAt)); err != nil {
		return fmt.Errorf("insert customer key: %w", err)
	}
	if err := tx.insertClasses(ctx, r.ID, r.Classes); err != nil {
		return err
	}
	return tx.insertIndex(ctx, r.ID, index, identity)
}

func classesJSON(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (tx *Tx) putClasses(ctx context.Context, id string, classes map[string]string) error {
	if _, err := tx.exec(ctx, `DELETE FROM customer_classes WHERE customer_id = ?`, id); err != nil {
		return err
	}
	return tx.insertClasses(ctx, id, classes)
}

func (tx *Tx) insertClasses(ctx context.Context, id string, classes map[string]string) error {
	for tax, term := range classes {
		if term == "" {
			continue
		}
		if _, err := tx.exec(ctx, `INSERT INTO customer_classes (customer_id, taxonomy, term) VALUES (?, ?, ?)`, id, tax, term); err != nil {
			return fmt.Errorf("insert classification: %w", err)
		}
	}
	return nil
}

// putIndex replaces a customer's blind indexes and identity key: the old
// entries are deleted by their exact keys (the caller computes them from
// the old state), so no index on customer_id is needed.
func (tx *Tx) putIndex(ctx context.Context, id string, old []IndexEntry, oldIdentity []byte, index []IndexEntry, identity []byte) error {
	for _, e := range old {
		if _, err := tx.exec(ctx, `DELETE FROM customer_index WHERE kind = ? AND hash = ? AND customer_id = ?`, e.Kind, e.Hash, id); err != nil {
			return err
		}
	}
	if oldIdentity != nil {
		if _, err := tx.exec(ctx, `DELETE FROM customer_identity WHERE hash = ? AND customer_id = ?`, oldIdentity, id); err != nil {
			return err
		}
	}
	return tx.insertIndex(ctx, id, index, identity)
}

// DeleteCustomerIndex deletes a customer's blind indexes and identity key
// before the customer itself is deleted (destruction). Given the entries
// (recomputed by the caller from the customer's decrypted state) it deletes
// them by their exact keys; with none — the data key is already gone, so
// they cannot be recomputed — it finds them by customer id, which scans
// both tables on SQLite, where they have no index on customer_id and no
// cascade (migration 0012). PostgreSQL's cascade would remove them anyway.
func (tx *Tx) DeleteCustomerIndex(ctx context.Context, id string, index []IndexEntry, identity []byte) error {
	if index == nil && identity == nil {
		for _, q := range []string{`DELETE FROM customer_index WHERE customer_id = ?`, `DELETE FROM customer_identity WHERE customer_id = ?`} {
			if _, err := tx.exec(ctx, q, id); err != nil {
				return fmt.Errorf("delete blind indexes: %w", err)
			}
		}
		return nil
	}
	if err := tx.putIndex(ctx, id, index, identity, nil, nil); err != nil {
		return fmt.Errorf("delete blind indexes: %w", err)
	}
	return nil
}

func (tx *Tx) insertIndex(ctx context.Context, id string, index []IndexEntry, identity []byte) error {
	if len(index) > 0 {
		args := make([]any, 0, 3*len(index))
		rows := make([]string, len(index))
		for i, e := range index {
			rows[i] = "(?, ?, ?)"
			args = append(args, e.Kind, e.Hash, id)
		}
		if _, err := tx.exec(ctx, `INSERT INTO customer_index (kind, hash, customer_id) VALUES `+strings.Join(rows, ", ")+` ON CONFLICT DO NOTHING`, args...); err != nil {
			return fmt.Errorf("insert blind index: %w", err)
		}
	}
	if identity != nil {
		if _, err := tx.exec(ctx, `INSERT INTO customer_identity (hash, customer_id) VALUES (?, ?)`, identity, id); err != nil {
			if isUnique(err) {
				return ErrDuplicateIdentity
			}
			return fmt.Errorf("insert identity: %w", err)
		}
	}
	return nil
}

// UpdateCustomer replaces a customer's stored state if its version is still
// r.Version-1 (optimistic locking); r.Version is the new version. The old
// blind indexes and identity key are replaced by the new ones.
//
// The row is checked before it is replaced: an update must not give a row
// changed outside Custos a fresh tag.
func (tx *Tx) UpdateCustomer(ctx context.Context, r *CustomerRecord, oldIndex []IndexEntry, oldIdentity []byte, index []IndexEntry, identity []byte) error {
	if _, err := tx.customerSeal(ctx, r.ID); err != nil {
		return err
	}
	classes := classesJSON(r.Classes)
	cs := sealOfRecord(r, classes)
	tag, err := tx.db.tag(cs.msg())
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE customers SET org_id = ?, owner_id = ?, category = ?, status = ?, sensitivity = ?, protected_reason = ?,
		verification = ?, display_name = ?, building = ?, classes = ?, profile_ct = ?, custom_ct = ?, updated_at = ?, version = ?, row_mac = ?
		WHERE id = ? AND version = ?`,
		r.OrgID, r.OwnerID, r.Category, string(r.Status), string(r.Sensitivity), r.ProtectedReason, string(r.Verification),
		r.DisplayName, r.Building, classes, r.ProfileCT, r.CustomCT, tx.db.ts(r.UpdatedAt), r.Version, tag, r.ID, r.Version-1)
	if err != nil {
		if isForeignKey(err) {
			return custos.Errorf(custos.EInvalid, "机构、客户经理或客户类别不存在", "organisation, owner or category does not exist").Wrap(err)
		}
		return fmt.Errorf("update customer: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrStale
	}
	if err := tx.putClasses(ctx, r.ID, r.Classes); err != nil {
		return err
	}
	return tx.putIndex(ctx, r.ID, oldIndex, oldIdentity, index, identity)
}

const customerColumns = `c.id, c.archive_no, c.type, c.org_id, c.owner_id, c.category, c.status, c.sensitivity,
	c.protected_reason, c.verification, c.display_name, c.building, c.classes, c.profile_ct, c.custom_ct, COALESCE(k.wrapped, ?), COALESCE(k.kek_id, 0),
	c.created_by, c.created_at, c.updated_at, c.version, c.row_mac`

const customerFrom = ` FROM customers c LEFT JOIN customer_keys k ON k.customer_id = c.id`

const customerSelect = `SELECT ` + customerColumns + customerFrom

// scanCustomer reads a row of customerColumns and checks its tag.
func (tx *Tx) scanCustomer(ctx context.Context, s scanner, extra ...any) (*CustomerRecord, error) {
	var r CustomerRecord
	var typ, status, sens, verif, classes string
	var tag []byte
	dest := []any{&r.ID, &r.ArchiveNo, &typ, &r.OrgID, &r.OwnerID, &r.Category, &status, &sens, &r.ProtectedReason, &verif,
		&r.DisplayName, &r.Building, &classes, &r.ProfileCT, &r.CustomCT, &r.WrappedKey, &r.KEKID, &r.CreatedBy, scanTime{&r.CreatedAt}, scanTime{&r.UpdatedAt}, &r.Version, &tag}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, notFound(err)
	}
	r.Type, r.Status, r.Sensitivity, r.Verification = custos.CustomerType(typ), custos.ArchiveStatus(status), custos.Sensitivity(sens), custos.Verification(verif)
	cs := sealOfRecord(&r, classes)
	if err := tx.checkCustomer(ctx, &cs, tag); err != nil {
		return nil, err
	}
	r.Classes = map[string]string{}
	if classes != "" && classes != "{}" {
		if err := json.Unmarshal([]byte(classes), &r.Classes); err != nil {
			return nil, fmt.Errorf("customer %s classes: %w", r.ID, err)
		}
	}
	return &r, nil
}

// Customer loads one customer with its classes and wrapped key. A customer
// whose key was destroyed comes back with an empty WrappedKey.
func (tx *Tx) Customer(ctx context.Context, id string) (*CustomerRecord, error) {
	return tx.scanCustomer(ctx, tx.row(ctx, customerSelect+` WHERE c.id = ?`, []byte{}, id))
}

// CustomerByArchiveNo loads a customer by archive number.
func (tx *Tx) CustomerByArchiveNo(ctx context.Context, no string) (*CustomerRecord, error) {
	return tx.scanCustomer(ctx, tx.row(ctx, customerSelect+` WHERE c.archive_no = ?`, []byte{}, no))
}

// ACL gathers what a permission decision needs about a customer for a given
// user at a given time: its place, owner, sensitivity, the user's portfolio
// and active grants. A missing customer is custos.ErrNotFound.
func (tx *Tx) ACL(ctx context.Context, customerID string, userID int64, now time.Time) (custos.CustomerACL, error) {
	a := custos.CustomerACL{CustomerID: customerID}
	var cs customerSeal
	var tag []byte
	err := tx.row(ctx, `SELECT o.path, `+customerSealColumns+` FROM customers c JOIN orgs o ON o.id = c.org_id WHERE c.id = ?`,
		customerID).Scan(append([]any{&a.OrgPath}, cs.dest(&tag)...)...)
	if err != nil {
		return a, notFound(err)
	}
	if err := tx.checkCustomer(ctx, &cs, tag); err != nil {
		return a, err
	}
	a.OwnerID, a.Sensitivity = cs.OwnerID, custos.Sensitivity(cs.Sensitivity)
	rel, err := tx.Relations(ctx, userID, []RelationKey{{CustomerID: customerID, Building: cs.Building}}, now)
	if err != nil {
		return a, err
	}
	a.InPortfolio, a.ViaBuilding, a.Granted = rel[customerID].InPortfolio, rel[customerID].ViaBuilding, rel[customerID].Granted
	return a, nil
}

// ACLOf builds the decision facts from a loaded record and its relation to the user.
func ACLOf(r *CustomerRecord, rel Relation) custos.CustomerACL {
	return custos.CustomerACL{CustomerID: r.ID, OrgPath: r.OrgPath, OwnerID: r.OwnerID, Sensitivity: r.Sensitivity,
		InPortfolio: rel.InPortfolio, ViaBuilding: rel.ViaBuilding, Granted: rel.Granted, Restricted: r.Status == custos.StatusClosed}
}

// RelationKey names a customer (and its building) whose relation to a user is wanted.
type RelationKey struct {
	CustomerID string
	Building   string
}

// Relation is how one user relates to one customer: through the portfolio
// (the customer itself, or its building) and through active grants.
type Relation struct {
	InPortfolio bool
	ViaBuilding bool
	Granted     []custos.Action
}

// Relations returns, in one query, the relation of a user to each customer.
func (tx *Tx) Relations(ctx context.Context, userID int64, keys []RelationKey, now time.Time) (map[string]Relation, error) {
	out := make(map[string]Relation, len(keys))
	if userID == 0 || len(keys) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(keys))
	var buildings []any
	byBuilding := map[string][]string{}
	for _, k := range keys {
		ids = append(ids, k.CustomerID)
		if k.Building != "" {
			if _, seen := byBuilding[k.Building]; !seen {
				buildings = append(buildings, k.Building)
			}
			byBuilding[k.Building] = append(byBuilding[k.Building], k.CustomerID)
		}
	}
	q := `SELECT 'p', customer_id, '' FROM portfolio WHERE user_id = ? AND customer_id IN (` + placeholders(len(ids)) + `)
		UNION ALL SELECT 'g', customer_id, actions FROM grants WHERE user_id = ? AND customer_id IN (` + placeholders(len(ids)) + `)
			AND revoked_at IS NULL AND starts_at <= ? AND expires_at > ?`
	args := append([]any{userID}, ids...)
	args = append(args, userID)
	args = append(args, ids...)
	args = append(args, tx.db.ts(now), tx.db.ts(now))
	if len(buildings) > 0 {
		q += ` UNION ALL SELECT 'b', building, '' FROM portfolio_buildings WHERE user_id = ? AND building IN (` + placeholders(len(buildings)) + `)`
		args = append(args, userID)
		args = append(args, buildings...)
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, key, acts string
		if err := rows.Scan(&kind, &key, &acts); err != nil {
			return nil, err
		}
		switch kind {
		case "p":
			r := out[key]
			r.InPortfolio = true
			out[key] = r
		case "b":
			for _, id := range byBuilding[key] {
				r := out[id]
				r.ViaBuilding = true
				out[id] = r
			}
		case "g":
			r := out[key]
			for _, s := range strings.Split(acts, ",") {
				if s != "" {
					r.Granted = append(r.Granted, custos.Action(s))
				}
			}
			out[key] = r
		}
	}
	return out, rows.Err()
}

// CustomerQuery is a catalogue or search query: the non-sensitive filter
// fields, with identifiers already turned into blind-index hashes by the caller.
type CustomerQuery struct {
	Filter   custos.CustomerFilter // IDNumber, Phone, USCC and Name are ignored here
	Index    []IndexEntry          // every entry must match
	NameLike string                // substring of an institution's name
	NameHash []byte                // blind index of a person's full name
}

// buildingScopeSQL is the customers reached through the user's buildings:
// normal customers of the user's own unit and below (custos.Decide agrees).
const buildingScopeSQL = `(c.building <> '' AND c.sensitivity = 'normal' AND c.building IN (SELECT building FROM portfolio_buildings WHERE user_id = ?)
			AND c.org_id IN (SELECT id FROM orgs WHERE path LIKE ? ESCAPE '\'))`

// scopeSQL renders a permission scope as a WHERE fragment.
func (tx *Tx) scopeSQL(s custos.Scope, now time.Time) (string, []any) {
	if s.HideRestricted {
		// Closed customers are restricted to storage, legal and audit use (R-F1).
		w, args := tx.scopeSQL(custos.Scope{UserID: s.UserID, Portfolio: s.Portfolio, BuildingSubtree: s.BuildingSubtree, Subtree: s.Subtree, Grants: s.Grants, All: s.All}, now)
		return "(c.status <> 'closed' AND " + w + ")", args
	}
	if s.All {
		return "1=1", nil
	}
	var parts []string
	var args []any
	if s.Portfolio {
		parts = append(parts, `c.owner_id = ?`, `c.id IN (SELECT customer_id FROM portfolio WHERE user_id = ?)`)
		args = append(args, s.UserID, s.UserID)
		if s.BuildingSubtree != "" {
			parts = append(parts, buildingScopeSQL)
			args = append(args, s.UserID, like(s.BuildingSubtree)+"%")
		}
	}
	if s.Subtree != "" {
		parts = append(parts, `(c.sensitivity = 'normal' AND c.org_id IN (SELECT id FROM orgs WHERE path LIKE ? ESCAPE '\'))`)
		args = append(args, like(s.Subtree)+"%")
	}
	if s.Grants {
		parts = append(parts, `c.id IN (SELECT customer_id FROM grants WHERE user_id = ? AND revoked_at IS NULL AND starts_at <= ? AND expires_at > ?
			AND (',' || actions || ',') LIKE '%,customer.read,%')`)
		args = append(args, s.UserID, tx.db.ts(now), tx.db.ts(now))
	}
	if len(parts) == 0 {
		return "1=0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

func (tx *Tx) customerWhere(q CustomerQuery, scope custos.Scope, now time.Time) (string, []any) {
	f := q.Filter
	where, args := tx.scopeSQL(scope, now)
	// Customers whose data key is destroyed are gone for every purpose.
	conds := []string{where, `EXISTS (SELECT 1 FROM customer_keys k WHERE k.customer_id = c.id)`}
	add := func(c string, a ...any) { conds = append(conds, c); args = append(args, a...) }
	if f.Type != "" {
		add(`c.type = ?`, string(f.Type))
	}
	if f.OrgID != 0 {
		add(`c.org_id IN (SELECT id FROM orgs WHERE path LIKE (SELECT path FROM orgs WHERE id = ?) || '%')`, f.OrgID)
	}
	if f.OwnerID != 0 {
		add(`c.owner_id = ?`, f.OwnerID)
	}
	if f.Category != "" {
		add(`c.category = ?`, f.Category)
	}
	if f.Status != "" {
		add(`c.status = ?`, string(f.Status))
	}
	if f.Sensitivity != "" {
		add(`c.sensitivity = ?`, string(f.Sensitivity))
	}
	if f.Verification != "" {
		add(`c.verification = ?`, string(f.Verification))
	}
	if f.Estate != "" {
		b := strings.TrimSpace(f.Estate) + "/"
		if f.Building != "" {
			add(`c.building = ?`, custos.BuildingKey(f.Estate, f.Building))
		} else {
			add(`c.building LIKE ? ESCAPE '\'`, like(b)+"%")
		}
	}
	for tax, term := range f.Classes {
		add(`c.id IN (SELECT customer_id FROM customer_classes WHERE taxonomy = ? AND term = ?)`, tax, term)
	}
	for _, e := range q.Index {
		add(`c.id IN (SELECT customer_id FROM customer_index WHERE kind = ? AND hash = ?)`, e.Kind, e.Hash)
	}
	switch {
	case q.NameLike != "" && q.NameHash != nil:
		add(`(c.display_name LIKE ? ESCAPE '\' OR c.id IN (SELECT customer_id FROM customer_index WHERE kind = 'name' AND hash = ?))`, "%"+like(q.NameLike)+"%", q.NameHash)
	case q.NameLike != "":
		add(`c.display_name LIKE ? ESCAPE '\'`, "%"+like(q.NameLike)+"%")
	case q.NameHash != nil:
		add(`c.id IN (SELECT customer_id FROM customer_index WHERE kind = 'name' AND hash = ?)`, q.NameHash)
	}
	return strings.Join(conds, " AND "), args
}

var sortSQL = map[string]string{
	"archive_no":  "c.archive_no ASC",
	"-archive_no": "c.archive_no DESC",
	"created_at":  "c.id ASC", // ids are UUIDv7: they sort by creation time
	"-created_at": "c.id DESC",
	"updated_at":  "c.updated_at ASC, c.id ASC",
	"-updated_at": "c.updated_at DESC, c.id DESC",
}

// FindCustomers returns one page of the customers in scope that match the
// query, and the total count.
func (tx *Tx) FindCustomers(ctx context.Context, q CustomerQuery, scope custos.Scope, now time.Time) ([]*CustomerRecord, int, error) {
	q.Filter.Normalize()
	if scope.None() {
		return nil, 0, nil
	}
	order, ok := sortSQL[q.Filter.Sort]
	if !ok {
		return nil, 0, custos.Errorf(custos.EInvalid, "不支持的排序方式", "unsupported sort")
	}
	where, args := tx.customerWhere(q, scope, now)
	var total int
	if err := tx.row(ctx, `SELECT count(*) FROM customers c WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count customers: %w", err)
	}
	if total == 0 {
		return nil, 0, nil
	}
	offset := (q.Filter.Page - 1) * q.Filter.PageSize
	qargs := append([]any{[]byte{}}, args...)
	qargs = append(qargs, q.Filter.PageSize, offset)
	rows, err := tx.query(ctx, customerSelect+` WHERE `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`, qargs...)
	if err != nil {
		return nil, 0, fmt.Errorf("find customers: %w", err)
	}
	var out []*CustomerRecord
	for rows.Next() {
		r, err := tx.scanCustomer(ctx, rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// Catalogue counts the customers in scope by unit, category and tier.
func (tx *Tx) Catalogue(ctx context.Context, scope custos.Scope, now time.Time) ([]custos.CatalogueEntry, error) {
	if scope.None() {
		return nil, nil
	}
	where, args := tx.scopeSQL(scope, now)
	rows, err := tx.query(ctx, `SELECT c.org_id, c.category, COALESCE(cc.term, ''), count(*) FROM customers c
		LEFT JOIN customer_classes cc ON cc.customer_id = c.id AND cc.taxonomy = 'tier'
		WHERE `+where+` GROUP BY c.org_id, c.category, COALESCE(cc.term, '') ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.CatalogueEntry
	for rows.Next() {
		var e custos.CatalogueEntry
		if err := rows.Scan(&e.OrgID, &e.Category, &e.Tier, &e.Count); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// CountCustomers counts all stored customers.
func (tx *Tx) CountCustomers(ctx context.Context) (int64, error) {
	var n int64
	err := tx.row(ctx, `SELECT count(*) FROM customers`).Scan(&n)
	return n, err
}

// CustomerKey is a customer's wrapped data key.
type CustomerKey struct {
	CustomerID string
	Wrapped    []byte
	KEKID      int64
}

// CustomerKeys pages through the wrapped data keys after a customer id.
func (tx *Tx) CustomerKeys(ctx context.Context, after string, limit int) ([]CustomerKey, error) {
	rows, err := tx.query(ctx, `SELECT customer_id, wrapped, kek_id FROM customer_keys WHERE customer_id > ? ORDER BY customer_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CustomerKey
	for rows.Next() {
		var k CustomerKey
		if err := rows.Scan(&k.CustomerID, &k.Wrapped, &k.KEKID); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// KeyRewrap is a data key rewrapped under a new KEK version: the wrapped
// bytes it replaces, and the new ones.
type KeyRewrap struct {
	CustomerID string
	Old, New   []byte
}

// rewrapsPerStatement bounds the rows of one UPDATE of UpdateCustomerKeys.
const rewrapsPerStatement = 100

// UpdateCustomerKeys stores rewrapped data keys, each only if it is still
// the one that was rewrapped, in one statement per hundred keys: a key
// rotation's writes stay short, so the reads whose audit events queue
// behind them on the writer are not held up (docs/performance.md).
func (tx *Tx) UpdateCustomerKeys(ctx context.Context, kekID int64, keys []KeyRewrap) error {
	row := "(?, ?, ?)"
	if tx.db.dialect == Postgres {
		row = "(?, ?::bytea, ?::bytea)"
	}
	for len(keys) > 0 {
		part := keys[:min(len(keys), rewrapsPerStatement)]
		keys = keys[len(part):]
		args := make([]any, 0, 2+3*len(part))
		args = append(args, kekID, tx.db.ts(tx.Now()))
		for _, k := range part {
			args = append(args, k.CustomerID, k.Old, k.New)
		}
		q := `UPDATE customer_keys SET wrapped = v.column3, kek_id = ?, rotated_at = ?
			FROM (VALUES ` + strings.Repeat(row+", ", len(part)-1) + row + `) AS v
			WHERE customer_keys.customer_id = v.column1 AND customer_keys.wrapped = v.column2`
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("update data keys: %w", err)
		}
	}
	return nil
}

// DestroyCustomerKey deletes a customer's wrapped data key: everything
// encrypted under it becomes unreadable (crypto-shredding).
func (tx *Tx) DestroyCustomerKey(ctx context.Context, id string) error {
	_, err := tx.exec(ctx, `DELETE FROM customer_keys WHERE customer_id = ?`, id)
	return err
}

// CreateGrant stores an access grant.
func (tx *Tx) CreateGrant(ctx context.Context, g *custos.Grant) error {
	acts := make([]string, len(g.Actions))
	for i, a := range g.Actions {
		acts[i] = string(a)
	}
	g.CreatedAt = tx.Now()
	err := tx.row(ctx, `INSERT INTO grants (user_id, customer_id, actions, purpose, reason, granted_by, starts_at, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, g.UserID, g.CustomerID, strings.Join(acts, ","), g.Purpose, g.Reason,
		g.GrantedBy, tx.db.ts(g.StartsAt), tx.db.ts(g.ExpiresAt), tx.db.ts(g.CreatedAt)).Scan(&g.ID)
	if isForeignKey(err) {
		return custos.ErrNotFound
	}
	return err
}

// RevokeGrant ends a grant early.
func (tx *Tx) RevokeGrant(ctx context.Context, id, by int64) error {
	res, err := tx.exec(ctx, `UPDATE grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL`, tx.db.ts(tx.Now()), by, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.ErrNotFound
	}
	return nil
}

const grantColumns = `id, user_id, customer_id, actions, purpose, reason, granted_by, starts_at, expires_at, revoked_at, revoked_by, created_at`

func scanGrant(s scanner) (*custos.Grant, error) {
	var g custos.Grant
	var acts string
	if err := s.Scan(&g.ID, &g.UserID, &g.CustomerID, &acts, &g.Purpose, &g.Reason, &g.GrantedBy, scanTime{&g.StartsAt}, scanTime{&g.ExpiresAt},
		scanTimePtr{&g.RevokedAt}, &g.RevokedBy, scanTime{&g.CreatedAt}); err != nil {
		return nil, notFound(err)
	}
	for _, a := range strings.Split(acts, ",") {
		if a != "" {
			g.Actions = append(g.Actions, custos.Action(a))
		}
	}
	return &g, nil
}

// Grant loads one grant.
func (tx *Tx) Grant(ctx context.Context, id int64) (*custos.Grant, error) {
	return scanGrant(tx.row(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = ?`, id))
}

// Grants lists grants of a user (userID != 0) or on a customer (customerID != "").
func (tx *Tx) Grants(ctx context.Context, userID int64, customerID string) ([]*custos.Grant, error) {
	q := `SELECT ` + grantColumns + ` FROM grants WHERE 1=1`
	var args []any
	if userID != 0 {
		q, args = q+` AND user_id = ?`, append(args, userID)
	}
	if customerID != "" {
		q, args = q+` AND customer_id = ?`, append(args, customerID)
	}
	rows, err := tx.query(ctx, q+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*custos.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// customerSeal loads and checks what a customer's tag covers.
func (tx *Tx) customerSeal(ctx context.Context, id string) (*customerSeal, error) {
	var cs customerSeal
	var tag []byte
	if err := tx.row(ctx, `SELECT `+customerSealColumns+` FROM customers c WHERE c.id = ?`, id).Scan(cs.dest(&tag)...); err != nil {
		return nil, notFound(err)
	}
	if err := tx.checkCustomer(ctx, &cs, tag); err != nil {
		return nil, err
	}
	return &cs, nil
}

// changeCustomer applies change to a customer's checked state and stores
// it with a fresh tag, provided it is still what was loaded. It is for the
// narrow updates (status, owner) that do not make a new version.
func (tx *Tx) changeCustomer(ctx context.Context, id string, change func(*customerSeal) bool) error {
	cs, err := tx.customerSeal(ctx, id)
	if err != nil {
		return err
	}
	old := *cs
	if !change(cs) {
		return nil
	}
	tag, err := tx.db.tag(cs.msg())
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE customers SET owner_id = ?, status = ?, verification = ?, row_mac = ?
		WHERE id = ? AND owner_id = ? AND status = ? AND verification = ? AND version = ?`,
		cs.OwnerID, cs.Status, cs.Verification, tag, id, old.OwnerID, old.Status, old.Verification, old.Version)
	if err != nil {
		if isForeignKey(err) {
			return custos.Errorf(custos.EInvalid, "客户经理不存在", "the owner does not exist").Wrap(err)
		}
		return fmt.Errorf("update customer: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrStale
	}
	return nil
}
