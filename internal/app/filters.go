package app

import (
	"context"

	"github.com/custos-cim/custos"
)

// validCustomerFilter checks a customer search: its codes and paging
// (custos.CustomerFilter.Validate), and its category and classification
// terms against the reference data. Codes: EInvalid.
func (a *App) validCustomerFilter(ctx context.Context, f custos.CustomerFilter) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if f.Category == "" && len(f.Classes) == 0 {
		return nil
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return err
	}
	var v custos.Validation
	if _, ok := ref.categories[f.Category]; f.Category != "" && !ok {
		v.Addf("category", custos.CodeUnknown)
	}
	for tax, term := range f.Classes {
		t, ok := ref.taxonomies[tax]
		known := false
		for _, x := range t.Terms {
			known = known || x.Code == term
		}
		if !ok || !known {
			v.Addf("class."+tax, custos.CodeUnknown)
		}
	}
	return v.Err()
}
