package app

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// AddTimeline records a major change, contact, result or report in a
// customer's archive (R-A11). Title and body are encrypted.
func (a *App) AddTimeline(ctx context.Context, actor custos.Actor, customerID string, e custos.TimelineEntry) (*custos.TimelineEntry, error) {
	var v custos.Validation
	if !custos.ValidTimelineKind(e.Kind) {
		v.Addf("kind", custos.CodeNotAllowed)
	}
	if !custos.ValidDate(e.OccurredOn) {
		v.Addf("occurred_on", custos.CodeInvalidDate)
	}
	c := &checker{now: a.now()}
	e.Title = c.text("title", e.Title, 200, true)
	e.Body = c.text("body", e.Body, 10000, false)
	e.Period = c.text("period", e.Period, 10, false)
	v.Merge("", c.v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, _, err := a.loadVisible(ctx, actor, custos.ActCustomerUpdate, customerID)
	if err != nil {
		return nil, err
	}
	atts, err := a.db.Reader().Attachments(ctx, customerID)
	if err != nil {
		return nil, internal("attachments", err)
	}
	for i, id := range e.AttachmentIDs {
		found := false
		for _, at := range atts {
			found = found || at.ID == id
		}
		if !found {
			v.Addf("attachment_ids["+itoa(int64(i))+"]", custos.CodeUnknown)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	id, _ := uuid.NewV7()
	e.ID, e.CustomerID, e.CreatedBy, e.CreatedAt = id.String(), customerID, actor.UserID, a.now()
	s := a.keys.Sealer
	r := &sqlstore.TimelineRecord{ID: e.ID, CustomerID: customerID, Kind: e.Kind, OccurredOn: e.OccurredOn, Period: e.Period,
		AttachmentIDs: e.AttachmentIDs, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt}
	if r.TitleCT, err = s.Encrypt(customerID, rec.WrappedKey, "timeline:"+e.ID+":title", []byte(e.Title)); err != nil {
		return nil, internal("encrypt", err)
	}
	if e.Body != "" {
		if r.BodyCT, err = s.Encrypt(customerID, rec.WrappedKey, "timeline:"+e.ID+":body", []byte(e.Body)); err != nil {
			return nil, internal("encrypt", err)
		}
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.InsertTimeline(ctx, r); err != nil {
			return err
		}
		ev := a.event(actor, "timeline.add", customerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"kind": e.Kind, "entry": e.ID})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("add timeline", err)
	}
	return &e, nil
}

// Timeline returns a customer's archive timeline (R-A11), audited as a read.
func (a *App) Timeline(ctx context.Context, actor custos.Actor, customerID string) ([]*custos.TimelineEntry, error) {
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerRead, customerID)
	if err != nil {
		return nil, err
	}
	rows, err := a.db.Reader().Timeline(ctx, customerID)
	if err != nil {
		return nil, internal("timeline", err)
	}
	out := make([]*custos.TimelineEntry, 0, len(rows))
	s := a.keys.Sealer
	for _, r := range rows {
		e := &custos.TimelineEntry{ID: r.ID, CustomerID: r.CustomerID, Kind: r.Kind, OccurredOn: r.OccurredOn, Period: r.Period,
			AttachmentIDs: r.AttachmentIDs, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
		if e.Title, err = s.DecryptString(customerID, rec.WrappedKey, "timeline:"+r.ID+":title", r.TitleCT); err != nil {
			return nil, internal("decrypt timeline", err)
		}
		if e.Body, err = s.DecryptString(customerID, rec.WrappedKey, "timeline:"+r.ID+":body", r.BodyCT); err != nil {
			return nil, internal("decrypt timeline", err)
		}
		out = append(out, e)
	}
	ev := a.event(actor, "timeline.read", customerID, custos.OutcomeOK, d.Reason)
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// AddAttachment stores a file with a customer's archive, encrypted under the
// customer's key (R-A6): ID scans, licences, reports.
func (a *App) AddAttachment(ctx context.Context, actor custos.Actor, customerID string, kind custos.AttachmentKind, filename, checklistItem string, content []byte) (*custos.Attachment, error) {
	var v custos.Validation
	if !custos.ValidAttachmentKind(kind) {
		v.Addf("kind", custos.CodeNotAllowed)
	}
	filename = strings.TrimSpace(filename)
	if filename == "" {
		v.Addf("filename", custos.CodeRequired)
	} else if len(filename) > 255 || strings.ContainsAny(filename, "/\\\x00") {
		v.Addf("filename", custos.CodeInvalidFormat)
	}
	if len(content) == 0 {
		v.Addf("file", custos.CodeRequired)
	} else if len(content) > custos.MaxAttachmentSize {
		v.Addf("file", custos.CodeTooLong)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, _, err := a.loadVisible(ctx, actor, custos.ActCustomerUpdate, customerID)
	if err != nil {
		return nil, err
	}
	if checklistItem != "" {
		items, err := a.db.Reader().Checklist(ctx, rec.Category)
		if err != nil {
			return nil, internal("checklist", err)
		}
		ok := false
		for _, it := range items {
			ok = ok || it.Code == checklistItem
		}
		if !ok {
			return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "checklist_item", Code: custos.CodeUnknown, Message: custos.StandardMessage(custos.CodeUnknown)}}}).Err()
		}
	}
	id, _ := uuid.NewV7()
	at := &custos.Attachment{ID: id.String(), CustomerID: customerID, Kind: kind, Filename: filename, ContentType: http.DetectContentType(content),
		Size: int64(len(content)), ChecklistItem: checklistItem, CreatedBy: actor.UserID, CreatedAt: a.now()}
	s := a.keys.Sealer
	r := &sqlstore.AttachmentRecord{ID: at.ID, CustomerID: customerID, Kind: kind, ContentType: at.ContentType, Size: at.Size,
		ChecklistItem: checklistItem, CreatedBy: at.CreatedBy, CreatedAt: at.CreatedAt}
	if r.FilenameCT, err = s.Encrypt(customerID, rec.WrappedKey, "attachment:"+at.ID+":name", []byte(filename)); err != nil {
		return nil, internal("encrypt", err)
	}
	body, err := s.Encrypt(customerID, rec.WrappedKey, "attachment:"+at.ID+":content", content)
	if err != nil {
		return nil, internal("encrypt", err)
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.InsertAttachment(ctx, r, body); err != nil {
			return err
		}
		ev := a.event(actor, "attachment.add", customerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"attachment": at.ID, "kind": kind, "size": at.Size, "checklist_item": checklistItem})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("add attachment", err)
	}
	return at, nil
}

