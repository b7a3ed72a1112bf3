package app

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"io"
	"strconv"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/csvx"
)

// AuditQuery is an auditor's search: by user, customer, action and time.
type AuditQuery struct {
	custos.AuditFilter
	CustomerID string // turned into its HMAC reference
}

// SearchAudit lets auditors search the trail (R-C5). The search itself is audited.
func (a *App) SearchAudit(ctx context.Context, actor custos.Actor, q AuditQuery) ([]custos.AuditEvent, error) {
	if err := a.requireSystem(ctx, actor, custos.ActAuditRead); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	f := q.AuditFilter
	if q.CustomerID != "" {
		f.TargetRef = a.customerRef(q.CustomerID)
	}
	out, err := a.db.SearchAudit(ctx, f)
	if err != nil {
		return nil, internal("search audit", err)
	}
	ev := custos.NewEvent(actor, string(custos.ActAuditRead), custos.OutcomeOK)
	ev.Detail = detail(map[string]any{"returned": len(out), "by_customer": q.CustomerID != "", "action": f.Action})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// ExportAudit writes matching events as CSV (R-C5); the export is audited.
func (a *App) ExportAudit(ctx context.Context, actor custos.Actor, q AuditQuery, w io.Writer) (int, error) {
	if err := a.requireSystem(ctx, actor, custos.ActAuditExport); err != nil {
		return 0, err
	}
	if err := q.Validate(); err != nil {
		return 0, err
	}
	f := q.AuditFilter
	if q.CustomerID != "" {
		f.TargetRef = a.customerRef(q.CustomerID)
	}
	if f.Limit <= 0 {
		f.Limit = 10000
	}
	out, err := a.db.SearchAudit(ctx, f)
	if err != nil {
		return 0, internal("search audit", err)
	}
	ev := custos.NewEvent(actor, string(custos.ActAuditExport), custos.OutcomeOK)
	ev.Detail = detail(map[string]any{"rows": len(out)})
	if err := a.record(ctx, ev); err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "at", "actor_id", "actor", "role", "org_id", "action", "target_type", "target_ref", "purpose", "outcome", "reason", "client_addr", "request_id", "via", "detail", "hash"})
	for _, e := range out {
		cw.Write(csvx.Row(strconv.FormatInt(e.Seq, 10), e.At.Format(time.RFC3339Nano), strconv.FormatInt(e.ActorID, 10), e.Actor, e.Role,
			strconv.FormatInt(e.OrgID, 10), e.Action, e.TargetType, e.TargetRef, e.Purpose, string(e.Outcome), e.Reason, e.ClientAddr,
			e.RequestID, e.Via, e.Detail, hex.EncodeToString(e.Hash)))
	}
	cw.Flush()
	return len(out), cw.Error()
}

// AuditCheckpoints returns the signed checkpoints and the public key that
// verifies them, for an outside witness (R-D3).
func (a *App) AuditCheckpoints(ctx context.Context, actor custos.Actor) ([]custos.AuditCheckpoint, string, []byte, error) {
	if err := a.requireSystem(ctx, actor, custos.ActAuditRead); err != nil {
		return nil, "", nil, err
	}
	cps, err := a.db.Checkpoints(ctx)
	if err != nil {
		return nil, "", nil, internal("checkpoints", err)
	}
	return cps, a.keys.Signer.KeyID(), a.keys.Signer.PublicKey(), nil
}
