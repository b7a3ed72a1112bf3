package app

import (
	"context"
	"slices"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Setting keys.
const settingArchivePattern = "archive_pattern"

// refData returns the cached reference data, reloading it when older than
// the configured TTL. Several servers on one database see an administrator's
// change within that TTL; this server sees it at once (invalidateRef).
func (a *App) refData(ctx context.Context) (*refData, error) {
	a.mu.Lock()
	r := a.ref
	a.mu.Unlock()
	if r != nil && a.clock.Now().Sub(r.at) < a.cfg.RefCacheTTL {
		return r, nil
	}
	r, err := loadRef(ctx, a.db.Reader())
	if err != nil {
		return nil, internal("load reference data", err)
	}
	r.at = a.clock.Now()
	a.mu.Lock()
	a.ref = r
	a.mu.Unlock()
	return r, nil
}

func (a *App) invalidateRef() {
	a.mu.Lock()
	a.ref = nil
	a.mu.Unlock()
}

func loadRef(ctx context.Context, tx *sqlstore.Tx) (*refData, error) {
	r := &refData{
		categories: map[string]custos.Category{},
		taxonomies: map[string]custos.Taxonomy{},
		fields:     map[string][]custos.CustomFieldDef{},
		purposes:   map[string]custos.Purpose{},
		orgs:       map[int64]*custos.Org{},
		orgCodes:   map[string]*custos.Org{},
	}
	cats, err := tx.Categories(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cats {
		r.categories[c.Code] = c
	}
	taxes, err := tx.Taxonomies(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range taxes {
		r.taxonomies[t.Code] = t
	}
	defs, err := tx.CustomFieldDefs(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		r.fields[d.Category] = append(r.fields[d.Category], d)
	}
	ps, err := tx.Purposes(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		r.purposes[p.Code] = p
	}
	orgs, err := tx.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		r.orgs[o.ID] = o
		r.orgCodes[o.Code] = o
	}
	pat, ok, err := tx.Setting(ctx, settingArchivePattern)
	if err != nil {
		return nil, err
	}
	if !ok {
		pat = custos.DefaultArchivePattern
	}
	if r.pattern, err = custos.ParseArchivePattern(pat); err != nil {
		return nil, err
	}
	if r.rules, err = tx.ApprovalRules(ctx); err != nil {
		return nil, err
	}
	for _, d := range custos.DefaultApprovalRules {
		if _, ok := r.rules[d.Kind]; !ok {
			r.rules[d.Kind] = d
		}
	}
	return r, nil
}

// sensitiveCustom reports which custom fields of a category are masked.
func (r *refData) sensitiveCustom(category string) func(string) bool {
	defs := r.fields[category]
	return func(key string) bool {
		return slices.ContainsFunc(defs, func(d custos.CustomFieldDef) bool { return d.Key == key && d.Sensitive })
	}
}

// Purposes lists the purposes of use.
func (a *App) Purposes(ctx context.Context) ([]custos.Purpose, error) {
	r, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]custos.Purpose, 0, len(r.purposes))
	for _, p := range r.purposes {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y custos.Purpose) int {
		if x.Code < y.Code {
			return -1
		}
		return 1
	})
	return out, nil
}
