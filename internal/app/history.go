package app

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/csvx"
)

// Versions lists the approved versions of an archive: who asked, who
// approved, when, why, which fields (R-B1). Audited as a read.
func (a *App) Versions(ctx context.Context, actor custos.Actor, customerID string) ([]custos.ArchiveVersion, error) {
	_, d, err := a.loadVisible(ctx, actor, custos.ActCustomerRead, customerID)
	if err != nil {
		return nil, err
	}
	rows, err := a.db.Reader().Versions(ctx, customerID, false)
	if err != nil {
		return nil, internal("versions", err)
	}
	out := make([]custos.ArchiveVersion, len(rows))
	for i, r := range rows {
		out[i] = r.ArchiveVersion
	}
	if err := a.record(ctx, a.event(actor, "history.read", customerID, custos.OutcomeOK, d.Reason)); err != nil {
		return nil, err
	}
	return out, nil
}

// DiffVersions compares two versions of an archive field by field, with
// sensitive values masked (R-B1, R-C10).
func (a *App) DiffVersions(ctx context.Context, actor custos.Actor, customerID string, from, to int64) ([]custos.FieldChange, error) {
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerRead, customerID)
	if err != nil {
		return nil, err
	}
	rows, err := a.db.Reader().Versions(ctx, customerID, true)
	if err != nil {
		return nil, internal("versions", err)
	}
	snap := map[int64]*custos.Customer{}
	for _, r := range rows {
		if r.Version != from && r.Version != to {
			continue
		}
		var m versionMeta
		if err := json.Unmarshal([]byte(r.Meta), &m); err != nil {
			return nil, internal("version meta", err)
		}
		c := &custos.Customer{ID: customerID, Type: m.Type, OrgID: m.OrgID, OwnerID: m.OwnerID, Category: m.Category, Status: m.Status,
			Sensitivity: m.Sensitivity, Verification: m.Verification, Classes: m.Classes, Version: r.Version}
		vf := fmt.Sprintf("version:%d", r.Version)
		pt, err := a.keys.Sealer.Decrypt(customerID, rec.WrappedKey, vf+":profile", r.ProfileCT)
		if err != nil {
			return nil, internal("decrypt version", err)
		}
		var doc profileDoc
		if err := json.Unmarshal(pt, &doc); err != nil {
			return nil, internal("decode version", err)
		}
		c.Person, c.Institution, c.Household, c.RiskReason = doc.Person, doc.Institution, doc.Household, doc.RiskReason
		if len(r.CustomCT) > 0 {
			cj, err := a.keys.Sealer.Decrypt(customerID, rec.WrappedKey, vf+":custom", r.CustomCT)
			if err != nil {
				return nil, internal("decrypt version", err)
			}
			if err := json.Unmarshal(cj, &c.Custom); err != nil {
				return nil, internal("decode version", err)
			}
		}
		snap[r.Version] = c
	}
	if snap[from] == nil || snap[to] == nil {
		return nil, custos.Errorf(custos.ENotFound, "版本不存在", "no such version")
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	mask := ref.sensitiveCustom(snap[to].Category)
	out := custos.DiffInputs(custos.InputOf(snap[from].Masked(nil, mask)), custos.InputOf(snap[to].Masked(nil, mask)))
	ev := a.event(actor, "history.diff", customerID, custos.OutcomeOK, d.Reason)
	ev.Detail = detail(map[string]any{"from": from, "to": to})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// RegisterEntry is one line of an archive's borrowing register (借阅登记簿,
// R-C3): an access by someone other than its custodian.
type RegisterEntry struct {
	Kind       string     `json:"kind"` // "grant": access lent by approval; "access": a recorded read by someone else
	UserID     int64      `json:"user_id"`
	Username   string     `json:"username"`
	Action     string     `json:"action,omitempty"`
	Purpose    string     `json:"purpose"`
	Reason     string     `json:"reason,omitempty"`
	At         time.Time  `json:"at"`
	ApprovedBy int64      `json:"approved_by,omitempty"`
	Until      *time.Time `json:"until,omitempty"`
	ReturnedAt *time.Time `json:"returned_at,omitempty"` // revoked, or expired
	Via        string     `json:"via,omitempty"`
}

// BorrowingRegister lists, for one archive, every access by someone other
// than its custodian (the owner): the grants that lent it, with who
// approved and when they ended, and each recorded access (R-C3). It is open
// to those who may read the archive and to auditors and compliance.
func (a *App) BorrowingRegister(ctx context.Context, actor custos.Actor, customerID string) ([]RegisterEntry, error) {
	var owner int64
	if actor.Role == custos.RoleAuditor || actor.Role == custos.RoleCompliance {
		if err := a.requireSystem(ctx, actor, custos.ActAuditRead); err != nil {
			return nil, err
		}
		rec, err := a.db.Reader().Customer(ctx, customerID)
		if err != nil {
			return nil, err
		}
		owner = rec.OwnerID
	} else {
		rec, _, err := a.loadVisible(ctx, actor, custos.ActCustomerRead, customerID)
		if err != nil {
			return nil, err
		}
		owner = rec.OwnerID
	}
	rd := a.db.Reader()
	grants, err := rd.Grants(ctx, 0, customerID)
	if err != nil {
		return nil, internal("grants", err)
	}
	now := a.now()
	names := map[int64]string{}
	name := func(id int64) string {
		if n, ok := names[id]; ok {
			return n
		}
		n := ""
		if u, err := rd.User(ctx, id); err == nil {
			n = u.Username
		}
		names[id] = n
		return n
	}
	var out []RegisterEntry
	for _, g := range grants {
		e := RegisterEntry{Kind: "grant", UserID: g.UserID, Username: name(g.UserID), Purpose: g.Purpose, Reason: g.Reason, At: g.StartsAt,
			ApprovedBy: g.GrantedBy}
		until := g.ExpiresAt
		e.Until = &until
		switch {
		case g.RevokedAt != nil:
			e.ReturnedAt = g.RevokedAt
		case !now.Before(g.ExpiresAt):
			e.ReturnedAt = &until
		}
		out = append(out, e)
	}
	evs, err := a.db.SearchAudit(ctx, custos.AuditFilter{TargetRef: a.customerRef(customerID), Limit: 2000})
	if err != nil {
		return nil, internal("audit", err)
	}
	for _, e := range evs {
		if e.ActorID == 0 || e.ActorID == owner || e.Outcome != custos.OutcomeOK {
			continue
		}
		switch e.Action {
		case string(custos.ActCustomerRead), string(custos.ActCustomerReveal), string(custos.ActCustomerPrint), string(custos.ActCustomerExport),
			"attachment.download", "timeline.read", "history.read", "history.diff":
		default:
			continue
		}
		out = append(out, RegisterEntry{Kind: "access", UserID: e.ActorID, Username: e.Actor, Action: e.Action, Purpose: e.Purpose, At: e.At, Via: e.Reason})
	}
	ev := a.event(actor, "register.read", customerID, custos.OutcomeOK, "")
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteRegisterCSV writes a borrowing register as CSV (R-C3), safe to open
// in a spreadsheet.
func WriteRegisterCSV(w io.Writer, es []RegisterEntry) error {
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	id := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"kind", "user_id", "username", "action", "purpose", "reason", "at", "approved_by", "until", "returned_at", "via"})
	for _, e := range es {
		at := e.At
		cw.Write(csvx.Row(e.Kind, id(e.UserID), e.Username, e.Action, e.Purpose, e.Reason, ts(&at), id(e.ApprovedBy), ts(e.Until), ts(e.ReturnedAt), e.Via))
	}
	cw.Flush()
	return cw.Error()
}
