package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/custos-cim/custos"
)

// RequestRecord is an approval request as stored; the payload is ciphertext
// when it may hold personal data.
type RequestRecord struct {
	custos.Request
	PayloadCT []byte
	// Responsible is, for a customer's own request (RequestedByCustomer),
	// the account manager responsible when it was filed; the requested_by
	// column holds it because that column must name a user.
	Responsible int64
}

// ApprovalRules returns the rules by kind.
func (tx *Tx) ApprovalRules(ctx context.Context) (map[custos.RequestKind]custos.ApprovalRule, error) {
	rows, err := tx.query(ctx, `SELECT kind, roles, scope, required, ttl_seconds FROM approval_rules`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[custos.RequestKind]custos.ApprovalRule{}
	for rows.Next() {
		var r custos.ApprovalRule
		var kind, roles, scope string
		var ttl int64
		if err := rows.Scan(&kind, &roles, &scope, &r.Required, &ttl); err != nil {
			return nil, err
		}
		r.Kind, r.Scope, r.TTL = custos.RequestKind(kind), custos.ApprovalScope(scope), custos.Duration(time.Duration(ttl)*time.Second)
		for _, s := range strings.Split(roles, ",") {
			if s != "" {
				r.Roles = append(r.Roles, custos.Role(s))
			}
		}
		out[r.Kind] = r.Floored() // a rule edited below its floor in the database is still held to it
	}
	return out, rows.Err()
}

// PutApprovalRule creates or replaces the rule of a kind.
func (tx *Tx) PutApprovalRule(ctx context.Context, r custos.ApprovalRule) error {
	roles := make([]string, len(r.Roles))
	for i, x := range r.Roles {
		roles[i] = string(x)
	}
	_, err := tx.exec(ctx, `INSERT INTO approval_rules (kind, roles, scope, required, ttl_seconds) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind) DO UPDATE SET roles = excluded.roles, scope = excluded.scope, required = excluded.required, ttl_seconds = excluded.ttl_seconds`,
		string(r.Kind), strings.Join(roles, ","), string(r.Scope), r.Required, int64(time.Duration(r.TTL)/time.Second))
	return err
}

// InsertRequest stores a new request and sets its id.
func (tx *Tx) InsertRequest(ctx context.Context, r *RequestRecord) error {
	var customer any
	if r.CustomerID != "" {
		customer = r.CustomerID
	}
	by := r.RequestedBy
	if r.RequestedByCustomer {
		if r.CustomerID == "" || r.RequestedBy != 0 || r.Responsible == 0 {
			return fmt.Errorf("insert request: a customer's own request names its customer and a responsible user, and no staff requester")
		}
		by = r.Responsible
	}
	err := tx.row(ctx, `INSERT INTO requests (kind, state, customer_id, subject_id, org_id, reason, summary, payload_ct, requested_by,
		requested_at, expires_at, required, outcome, version, requester_customer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING id`,
		string(r.Kind), string(r.State), customer, r.SubjectID, r.OrgID, r.Reason, r.Summary, r.PayloadCT, by,
		tx.db.ts(r.RequestedAt), tx.db.ts(r.ExpiresAt), r.Required, r.Outcome, r.RequestedByCustomer).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("insert request: %w", err)
	}
	r.Version = 1
	return nil
}

