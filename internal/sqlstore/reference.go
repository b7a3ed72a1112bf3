package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/custos-cim/custos"
)

// Setting reads one setting; ok is false when unset.
func (tx *Tx) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = tx.row(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&value)
	if err = notFound(err); err == custos.ErrNotFound {
		return "", false, nil
	}
	return value, err == nil, err
}

// SetSetting writes one setting.
func (tx *Tx) SetSetting(ctx context.Context, key, value string) error {
	_, err := tx.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Purposes lists the purposes of use.
func (tx *Tx) Purposes(ctx context.Context) ([]custos.Purpose, error) {
	rows, err := tx.query(ctx, `SELECT code, name_zh, name_en, active FROM purposes ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.Purpose
	for rows.Next() {
		var p custos.Purpose
		if err := rows.Scan(&p.Code, &p.NameZH, &p.NameEN, &p.Active); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PutPurpose creates or updates a purpose.
func (tx *Tx) PutPurpose(ctx context.Context, p custos.Purpose) error {
	_, err := tx.exec(ctx, `INSERT INTO purposes (code, name_zh, name_en, active) VALUES (?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, active = excluded.active`,
		p.Code, p.NameZH, p.NameEN, p.Active)
	return err
}

// Categories lists customer categories.
func (tx *Tx) Categories(ctx context.Context) ([]custos.Category, error) {
	rows, err := tx.query(ctx, `SELECT code, name_zh, name_en, applies_to FROM categories ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.Category
	for rows.Next() {
		var c custos.Category
		var applies string
		if err := rows.Scan(&c.Code, &c.NameZH, &c.NameEN, &applies); err != nil {
			return nil, err
		}
		c.AppliesTo = custos.CustomerType(applies)
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutCategory creates or updates a category.
func (tx *Tx) PutCategory(ctx context.Context, c custos.Category) error {
	_, err := tx.exec(ctx, `INSERT INTO categories (code, name_zh, name_en, applies_to) VALUES (?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, applies_to = excluded.applies_to`,
		c.Code, c.NameZH, c.NameEN, string(c.AppliesTo))
	return err
}

// Taxonomies lists every taxonomy with its terms.
func (tx *Tx) Taxonomies(ctx context.Context) ([]custos.Taxonomy, error) {
	rows, err := tx.query(ctx, `SELECT t.code, t.name_zh, t.name_en, COALESCE(x.code, ''), COALESCE(x.name_zh, ''), COALESCE(x.name_en, ''), COALESCE(x.sort, 0)
		FROM taxonomies t LEFT JOIN taxonomy_terms x ON x.taxonomy = t.code ORDER BY t.sort, t.code, x.sort, x.code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.Taxonomy
	for rows.Next() {
		var t custos.Taxonomy
		var term custos.Term
		if err := rows.Scan(&t.Code, &t.NameZH, &t.NameEN, &term.Code, &term.NameZH, &term.NameEN, &term.Sort); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Code != t.Code {
			out = append(out, t)
		}
		if term.Code != "" {
			last := &out[len(out)-1]
			last.Terms = append(last.Terms, term)
		}
	}
	return out, rows.Err()
}

// PutTaxonomy creates or replaces a taxonomy and adds or renames its terms.
// Terms in use are never deleted here, so existing classifications stay valid.
func (tx *Tx) PutTaxonomy(ctx context.Context, t custos.Taxonomy) error {
	if _, err := tx.exec(ctx, `INSERT INTO taxonomies (code, name_zh, name_en, sort) VALUES (?, ?, ?, COALESCE((SELECT MAX(sort) FROM taxonomies), 0) + 1)
		ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en`, t.Code, t.NameZH, t.NameEN); err != nil {
		return err
	}
	for _, x := range t.Terms {
		if _, err := tx.exec(ctx, `INSERT INTO taxonomy_terms (taxonomy, code, name_zh, name_en, sort) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (taxonomy, code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, sort = excluded.sort`,
			t.Code, x.Code, x.NameZH, x.NameEN, x.Sort); err != nil {
			return err
		}
	}
	return nil
}

// CustomFieldDefs lists the custom field definitions of a category ("" for all).
func (tx *Tx) CustomFieldDefs(ctx context.Context, category string) ([]custos.CustomFieldDef, error) {
	q := `SELECT id, category, key, label_zh, label_en, type, required, choices, sensitive, sort FROM custom_field_defs`
	var args []any
	if category != "" {
		q += ` WHERE category = ?`
		args = append(args, category)
	}
	rows, err := tx.query(ctx, q+` ORDER BY category, sort, key`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.CustomFieldDef
	for rows.Next() {
		var d custos.CustomFieldDef
		var typ, choices string
		if err := rows.Scan(&d.ID, &d.Category, &d.Key, &d.LabelZH, &d.LabelEN, &typ, &d.Required, &choices, &d.Sensitive, &d.Sort); err != nil {
			return nil, err
		}
		d.Type = custos.FieldType(typ)
		if err := json.Unmarshal([]byte(choices), &d.Choices); err != nil {
			return nil, fmt.Errorf("custom field %d choices: %w", d.ID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PutCustomFieldDef creates or updates a definition, keyed by category and key.
func (tx *Tx) PutCustomFieldDef(ctx context.Context, d *custos.CustomFieldDef) error {
	choices, _ := json.Marshal(d.Choices)
	if d.Choices == nil {
		choices = []byte("[]")
	}
	err := tx.row(ctx, `INSERT INTO custom_field_defs (category, key, label_zh, label_en, type, required, choices, sensitive, sort)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (category, key) DO UPDATE SET label_zh = excluded.label_zh, label_en = excluded.label_en, type = excluded.type,
			required = excluded.required, choices = excluded.choices, sensitive = excluded.sensitive, sort = excluded.sort
		RETURNING id`, d.Category, d.Key, d.LabelZH, d.LabelEN, string(d.Type), d.Required, string(choices), d.Sensitive, d.Sort).Scan(&d.ID)
	if isForeignKey(err) {
		return &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "客户类别不存在", EN: "unknown customer category"},
			Fields: []custos.FieldError{{Field: "category", Code: custos.CodeUnknown, Message: custos.StandardMessage(custos.CodeUnknown)}}}
	}
	return err
}

// DeleteCustomFieldDef removes a definition; stored values stay in the archives.
func (tx *Tx) DeleteCustomFieldDef(ctx context.Context, id int64) error {
	res, err := tx.exec(ctx, `DELETE FROM custom_field_defs WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.ErrNotFound
	}
	return nil
}

// Checklist lists a category's document checklist.
func (tx *Tx) Checklist(ctx context.Context, category string) ([]custos.ChecklistItem, error) {
	rows, err := tx.query(ctx, `SELECT category, code, name_zh, name_en, required, sort FROM checklist_items WHERE category = ? ORDER BY sort, code`, category)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.ChecklistItem
	for rows.Next() {
		var c custos.ChecklistItem
		if err := rows.Scan(&c.Category, &c.Code, &c.NameZH, &c.NameEN, &c.Required, &c.Sort); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutChecklistItem creates or updates a checklist item.
func (tx *Tx) PutChecklistItem(ctx context.Context, c custos.ChecklistItem) error {
	_, err := tx.exec(ctx, `INSERT INTO checklist_items (category, code, name_zh, name_en, required, sort) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (category, code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, required = excluded.required, sort = excluded.sort`,
		c.Category, c.Code, c.NameZH, c.NameEN, c.Required, c.Sort)
	return err
}
