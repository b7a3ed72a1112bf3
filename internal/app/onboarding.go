package app

import (
	"context"
	"crypto/hmac"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// VerificationInput is an inspector's record of an identity check (R-A6).
type VerificationInput struct {
	Method      custos.VerificationMethod `json:"method"`
	Passed      bool                      `json:"passed"`
	NameMatches bool                      `json:"name_matches"`
	EvidenceIDs []string                  `json:"evidence_ids"`
	Note        string                    `json:"note"`
}

// RecordVerification records an inspector's identity check against the
// attached evidence: method, result, the documents examined (R-A6, R-A10).
// A check passes only with evidence on file and the name on the documents
// matching the archive (no pseudonymous customers, R-A5).
func (a *App) RecordVerification(ctx context.Context, actor custos.Actor, customerID string, in VerificationInput) (*custos.VerificationRecord, error) {
	var v custos.Validation
	if !slices.Contains(custos.VerificationMethods, in.Method) {
		v.Addf("method", custos.CodeNotAllowed)
	}
	if in.Passed && len(in.EvidenceIDs) == 0 {
		v.Add("evidence_ids", custos.CodeRequired, custos.Message{ZH: "核实通过须有附件证据（证件影印件、执照等）", EN: "a passed verification needs evidence on file (ID scans, licences)"})
	}
	if in.Passed && !in.NameMatches {
		v.Add("name_matches", custos.CodeNotAllowed, custos.Message{ZH: "证件姓名与档案不符，不能核实通过", EN: "the name on the documents differs from the archive: the check cannot pass"})
	}
	c := &checker{now: a.now()}
	in.Note = c.text("note", in.Note, 2000, !in.Passed)
	v.Merge("", c.v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, _, err := a.loadVisible(ctx, actor, custos.ActCustomerVerify, customerID)
	if err != nil {
		return nil, err
	}
	checked, err := a.openCustomer(rec)
	if err != nil {
		return nil, internal("open customer", err)
	}
	atts, err := a.db.Reader().Attachments(ctx, customerID)
	if err != nil {
		return nil, internal("attachments", err)
	}
	for i, id := range in.EvidenceIDs {
		if !slices.ContainsFunc(atts, func(x *sqlstore.AttachmentRecord) bool { return x.ID == id }) {
			v.Addf("evidence_ids["+itoa(int64(i))+"]", custos.CodeUnknown)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	vr := &sqlstore.VerificationRecord{}
	vr.CustomerID, vr.InspectorID, vr.Method, vr.Passed, vr.NameMatches, vr.EvidenceIDs, vr.At =
		customerID, actor.UserID, in.Method, in.Passed, in.NameMatches, in.EvidenceIDs, a.now()
	vr.IdentityDigest = a.identityDigest(checked, in.EvidenceIDs)
	version := rec.Version
	if in.Note != "" {
		if vr.NoteCT, err = a.keys.Sealer.Encrypt(customerID, rec.WrappedKey, "verification:"+vr.At.Format("20060102150405.000000"), []byte(in.Note)); err != nil {
			return nil, internal("encrypt", err)
		}
	}
	state := custos.VerificationFailed
	if in.Passed {
		state = custos.Verified
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		// The identity checked must still be the archive's when the check is
		// recorded: an edit in between would otherwise ride on it.
		cur, err := tx.Customer(ctx, customerID)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return sqlstore.ErrStale
		}
		if err := tx.InsertVerification(ctx, vr); err != nil {
			return err
		}
		if err := tx.SetCustomerState(ctx, customerID, rec.Status, state); err != nil {
			return err
		}
		ev := a.event(actor, "customer.verify", customerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"method": in.Method, "passed": in.Passed, "evidence": len(in.EvidenceIDs)})
		return a.appendTx(ctx, tx, ev)
	})
	if errors.Is(err, sqlstore.ErrStale) {
		return nil, sqlstore.ErrStale
	}
	if err != nil {
		return nil, internal("record verification", err)
	}
	out := vr.VerificationRecord
	out.Note = in.Note
	return &out, nil
}

// identityDigest binds a verification to what it checked: a keyed digest
// (under the blind-index key, never the text) of the customer's identity
// and of the evidence examined.
func (a *App) identityDigest(c *custos.Customer, evidence []string) []byte {
	ev := slices.Clone(evidence)
	slices.Sort(ev)
	return a.keys.Indexer.Index("verification", c.Identity()+"evidence="+strings.Join(ev, ",")+"\n")
}

// identityVerified checks that the newest verification on file passed and
// checked the customer's current identity (R-A5, R-A10). Verifications
// recorded before identities were bound (no digest) keep their meaning:
// every identity change since then resets the verification state.
func (a *App) identityVerified(ctx context.Context, tx *sqlstore.Tx, c *custos.Customer) error {
	if c.Verification != custos.Verified {
		return custos.ErrNotEligible
	}
	vs, err := tx.Verifications(ctx, c.ID)
	if err != nil {
		return internal("verifications", err)
	}
	if len(vs) == 0 || !vs[0].Passed {
		return custos.ErrNotEligible
	}
	if d := vs[0].IdentityDigest; len(d) > 0 && !hmac.Equal(d, a.identityDigest(c, vs[0].EvidenceIDs)) {
		return custos.ErrIdentityStale
	}
	// The documents examined are still on file.
	atts, err := tx.Attachments(ctx, c.ID)
	if err != nil {
		return internal("attachments", err)
	}
	for _, id := range vs[0].EvidenceIDs {
		if !slices.ContainsFunc(atts, func(x *sqlstore.AttachmentRecord) bool { return x.ID == id }) {
			return custos.ErrIdentityStale
		}
	}
	return nil
}

// Verifications lists a customer's identity checks, audited as a read.
func (a *App) Verifications(ctx context.Context, actor custos.Actor, customerID string) ([]*custos.VerificationRecord, error) {
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerRead, customerID)
	if err != nil {
		return nil, err
	}
	rows, err := a.db.Reader().Verifications(ctx, customerID)
	if err != nil {
		return nil, internal("verifications", err)
	}
	out := make([]*custos.VerificationRecord, 0, len(rows))
	for _, r := range rows {
		v := r.VerificationRecord
		if len(r.NoteCT) > 0 {
			if v.Note, err = a.keys.Sealer.DecryptString(customerID, rec.WrappedKey, "verification:"+r.At.Format("20060102150405.000000"), r.NoteCT); err != nil {
				return nil, internal("decrypt", err)
			}
		}
		out = append(out, &v)
	}
	if err := a.record(ctx, a.event(actor, "verification.read", customerID, custos.OutcomeOK, d.Reason)); err != nil {
		return nil, err
	}
	return out, nil
}

