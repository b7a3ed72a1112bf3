package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Encrypted field names: the associated data binds each ciphertext to its
// customer and to the column it belongs in.
const (
	fieldProfile = "profile"
	fieldCustom  = "custom"
)

// profileDoc is the encrypted part of a customer.
type profileDoc struct {
	Person      *custos.Person      `json:"p,omitempty"`
	Institution *custos.Institution `json:"i,omitempty"`
	Household   *custos.Household   `json:"h,omitempty"`
	RiskReason  string              `json:"r,omitempty"`
}

// Blind index kinds.
const (
	idxIDNumber = "id_number"
	idxPhone    = "phone"
	idxUSCC     = "uscc"
	idxName     = "name"
	idxPartyID  = "party_id"
)

// ErrKeyDestroyed answers reads of a customer whose data key was shredded.
var ErrKeyDestroyed = custos.Errorf(custos.ENotFound, "档案已销毁", "the archive has been destroyed")

// sealCustomer encrypts a customer into its stored form.
func (a *App) sealCustomer(c *custos.Customer, wrapped []byte) (*sqlstore.CustomerRecord, error) {
	doc, err := json.Marshal(profileDoc{Person: c.Person, Institution: c.Institution, Household: c.Household, RiskReason: c.RiskReason})
	if err != nil {
		return nil, err
	}
	s := a.keys.Sealer
	r := &sqlstore.CustomerRecord{
		ID: c.ID, ArchiveNo: c.ArchiveNo, Type: c.Type, OrgID: c.OrgID, OwnerID: c.OwnerID, Category: c.Category,
		Status: c.Status, Sensitivity: c.Sensitivity, ProtectedReason: c.ProtectedReason, Verification: c.Verification,
		Building: c.Building(), Classes: c.Classes, WrappedKey: wrapped, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt,
		UpdatedAt: c.UpdatedAt, Version: c.Version,
	}
	if c.Institution != nil {
		r.DisplayName = c.Institution.Name // institution names are public registry data (see docs/data-classification.md)
	}
	if id, ok := seal.WrappedKeyID(wrapped); ok {
		r.KEKID = int64(id)
	}
	if r.ProfileCT, err = s.Encrypt(c.ID, wrapped, fieldProfile, doc); err != nil {
		return nil, err
	}
	if len(c.Custom) > 0 {
		cj, err := json.Marshal(c.Custom)
		if err != nil {
			return nil, err
		}
		if r.CustomCT, err = s.Encrypt(c.ID, wrapped, fieldCustom, cj); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// openCustomer decrypts a stored customer.
func (a *App) openCustomer(r *sqlstore.CustomerRecord) (*custos.Customer, error) {
	if len(r.WrappedKey) == 0 {
		return nil, ErrKeyDestroyed
	}
	c := &custos.Customer{
		ID: r.ID, ArchiveNo: r.ArchiveNo, Type: r.Type, OrgID: r.OrgID, OwnerID: r.OwnerID, Category: r.Category,
		Status: r.Status, Sensitivity: r.Sensitivity, ProtectedReason: r.ProtectedReason, Verification: r.Verification,
		Classes: r.Classes, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
	}
	s := a.keys.Sealer
	pt, err := s.Decrypt(r.ID, r.WrappedKey, fieldProfile, r.ProfileCT)
	if err != nil {
		return nil, fmt.Errorf("decrypt customer %s: %w", r.ID, err)
	}
	var doc profileDoc
	if err := json.Unmarshal(pt, &doc); err != nil {
		return nil, fmt.Errorf("decode customer %s: %w", r.ID, err)
	}
	c.Person, c.Institution, c.Household, c.RiskReason = doc.Person, doc.Institution, doc.Household, doc.RiskReason
	if len(r.CustomCT) > 0 {
		cj, err := s.Decrypt(r.ID, r.WrappedKey, fieldCustom, r.CustomCT)
		if err != nil {
			return nil, fmt.Errorf("decrypt customer %s custom fields: %w", r.ID, err)
		}
		if err := json.Unmarshal(cj, &c.Custom); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// blindIndexes computes a customer's search indexes and its identity key
// (the one-archive-per-customer constraint).
func (a *App) blindIndexes(c *custos.Customer) ([]sqlstore.IndexEntry, []byte) {
	ix := a.keys.Indexer
	var out []sqlstore.IndexEntry
	add := func(kind, v string) {
		if v == "" {
			return
		}
		h := ix.Index(kind, v)
		for _, e := range out {
			if e.Kind == kind && string(e.Hash) == string(h) {
				return
			}
		}
		out = append(out, sqlstore.IndexEntry{Kind: kind, Hash: h})
	}
	var identity []byte
	if p := c.Person; p != nil {
		add(idxName, NormalizeName(p.Name))
		for _, ph := range p.Phones {
			add(idxPhone, NormalizePhone(ph))
		}
		for i, d := range p.IDDocuments {
			add(idxIDNumber, idcard.Normalize(d.Number))
			if i == 0 && d.Number != "" {
				identity = ix.Index("identity", d.Type+":"+idcard.Normalize(d.Number))
			}
		}
	}
	if in := c.Institution; in != nil {
		add(idxUSCC, idcard.Normalize(in.USCC))
		if in.USCC != "" {
			identity = ix.Index("identity", "uscc:"+idcard.Normalize(in.USCC))
		}
		add(idxPhone, NormalizePhone(in.Phone))
		add(idxPhone, NormalizePhone(in.ContactPhone))
		parties := append([]custos.Party(nil), in.Agents...)
		parties = append(parties, in.BeneficialOwners...)
		for _, p := range []*custos.Party{in.LegalRepresentative, in.ResponsiblePerson} {
			if p != nil {
				parties = append(parties, *p)
			}
		}
		for _, p := range parties {
			add(idxPartyID, idcard.Normalize(p.IDNumber))
		}
	}
	return out, identity
}

// resolvePlace finds the unit and owner an input names, defaulting to the actor's.
func (a *App) resolvePlace(ctx context.Context, ref *refData, actor custos.Actor, in *custos.CustomerInput, v *custos.Validation) (*custos.Org, *custos.User, error) {
	var org *custos.Org
	switch {
	case in.OrgID != 0:
		org = ref.orgs[in.OrgID]
	case in.Org != "":
		org = ref.orgCodes[in.Org]
	case actor.OrgID != 0:
		org = ref.orgs[actor.OrgID]
	}
	if org == nil && (in.OrgID != 0 || in.Org != "") {
		a.invalidateRef() // a unit created a moment ago on another server
		ref, err := a.refData(ctx)
		if err != nil {
			return nil, nil, err
		}
		if in.OrgID != 0 {
			org = ref.orgs[in.OrgID]
		} else {
			org = ref.orgCodes[in.Org]
		}
	}
	if org == nil {
		if in.OrgID == 0 && in.Org == "" {
			v.Addf("org", custos.CodeRequired)
		} else {
			v.Addf("org", custos.CodeUnknown)
		}
	}
	var owner *custos.User
	var err error
	rd := a.db.Reader()
	switch {
	case in.OwnerID != 0:
		owner, err = rd.User(ctx, in.OwnerID)
	case in.Owner != "":
		owner, err = rd.UserByName(ctx, custos.NormalizeUsername(in.Owner))
	case actor.Kind == custos.ActorUser:
		// The actor is authenticated and enabled: no need to look it up.
		owner = &custos.User{ID: actor.UserID, Username: actor.Username, Role: actor.Role, OrgID: actor.OrgID}
	default:
		v.Addf("owner", custos.CodeRequired)
		return org, nil, nil
	}
	if errors.Is(err, custos.ErrNotFound) || (owner != nil && owner.Disabled) {
		v.Addf("owner", custos.CodeUnknown)
		return org, nil, nil
	}
	if err != nil {
		return nil, nil, internal("load owner", err)
	}
	return org, owner, nil
}

// CreateCustomer validates and stores a new customer archive (R-A1–R-A3,
// R-A7, R-A8): errors come back as EInvalid with field errors and store
// nothing; a second archive for the same identity is EConflict.
func (a *App) CreateCustomer(ctx context.Context, actor custos.Actor, in custos.CustomerInput) (*custos.Customer, error) {
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	var v custos.Validation
	org, owner, err := a.resolvePlace(ctx, ref, actor, &in, &v)
	if err != nil {
		return nil, err
	}
	c, cv := validateCustomer(&in, ref, now)
	v.Merge("", cv)
	if err := v.Err(); err != nil {
		return nil, err
	}
	acl := custos.CustomerACL{OrgPath: org.Path, OwnerID: owner.ID, Sensitivity: c.Sensitivity}
	if d := custos.Decide(actor, custos.ActCustomerCreate, acl); !d.Allowed {
		return nil, a.denied(ctx, actor, custos.ActCustomerCreate, "", d.Reason,
			custos.Errorf(custos.EForbidden, "无权在该机构为该客户经理建档", "not allowed to create archives for this unit and owner"))
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, internal("new id", err)
	}
	c.ID, c.OrgID, c.OwnerID = id.String(), org.ID, owner.ID
	// A new archive is a draft until an inspector verifies the identity and
	// a manager approves it (R-A10).
	c.Status, c.Verification = custos.StatusDraft, custos.Unverified
	c.CreatedBy, c.CreatedAt, c.UpdatedAt, c.Version = actor.UserID, now, now, 1
	wrapped, err := a.keys.Sealer.NewDataKey(c.ID)
	if err != nil {
		return nil, internal("new data key", err)
	}
	index, identity := a.blindIndexes(c)
	rec, err := a.sealCustomer(c, wrapped)
	if err != nil {
		return nil, internal("seal customer", err)
	}
	ev := a.event(actor, custos.ActCustomerCreate, c.ID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"type": c.Type, "category": c.Category, "sensitivity": c.Sensitivity})
	vars := custos.ArchiveVars{Org: org.Code, Type: c.Type, Category: c.Category, Date: now}
	series := ref.pattern.Series(vars)
	// Only what needs the database happens inside the (shared) transaction.
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		seq, err := tx.NextArchiveSeq(ctx, series)
		if err != nil {
			return err
		}
		rec.ArchiveNo = ref.pattern.Render(vars, seq)
		if err := tx.InsertCustomer(ctx, rec, index, identity); err != nil {
			return err
		}
		r, err := a.newRequest(ctx, tx, actor, custos.KindOnboarding, c.OrgID, c.ID, "new archive", rec.ArchiveNo)
		if err != nil {
			return err
		}
		if actor.Kind != custos.ActorUser {
			r.RequestedBy = owner.ID // the system files on behalf of the owner
		}
		return a.insertRequest(ctx, tx, actor, r, nil, nil, ev)
	})
	c.ArchiveNo = rec.ArchiveNo
	if errors.Is(err, sqlstore.ErrDuplicateIdentity) {
		return nil, a.duplicateIdentity(ctx, actor, custos.ActCustomerCreate, identity)
	}
	if err != nil {
		return nil, internal("create customer", err)
	}
	return c, nil
}

// duplicateIdentity answers a create or change whose identity another
// archive already holds (one archive per customer). It is a conflict
// either way — uniqueness cannot be kept without saying so — but the
// existing archive is named only to someone who may read it, and every
// such refusal is audited against the existing archive, so that probing
// for identities shows in the audit trail.
func (a *App) duplicateIdentity(ctx context.Context, actor custos.Actor, act custos.Action, identity []byte) error {
	rd := a.db.Reader()
	holder, err := rd.IdentityHolder(ctx, identity)
	if errors.Is(err, custos.ErrNotFound) {
		return sqlstore.ErrDuplicateIdentity // gone again meanwhile
	}
	if err != nil {
		return internal("identity holder", err)
	}
	answer := error(errDuplicateElsewhere)
	rec, err := rd.Customer(ctx, holder)
	if err != nil && !errors.Is(err, custos.ErrNotFound) {
		return internal("load customer", err)
	}
	if err == nil && len(rec.WrappedKey) > 0 {
		if err := a.placeRecords(ctx, rec); err != nil {
			return err
		}
		d, err := a.decideOn(ctx, actor, rec, custos.ActCustomerRead)
		if err != nil {
			return err
		}
		if d.Allowed {
			answer = &custos.Error{Code: custos.EConflict,
				Message: custos.Message{ZH: "该证件号码的客户档案已存在：" + rec.ArchiveNo, EN: "an archive for this identity already exists: " + rec.ArchiveNo},
				Fields:  sqlstore.ErrDuplicateIdentity.Fields}
		}
	}
	return a.denied(ctx, actor, act, holder, "duplicate_identity", answer)
}

// errDuplicateElsewhere answers a duplicate identity held by an archive the
// actor may not read: that it exists somewhere in the bank, nothing more.
var errDuplicateElsewhere = &custos.Error{Code: custos.EConflict,
	Message: custos.Message{ZH: "该证件号码的客户档案已在本行存在（一客一档），不在您的职责范围内；如需办理业务请申请访问权限",
		EN: "an archive for this identity already exists in the bank (one archive per customer), outside your portfolio; ask for access to serve this customer"},
	Fields: sqlstore.ErrDuplicateIdentity.Fields}

// loadVisible loads a customer and decides act on it. A customer that is
// missing, destroyed or hidden from the actor is custos.ErrNotFound, and the
// refusal is audited.
func (a *App) loadVisible(ctx context.Context, actor custos.Actor, act custos.Action, id string) (*sqlstore.CustomerRecord, custos.Decision, error) {
	return a.loadVisibleFor(ctx, actor, id, act)
}

// loadVisibleFor is loadVisible where any of several actions will do (the
// first is the one audited when all are refused).
func (a *App) loadVisibleFor(ctx context.Context, actor custos.Actor, id string, acts ...custos.Action) (*sqlstore.CustomerRecord, custos.Decision, error) {
	act := acts[0]
	if err := a.requirePurpose(ctx, actor, act, id); err != nil {
		return nil, custos.Decision{}, err
	}
	rd := a.db.Reader()
	rec, err := rd.Customer(ctx, id)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, custos.Decision{}, a.denied(ctx, actor, act, id, "not_found", custos.ErrNotFound)
	}
	if err != nil {
		return nil, custos.Decision{}, internal("load customer", err)
	}
	if err := a.placeRecords(ctx, rec); err != nil {
		return nil, custos.Decision{}, err
	}
	// Most reads are by the owner or a manager of the unit: decide on the
	// record alone first, and look up portfolio and grants only when that
	// is not enough.
	acl := sqlstore.ACLOf(rec, sqlstore.Relation{})
	decide := func() custos.Decision {
		var d custos.Decision
		for _, x := range acts {
			if d = custos.Decide(actor, x, acl); d.Allowed {
				return d
			}
		}
		return custos.Decide(actor, act, acl)
	}
	if !decide().Allowed && actor.Kind == custos.ActorUser {
		rels, err := rd.Relations(ctx, actor.UserID, []sqlstore.RelationKey{{CustomerID: rec.ID, Building: rec.Building}}, a.now())
		if err != nil {
			return nil, custos.Decision{}, internal("load relations", err)
		}
		acl = sqlstore.ACLOf(rec, rels[rec.ID])
	}
	d := decide()
	if !d.Allowed {
		// Hidden unless the actor may at least read it; then the refusal is honest.
		if act != custos.ActCustomerRead && custos.Decide(actor, custos.ActCustomerRead, acl).Allowed {
			return nil, d, a.denied(ctx, actor, act, id, d.Reason, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
		}
		return nil, d, a.denied(ctx, actor, act, id, d.Reason, custos.ErrNotFound)
	}
	if len(rec.WrappedKey) == 0 {
		return nil, d, a.denied(ctx, actor, act, id, "destroyed", ErrKeyDestroyed)
	}
	return rec, d, nil
}

// placeRecords fills in the organisation paths of loaded records from the
// cached organisation tree (reloading it once if a unit is new).
func (a *App) placeRecords(ctx context.Context, recs ...*sqlstore.CustomerRecord) error {
	ref, err := a.refData(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		o, ok := ref.orgs[r.OrgID]
		if !ok {
			a.invalidateRef()
			if ref, err = a.refData(ctx); err != nil {
				return err
			}
			if o, ok = ref.orgs[r.OrgID]; !ok {
				return internal("place customer", fmt.Errorf("customer %s in unknown unit %d", r.ID, r.OrgID))
			}
		}
		r.OrgPath = o.Path
	}
	return nil
}

// GetCustomer returns a customer, masked (R-C10), after checking scope and
// purpose (R-C1, R-C2, R-C6) and committing the read to the audit trail (R-C5).
func (a *App) GetCustomer(ctx context.Context, actor custos.Actor, id string) (*custos.Customer, error) {
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerRead, id)
	if err != nil {
		return nil, err
	}
	c, err := a.openCustomer(rec)
	if err != nil {
		return nil, internal("open customer", err)
	}
	if err := a.record(ctx, a.event(actor, custos.ActCustomerRead, id, custos.OutcomeOK, d.Reason)); err != nil {
		return nil, err
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	return c.Masked(nil, ref.sensitiveCustom(c.Category)), nil
}

// RevealCustomer returns a customer with the named fields in full (R-C10):
// its own permission, a stated purpose, and an audit event naming the fields.
func (a *App) RevealCustomer(ctx context.Context, actor custos.Actor, id string, fields []string) (*custos.Customer, error) {
	var v custos.Validation
	if len(fields) == 0 {
		v.Addf("fields", custos.CodeRequired)
	}
	for i, f := range fields {
		if !slices.Contains(custos.RevealFields, f) {
			v.Addf(fmt.Sprintf("fields[%d]", i), custos.CodeNotAllowed)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerReveal, id)
	if err != nil {
		return nil, err
	}
	c, err := a.openCustomer(rec)
	if err != nil {
		return nil, internal("open customer", err)
	}
	ev := a.event(actor, custos.ActCustomerReveal, id, custos.OutcomeOK, d.Reason)
	ev.Detail = detail(map[string]any{"fields": fields})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	return c.Masked(fields, ref.sensitiveCustom(c.Category)), nil
}

// Change is the outcome of a change to an archive: applied at once (a
// draft), or waiting for a second person's approval (an effective archive,
// R-B1), in which case Request is set and Customer is still the old state.
type Change struct {
	Customer *custos.Customer
	Request  *custos.Request
}

// UpdateCustomer edits a draft archive directly; an effective archive needs
// ChangeCustomer with a reason.
func (a *App) UpdateCustomer(ctx context.Context, actor custos.Actor, id string, expectVersion int64, patch func(*custos.CustomerInput) error) (*custos.Customer, error) {
	ch, err := a.ChangeCustomer(ctx, actor, id, expectVersion, "", patch)
	if err != nil {
		return nil, err
	}
	return ch.Customer, nil
}

// ChangeCustomer changes a customer's archive: patch edits the input form of
// the current state, which is then validated like a new customer.
// expectVersion (if not 0) guards against lost updates. A draft changes at
// once; an effective archive gets a change request with the field-by-field
// diff and the mandatory reason, applied only when another, authorised
// person approves it (maker-checker, R-B1).
func (a *App) ChangeCustomer(ctx context.Context, actor custos.Actor, id string, expectVersion int64, reason string, patch func(*custos.CustomerInput) error) (*Change, error) {
	rec, _, err := a.loadVisible(ctx, actor, custos.ActCustomerUpdate, id)
	if err != nil {
		return nil, err
	}
	if expectVersion != 0 && expectVersion != rec.Version {
		return nil, sqlstore.ErrStale
	}
	if rec.Status == custos.StatusClosed {
		return nil, custos.Errorf(custos.EConflict, "档案已关闭，不能修改", "the archive is closed and cannot change")
	}
	old, err := a.openCustomer(rec)
	if err != nil {
		return nil, internal("open customer", err)
	}
	in := custos.InputOf(old)
	if err := patch(&in); err != nil {
		return nil, err
	}
	if in.Type != old.Type {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "type", Code: custos.CodeNotAllowed, Message: custos.Message{ZH: "客户类型不可更改", EN: "the customer type cannot change"}}}}).Err()
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	var v custos.Validation
	org, owner, err := a.resolvePlace(ctx, ref, actor, &in, &v)
	if err != nil {
		return nil, err
	}
	c, cv := validateCustomer(&in, ref, now)
	v.Merge("", cv)
	reason = strings.TrimSpace(reason)
	if old.Status == custos.StatusEffective && reason == "" {
		v.Add("reason", custos.CodeRequired, custos.Message{ZH: "修改已生效的档案须说明理由", EN: "a change to an effective archive needs a reason"})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if old.Sensitivity == custos.Protected && c.Sensitivity == custos.Normal && old.ProtectedReason != "manual" && in.Sensitivity == "" {
		c.Sensitivity, c.ProtectedReason = old.Sensitivity, old.ProtectedReason
	}
	if org.ID != old.OrgID || owner.ID != old.OwnerID {
		acl := custos.CustomerACL{OrgPath: org.Path, OwnerID: owner.ID, Sensitivity: c.Sensitivity}
		if d := custos.Decide(actor, custos.ActCustomerCreate, acl); !d.Allowed {
			return nil, a.denied(ctx, actor, custos.ActCustomerUpdate, id, d.Reason,
				custos.Errorf(custos.EForbidden, "无权将客户移交到该机构或客户经理", "not allowed to move the customer to this unit or owner"))
		}
	}
	c.ID, c.ArchiveNo, c.OrgID, c.OwnerID = old.ID, old.ArchiveNo, org.ID, owner.ID
	c.Status, c.Verification, c.CreatedBy, c.CreatedAt = old.Status, old.Verification, old.CreatedBy, old.CreatedAt
	c.UpdatedAt, c.Version = now, old.Version+1
	if c.Identity() != old.Identity() {
		// The inspector's check was of another identity (R-A5, R-A10).
		c.Verification = custos.Unverified
	}
	changed := ChangedFields(custos.InputOf(old), custos.InputOf(c))
	if len(changed) == 0 {
		return &Change{Customer: old.Masked(nil, ref.sensitiveCustom(old.Category))}, nil
	}
	if old.Status == custos.StatusEffective {
		req, err := a.proposeChange(ctx, actor, rec, old, c, changed, reason)
		if err != nil {
			return nil, err
		}
		return &Change{Customer: old.Masked(nil, ref.sensitiveCustom(old.Category)), Request: req}, nil
	}
	index, identity := a.blindIndexes(c)
	oldIndex, oldIdentity := a.blindIndexes(old)
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		r, err := a.sealCustomer(c, rec.WrappedKey)
		if err != nil {
			return err
		}
		r.KEKID = rec.KEKID
		if err := tx.UpdateCustomer(ctx, r, oldIndex, oldIdentity, index, identity); err != nil {
			return err
		}
		ev := a.event(actor, custos.ActCustomerUpdate, id, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"fields": changed, "version": c.Version, "draft": true})
		return a.appendTx(ctx, tx, ev)
	})
	if errors.Is(err, sqlstore.ErrDuplicateIdentity) {
		return nil, a.duplicateIdentity(ctx, actor, custos.ActCustomerUpdate, identity)
	}
	if err != nil {
		return nil, internal("update customer", err)
	}
	return &Change{Customer: c.Masked(nil, ref.sensitiveCustom(c.Category))}, nil
}

