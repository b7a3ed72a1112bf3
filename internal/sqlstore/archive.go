package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/custos-cim/custos"
)

// TimelineRecord is a timeline entry as stored; title and body are ciphertext.
type TimelineRecord struct {
	ID            string
	CustomerID    string
	Kind          custos.TimelineKind
	OccurredOn    string
	Period        string
	TitleCT       []byte
	BodyCT        []byte
	AttachmentIDs []string
	CreatedBy     int64
	CreatedAt     time.Time
}

// InsertTimeline stores a timeline entry.
func (tx *Tx) InsertTimeline(ctx context.Context, r *TimelineRecord) error {
	_, err := tx.exec(ctx, `INSERT INTO timeline (id, customer_id, kind, occurred_on, period, title_ct, body_ct, attachment_ids, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.CustomerID, string(r.Kind), r.OccurredOn, r.Period, r.TitleCT, r.BodyCT,
		strings.Join(r.AttachmentIDs, ","), r.CreatedBy, tx.db.ts(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert timeline: %w", err)
	}
	return nil
}

// Timeline lists a customer's timeline, newest first.
func (tx *Tx) Timeline(ctx context.Context, customerID string) ([]*TimelineRecord, error) {
	rows, err := tx.query(ctx, `SELECT id, customer_id, kind, occurred_on, period, title_ct, body_ct, attachment_ids, created_by, created_at
		FROM timeline WHERE customer_id = ? ORDER BY occurred_on DESC, created_at DESC`, customerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*TimelineRecord
	for rows.Next() {
		var r TimelineRecord
		var kind, atts string
		if err := rows.Scan(&r.ID, &r.CustomerID, &kind, &r.OccurredOn, &r.Period, &r.TitleCT, &r.BodyCT, &atts, &r.CreatedBy, scanTime{&r.CreatedAt}); err != nil {
			return nil, err
		}
		r.Kind = custos.TimelineKind(kind)
		if atts != "" {
			r.AttachmentIDs = strings.Split(atts, ",")
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}

// AttachmentRecord is an attachment as stored; the file name is ciphertext.
type AttachmentRecord struct {
	ID            string
	CustomerID    string
	Kind          custos.AttachmentKind
	FilenameCT    []byte
	ContentType   string
	Size          int64
	ChecklistItem string
	CreatedBy     int64
	CreatedAt     time.Time
}

// InsertAttachment stores an attachment's metadata and encrypted content.
func (tx *Tx) InsertAttachment(ctx context.Context, r *AttachmentRecord, contentCT []byte) error {
	if _, err := tx.exec(ctx, `INSERT INTO attachments (id, customer_id, kind, filename_ct, content_type, size, checklist_item, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.CustomerID, string(r.Kind), r.FilenameCT, r.ContentType, r.Size, r.ChecklistItem,
		r.CreatedBy, tx.db.ts(r.CreatedAt)); err != nil {
		return fmt.Errorf("insert attachment: %w", err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO attachment_blobs (attachment_id, content_ct) VALUES (?, ?)`, r.ID, contentCT); err != nil {
		return fmt.Errorf("insert attachment content: %w", err)
	}
	return nil
}

const attachmentColumns = `id, customer_id, kind, filename_ct, content_type, size, checklist_item, created_by, created_at`

func scanAttachment(s scanner) (*AttachmentRecord, error) {
	var r AttachmentRecord
	var kind string
	if err := s.Scan(&r.ID, &r.CustomerID, &kind, &r.FilenameCT, &r.ContentType, &r.Size, &r.ChecklistItem, &r.CreatedBy, scanTime{&r.CreatedAt}); err != nil {
		return nil, notFound(err)
	}
	r.Kind = custos.AttachmentKind(kind)
	return &r, nil
}

// Attachments lists a customer's attachments, newest first.
func (tx *Tx) Attachments(ctx context.Context, customerID string) ([]*AttachmentRecord, error) {
	rows, err := tx.query(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE customer_id = ? ORDER BY created_at DESC, id`, customerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AttachmentRecord
	for rows.Next() {
		r, err := scanAttachment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Attachment loads one attachment of a customer.
func (tx *Tx) Attachment(ctx context.Context, customerID, id string) (*AttachmentRecord, error) {
	return scanAttachment(tx.row(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = ? AND customer_id = ?`, id, customerID))
}

// AttachmentContent loads an attachment's encrypted content.
func (tx *Tx) AttachmentContent(ctx context.Context, id string) ([]byte, error) {
	var ct []byte
	err := tx.row(ctx, `SELECT content_ct FROM attachment_blobs WHERE attachment_id = ?`, id).Scan(&ct)
	return ct, notFound(err)
}