// BusinessInput records an account, contract or loan.
type BusinessInput struct {
	Kind      custos.BusinessKind `json:"kind"`
	Reference string              `json:"reference"`
	Product   string              `json:"product"`
	OpenedOn  string              `json:"opened_on"`
}

// AddBusiness records business for a customer, refused unless the archive is
// effective and the identity verified: no anonymous or pseudonymous
// customers (R-A5).
func (a *App) AddBusiness(ctx context.Context, actor custos.Actor, customerID string, in BusinessInput) (*custos.BusinessRecord, error) {
	var v custos.Validation
	if !custos.ValidBusinessKind(in.Kind) {
		v.Addf("kind", custos.CodeNotAllowed)
	}
	c := &checker{now: a.now()}
	in.Reference = c.text("reference", in.Reference, 64, true)
	in.Product = c.text("product", in.Product, 100, false)
	if !custos.ValidDate(in.OpenedOn) {
		c.add("opened_on", custos.CodeInvalidDate)
	}
	v.Merge("", c.v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, _, err := a.loadVisible(ctx, actor, custos.ActCustomerBusiness, customerID)
	if err != nil {
		return nil, err
	}
	cust, err := a.openCustomer(rec)
	if err != nil {
		return nil, internal("open customer", err)
	}
	if err := cust.MayDoBusinessAt(a.now(), a.cfg.IDExpiryGrace); err != nil {
		reason := "not_eligible"
		if err == custos.ErrIDDocumentExpired {
			reason = "id_document_expired"
		}
		return nil, a.denied(ctx, actor, custos.ActCustomerBusiness, customerID, reason, err)
	}
	if err := a.identityVerified(ctx, a.db.Reader(), cust); err != nil {
		return nil, a.denied(ctx, actor, custos.ActCustomerBusiness, customerID, "identity_stale", err)
	}
	id, _ := uuid.NewV7()
	b := &sqlstore.BusinessRecord{}
	b.ID, b.CustomerID, b.Kind, b.Product, b.OpenedOn, b.CreatedBy, b.CreatedAt = id.String(), customerID, in.Kind, in.Product, in.OpenedOn, actor.UserID, a.now()
	if b.ReferenceCT, err = a.keys.Sealer.Encrypt(customerID, rec.WrappedKey, "business:"+b.ID, []byte(strings.TrimSpace(in.Reference))); err != nil {
		return nil, internal("encrypt", err)
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.InsertBusiness(ctx, b); err != nil {
			return err
		}
		ev := a.event(actor, "customer.business", customerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"kind": in.Kind, "record": b.ID})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("add business", err)
	}
	out := b.BusinessRecord
	out.Reference = custos.MaskIDNumber(in.Reference)
	return &out, nil
}

// BusinessRecords lists a customer's accounts, contracts and loans with
// references masked, audited as a read.
func (a *App) BusinessRecords(ctx context.Context, actor custos.Actor, customerID string) ([]*custos.BusinessRecord, error) {
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerRead, customerID)
	if err != nil {
		return nil, err
	}
	rows, err := a.db.Reader().BusinessRecords(ctx, customerID)
	if err != nil {
		return nil, internal("business records", err)
	}
	out := make([]*custos.BusinessRecord, 0, len(rows))
	for _, r := range rows {
		b := r.BusinessRecord
		ref, err := a.keys.Sealer.DecryptString(customerID, rec.WrappedKey, "business:"+r.ID, r.ReferenceCT)
		if err != nil {
			return nil, internal("decrypt", err)
		}
		b.Reference = custos.MaskIDNumber(ref)
		out = append(out, &b)
	}
	if err := a.record(ctx, a.event(actor, "business.read", customerID, custos.OutcomeOK, d.Reason)); err != nil {
		return nil, err
	}
	return out, nil
}