// ChangedFields lists the input fields (by JSON name) that differ.
func ChangedFields(old, new custos.CustomerInput) []string {
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(new)
	t := ov.Type()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "org" || name == "owner" {
			continue // resolved into org_id and owner_id
		}
		if !reflect.DeepEqual(normalizeEmpty(ov.Field(i)), normalizeEmpty(nv.Field(i))) {
			out = append(out, name)
		}
	}
	return out
}

func normalizeEmpty(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return nil
		}
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
	}
	return v.Interface()
}

// SearchCustomers lists the customers in the actor's scope that match the
// filter, masked, and audits the search (R-C1, R-C5, R-C6). Customers out of
// scope are never returned. Identifiers are matched through blind indexes.
func (a *App) SearchCustomers(ctx context.Context, actor custos.Actor, f custos.CustomerFilter) (*custos.CustomerPage, error) {
	if err := a.requirePurpose(ctx, actor, custos.ActCustomerSearch, ""); err != nil {
		return nil, err
	}
	scope := custos.SearchScope(actor, custos.ActCustomerSearch)
	if scope.None() {
		return nil, a.denied(ctx, actor, custos.ActCustomerSearch, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无权查询客户", "not allowed to search customers"))
	}
	if err := a.validCustomerFilter(ctx, f); err != nil {
		return nil, err
	}
	f.Normalize()
	q := sqlstore.CustomerQuery{Filter: f}
	var used []string
	ix := a.keys.Indexer
	if f.IDNumber != "" {
		q.Index = append(q.Index, sqlstore.IndexEntry{Kind: idxIDNumber, Hash: ix.Index(idxIDNumber, idcard.Normalize(f.IDNumber))})
		used = append(used, "id_number")
	}
	if f.Phone != "" {
		q.Index = append(q.Index, sqlstore.IndexEntry{Kind: idxPhone, Hash: ix.Index(idxPhone, NormalizePhone(f.Phone))})
		used = append(used, "phone")
	}
	if f.USCC != "" {
		q.Index = append(q.Index, sqlstore.IndexEntry{Kind: idxUSCC, Hash: ix.Index(idxUSCC, idcard.Normalize(f.USCC))})
		used = append(used, "uscc")
	}
	if name := strings.TrimSpace(f.Name); name != "" {
		if f.Type != custos.TypePerson {
			q.NameLike = name
		}
		if f.Type != custos.TypeInstitution {
			q.NameHash = ix.Index(idxName, NormalizeName(name))
		}
		used = append(used, "name")
	}
	for _, k := range []struct {
		set  bool
		name string
	}{{f.Type != "", "type"}, {f.OrgID != 0, "org"}, {f.OwnerID != 0, "owner"}, {f.Category != "", "category"}, {f.Status != "", "status"},
		{f.Sensitivity != "", "sensitivity"}, {f.Verification != "", "verification"}, {len(f.Classes) > 0, "classifications"}, {f.Estate != "", "estate"}} {
		if k.set {
			used = append(used, k.name)
		}
	}
	now := a.now()
	rd := a.db.Reader()
	recs, total, err := rd.FindCustomers(ctx, q, scope, now)
	if err != nil {
		return nil, internal("find customers", err)
	}
	if err := a.placeRecords(ctx, recs...); err != nil {
		return nil, err
	}
	keys := make([]sqlstore.RelationKey, len(recs))
	for i, r := range recs {
		keys[i] = sqlstore.RelationKey{CustomerID: r.ID, Building: r.Building}
	}
	rels, err := rd.Relations(ctx, actor.UserID, keys, now)
	if err != nil {
		return nil, internal("load relations", err)
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	page := &custos.CustomerPage{Total: total, Page: f.Page, PageSize: f.PageSize}
	refs := make([]string, 0, len(recs))
	for _, r := range recs {
		// Defence in depth: the query's scope and Decide must agree.
		if d := custos.Decide(actor, custos.ActCustomerSearch, sqlstore.ACLOf(r, rels[r.ID])); !d.Allowed {
			a.log.Error("search scope and permission decision disagree; row withheld", "customer", a.customerRef(r.ID), "reason", d.Reason)
			page.Total--
			continue
		}
		if len(r.WrappedKey) == 0 {
			page.Total--
			continue
		}
		c, err := a.openCustomer(r)
		if err != nil {
			return nil, internal("open customer", err)
		}
		page.Items = append(page.Items, c.Masked(nil, ref.sensitiveCustom(c.Category)))
		refs = append(refs, a.customerRef(r.ID)[:16])
	}
	ev := a.event(actor, custos.ActCustomerSearch, "", custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"filters": used, "total": page.Total, "returned": len(page.Items), "refs": refs})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return page, nil
}

// Catalogue counts the customers in the actor's scope by unit, category and tier (R-A1).
func (a *App) Catalogue(ctx context.Context, actor custos.Actor) ([]custos.CatalogueEntry, error) {
	if err := a.requirePurpose(ctx, actor, custos.ActCustomerSearch, ""); err != nil {
		return nil, err
	}
	scope := custos.SearchScope(actor, custos.ActCustomerSearch)
	if scope.None() {
		return nil, a.denied(ctx, actor, custos.ActCustomerSearch, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无权查询客户", "not allowed to search customers"))
	}
	out, err := a.db.Reader().Catalogue(ctx, scope, a.now())
	if err != nil {
		return nil, internal("catalogue", err)
	}
	ev := a.event(actor, custos.ActCustomerSearch, "", custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"catalogue": true, "groups": len(out)})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// detail renders an audit detail; callers put no personal data in it.
func detail(m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}