// Attachments lists a customer's attachments (metadata only), audited as a read.
func (a *App) Attachments(ctx context.Context, actor custos.Actor, customerID string) ([]*custos.Attachment, error) {
	rec, d, err := a.loadVisibleFor(ctx, actor, customerID, custos.ActCustomerRead, custos.ActCustomerVerify)
	if err != nil {
		return nil, err
	}
	out, err := a.attachmentList(ctx, rec)
	if err != nil {
		return nil, err
	}
	if err := a.record(ctx, a.event(actor, "attachment.list", customerID, custos.OutcomeOK, d.Reason)); err != nil {
		return nil, err
	}
	return out, nil
}

func (a *App) attachmentList(ctx context.Context, rec *sqlstore.CustomerRecord) ([]*custos.Attachment, error) {
	rows, err := a.db.Reader().Attachments(ctx, rec.ID)
	if err != nil {
		return nil, internal("attachments", err)
	}
	out := make([]*custos.Attachment, 0, len(rows))
	for _, r := range rows {
		name, err := a.keys.Sealer.DecryptString(rec.ID, rec.WrappedKey, "attachment:"+r.ID+":name", r.FilenameCT)
		if err != nil {
			return nil, internal("decrypt", err)
		}
		out = append(out, &custos.Attachment{ID: r.ID, CustomerID: r.CustomerID, Kind: r.Kind, Filename: name, ContentType: r.ContentType,
			Size: r.Size, ChecklistItem: r.ChecklistItem, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt})
	}
	return out, nil
}

// Attachment returns one attachment with its decrypted content; downloading
// is audited like a print of customer data (R-C5).
func (a *App) Attachment(ctx context.Context, actor custos.Actor, customerID, attachmentID string) (*custos.Attachment, []byte, error) {
	// Inspectors see the evidence of the identities they verify (R-A6).
	rec, d, err := a.loadVisibleFor(ctx, actor, customerID, custos.ActCustomerPrint, custos.ActCustomerVerify)
	if err != nil {
		return nil, nil, err
	}
	r, err := a.db.Reader().Attachment(ctx, customerID, attachmentID)
	if err != nil {
		return nil, nil, err
	}
	s := a.keys.Sealer
	ct, err := a.db.Reader().AttachmentContent(ctx, attachmentID)
	if err != nil {
		return nil, nil, internal("attachment content", err)
	}
	content, err := s.Decrypt(customerID, rec.WrappedKey, "attachment:"+r.ID+":content", ct)
	if err != nil {
		return nil, nil, internal("decrypt attachment", err)
	}
	name, err := s.DecryptString(customerID, rec.WrappedKey, "attachment:"+r.ID+":name", r.FilenameCT)
	if err != nil {
		return nil, nil, internal("decrypt attachment", err)
	}
	ev := a.event(actor, "attachment.download", customerID, custos.OutcomeOK, d.Reason)
	ev.Detail = detail(map[string]any{"attachment": r.ID, "size": r.Size})
	if err := a.record(ctx, ev); err != nil {
		return nil, nil, err
	}
	return &custos.Attachment{ID: r.ID, CustomerID: customerID, Kind: r.Kind, Filename: name, ContentType: r.ContentType, Size: r.Size,
		ChecklistItem: r.ChecklistItem, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}, content, nil
}

// ChecklistStatus returns a customer's document checklist and its completeness (R-A9).
func (a *App) ChecklistStatus(ctx context.Context, actor custos.Actor, customerID string) ([]custos.ChecklistStatus, int, error) {
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerRead, customerID)
	if err != nil {
		return nil, 0, err
	}
	items, err := a.db.Reader().Checklist(ctx, rec.Category)
	if err != nil {
		return nil, 0, internal("checklist", err)
	}
	rows, err := a.db.Reader().Attachments(ctx, customerID)
	if err != nil {
		return nil, 0, internal("attachments", err)
	}
	out := make([]custos.ChecklistStatus, len(items))
	for i, it := range items {
		out[i].Item = it
		for _, r := range rows {
			if r.ChecklistItem == it.Code {
				out[i].Received, out[i].AttachmentID = true, r.ID
				break
			}
		}
	}
	if err := a.record(ctx, a.event(actor, "checklist.read", customerID, custos.OutcomeOK, d.Reason)); err != nil {
		return nil, 0, err
	}
	return out, custos.Completeness(out), nil
}