// UpdateRequest stores a request's new state and its newly added decisions,
// if nobody changed it since it was read (optimistic locking on Version).
func (tx *Tx) UpdateRequest(ctx context.Context, r *RequestRecord, newDecisions []custos.RequestDecision) error {
	res, err := tx.exec(ctx, `UPDATE requests SET state = ?, decided_at = ?, applied_at = ?, outcome = ?, version = version + 1
		WHERE id = ? AND version = ?`, string(r.State), tx.db.tsp(r.DecidedAt), tx.db.tsp(r.AppliedAt), r.Outcome, r.ID, r.Version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.Errorf(custos.EConflict, "申请已被他人处理，请刷新", "the request changed meanwhile; reload")
	}
	r.Version++
	for _, d := range newDecisions {
		if _, err := tx.exec(ctx, `INSERT INTO request_decisions (request_id, user_id, role, approve, comment, at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.ID, d.By, string(d.Role), d.Approve, d.Comment, tx.db.ts(d.At)); err != nil {
			if isUnique(err) {
				return custos.ErrAlreadyDecided
			}
			return err
		}
	}
	return nil
}

const requestColumns = `r.id, r.kind, r.state, COALESCE(r.customer_id, ''), r.subject_id, r.org_id, o.path, r.reason, r.summary, r.payload_ct,
	r.requested_by, r.requested_at, r.expires_at, r.required, r.decided_at, r.applied_at, r.outcome, r.version, r.requester_customer`

func scanRequest(s scanner) (*RequestRecord, error) {
	var r RequestRecord
	var kind, state string
	err := s.Scan(&r.ID, &kind, &state, &r.CustomerID, &r.SubjectID, &r.OrgID, &r.OrgPath, &r.Reason, &r.Summary, &r.PayloadCT,
		&r.RequestedBy, scanTime{&r.RequestedAt}, scanTime{&r.ExpiresAt}, &r.Required, scanTimePtr{&r.DecidedAt}, scanTimePtr{&r.AppliedAt}, &r.Outcome, &r.Version,
		&r.RequestedByCustomer)
	if err != nil {
		return nil, notFound(err)
	}
	if r.RequestedByCustomer {
		r.Responsible, r.RequestedBy = r.RequestedBy, 0
	}
	r.Kind, r.State = custos.RequestKind(kind), custos.RequestState(state)
	return &r, nil
}

// Request loads one request with its decisions.
func (tx *Tx) Request(ctx context.Context, id int64) (*RequestRecord, error) {
	r, err := scanRequest(tx.row(ctx, `SELECT `+requestColumns+` FROM requests r JOIN orgs o ON o.id = r.org_id WHERE r.id = ?`, id))
	if err != nil {
		return nil, err
	}
	return r, tx.loadDecisions(ctx, []*RequestRecord{r})
}

// Requests lists requests, newest first.
func (tx *Tx) Requests(ctx context.Context, f custos.RequestFilter) ([]*RequestRecord, error) {
	q := `SELECT ` + requestColumns + ` FROM requests r JOIN orgs o ON o.id = r.org_id WHERE 1=1`
	var args []any
	if f.Kind != "" {
		q, args = q+` AND r.kind = ?`, append(args, string(f.Kind))
	}
	if f.State != "" {
		q, args = q+` AND r.state = ?`, append(args, string(f.State))
	}
	if f.CustomerID != "" {
		q, args = q+` AND r.customer_id = ?`, append(args, f.CustomerID)
	}
	if f.RequestedBy != 0 {
		q, args = q+` AND r.requested_by = ? AND r.requester_customer = ?`, append(args, f.RequestedBy, false)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := tx.query(ctx, q+fmt.Sprintf(` ORDER BY r.id DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, err
	}
	var out []*RequestRecord
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, tx.loadDecisions(ctx, out)
}

func (tx *Tx) loadDecisions(ctx context.Context, reqs []*RequestRecord) error {
	if len(reqs) == 0 {
		return nil
	}
	byID := make(map[int64]*RequestRecord, len(reqs))
	args := make([]any, 0, len(reqs))
	for _, r := range reqs {
		byID[r.ID] = r
		args = append(args, r.ID)
	}
	rows, err := tx.query(ctx, `SELECT request_id, user_id, role, approve, comment, at FROM request_decisions WHERE request_id IN (`+placeholders(len(args))+`) ORDER BY at`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var d custos.RequestDecision
		var role string
		if err := rows.Scan(&id, &d.By, &role, &d.Approve, &d.Comment, scanTime{&d.At}); err != nil {
			return err
		}
		d.Role = custos.Role(role)
		byID[id].Decisions = append(byID[id].Decisions, d)
	}
	return rows.Err()
}

// ExpiredRequests lists pending requests past their deadline.
func (tx *Tx) ExpiredRequests(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := tx.query(ctx, `SELECT id FROM requests WHERE state = 'pending' AND expires_at <= ? ORDER BY id`, tx.db.ts(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// VersionRecord is an archive version as stored.
type VersionRecord struct {
	custos.ArchiveVersion
	Meta      string // JSON of the plaintext columns at that version
	ProfileCT []byte
	CustomCT  []byte
}

// InsertVersion stores an archive version.
func (tx *Tx) InsertVersion(ctx context.Context, v *VersionRecord) error {
	var req any
	if v.RequestID != 0 {
		req = v.RequestID
	}
	_, err := tx.exec(ctx, `INSERT INTO customer_versions (customer_id, version, request_id, requested_by, approved_by, reason, fields, meta, profile_ct, custom_ct, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, v.CustomerID, v.Version, req, v.RequestedBy, v.ApprovedBy, v.Reason, strings.Join(v.Fields, ","),
		v.Meta, v.ProfileCT, v.CustomCT, tx.db.ts(v.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert version: %w", err)
	}
	return nil
}

// Versions lists a customer's versions, oldest first; withContent also loads the ciphertexts.
func (tx *Tx) Versions(ctx context.Context, customerID string, withContent bool) ([]*VersionRecord, error) {
	cols := `customer_id, version, COALESCE(request_id, 0), requested_by, approved_by, reason, fields, meta, created_at`
	if withContent {
		cols += `, profile_ct, custom_ct`
	}
	rows, err := tx.query(ctx, `SELECT `+cols+` FROM customer_versions WHERE customer_id = ? ORDER BY version`, customerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*VersionRecord
	for rows.Next() {
		var v VersionRecord
		var fields string
		dest := []any{&v.CustomerID, &v.Version, &v.RequestID, &v.RequestedBy, &v.ApprovedBy, &v.Reason, &fields, &v.Meta, scanTime{&v.CreatedAt}}
		if withContent {
			dest = append(dest, &v.ProfileCT, &v.CustomCT)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if fields != "" {
			v.Fields = strings.Split(fields, ",")
		}
		out = append(out, &v)
	}
	return out, rows.Err()
}

// SetCustomerState changes an archive's status and verification without a new version.
func (tx *Tx) SetCustomerState(ctx context.Context, id string, status custos.ArchiveStatus, verification custos.Verification) error {
	return tx.changeCustomer(ctx, id, func(c *customerSeal) bool {
		c.Status, c.Verification = string(status), string(verification)
		return true
	})
}

// VerificationRecord is a verification as stored; the note is ciphertext.
type VerificationRecord struct {
	custos.VerificationRecord
	NoteCT []byte
	// IdentityDigest binds the verification to the identity it checked
	// (a keyed digest; empty for verifications older than migration 0015).
	IdentityDigest []byte
}

// InsertVerification stores a verification.
func (tx *Tx) InsertVerification(ctx context.Context, v *VerificationRecord) error {
	return tx.row(ctx, `INSERT INTO verifications (customer_id, inspector_id, method, passed, name_matches, evidence, note_ct, at, identity_digest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, v.CustomerID, v.InspectorID, string(v.Method), v.Passed, v.NameMatches,
		strings.Join(v.EvidenceIDs, ","), v.NoteCT, tx.db.ts(v.At), v.IdentityDigest).Scan(&v.ID)
}

// Verifications lists a customer's verifications, newest first.
func (tx *Tx) Verifications(ctx context.Context, customerID string) ([]*VerificationRecord, error) {
	rows, err := tx.query(ctx, `SELECT id, customer_id, inspector_id, method, passed, name_matches, evidence, note_ct, at, identity_digest FROM verifications
		WHERE customer_id = ? ORDER BY id DESC`, customerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*VerificationRecord
	for rows.Next() {
		var v VerificationRecord
		var method, evidence string
		if err := rows.Scan(&v.ID, &v.CustomerID, &v.InspectorID, &method, &v.Passed, &v.NameMatches, &evidence, &v.NoteCT, scanTime{&v.At}, &v.IdentityDigest); err != nil {
			return nil, err
		}
		v.Method = custos.VerificationMethod(method)
		if evidence != "" {
			v.EvidenceIDs = strings.Split(evidence, ",")
		}
		out = append(out, &v)
	}
	return out, rows.Err()
}

// BusinessRecord is a business record as stored; the reference is ciphertext.
type BusinessRecord struct {
	custos.BusinessRecord
	ReferenceCT []byte
}

// InsertBusiness stores a business record.
func (tx *Tx) InsertBusiness(ctx context.Context, b *BusinessRecord) error {
	_, err := tx.exec(ctx, `INSERT INTO business_records (id, customer_id, kind, reference_ct, product, opened_on, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, b.ID, b.CustomerID, string(b.Kind), b.ReferenceCT, b.Product, b.OpenedOn, b.CreatedBy, tx.db.ts(b.CreatedAt))
	return err
}

// BusinessRecords lists a customer's business records.
func (tx *Tx) BusinessRecords(ctx context.Context, customerID string) ([]*BusinessRecord, error) {
	rows, err := tx.query(ctx, `SELECT id, customer_id, kind, reference_ct, product, opened_on, created_by, created_at FROM business_records
		WHERE customer_id = ? ORDER BY created_at`, customerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*BusinessRecord
	for rows.Next() {
		var b BusinessRecord
		var kind string
		if err := rows.Scan(&b.ID, &b.CustomerID, &kind, &b.ReferenceCT, &b.Product, &b.OpenedOn, &b.CreatedBy, scanTime{&b.CreatedAt}); err != nil {
			return nil, err
		}
		b.Kind = custos.BusinessKind(kind)
		out = append(out, &b)
	}
	return out, rows.Err()
}

// SetRequestPayload stores a request's (encrypted) payload.
func (tx *Tx) SetRequestPayload(ctx context.Context, id int64, ct []byte) error {
	_, err := tx.exec(ctx, `UPDATE requests SET payload_ct = ? WHERE id = ?`, ct, id)
	return err
}

// ReassignRequest makes another user the requester of a pending request (handover).
func (tx *Tx) ReassignRequest(ctx context.Context, id, to int64) error {
	_, err := tx.exec(ctx, `UPDATE requests SET requested_by = ?, version = version + 1 WHERE id = ? AND state = 'pending'`, to, id)
	return err
}
