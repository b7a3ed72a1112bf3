package importer

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"slices"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/csvx"
)

// exportPageSize is the page Export asks SearchCustomers for (its maximum).
const exportPageSize = 200

// Export writes the customers matching filter that the actor may see, in
// CSV or JSON Lines (format CSV or JSONL), and returns how many it wrote.
// Values are masked as on screen (R-C10): the export is for reading. The
// CSV layout is the one Import reads, with archive_no first and a custom.<key>
// column for every defined custom field, but masked identity numbers, phones
// and addresses do not pass validation, so an export is no way to copy
// customers between installations.
//
// CSV cells that begin with = + - @ get a leading ' so that a spreadsheet
// shows them instead of evaluating them; Import strips it again.
//
// Only actors whose role may export (custos.ActCustomerExport) may call it;
// an export right held through a grant on single customers does not count.
// It pages through SearchCustomers, so each page is checked and audited as a
// search with the actor's stated purpose (R-C5, R-C6). The pages are not one
// snapshot: customers created meanwhile may or may not appear.
func Export(ctx context.Context, a *app.App, actor custos.Actor, w io.Writer, format string, filter custos.CustomerFilter) (int, error) {
	if format != CSV && format != JSONL {
		return 0, custos.Errorf(custos.EInvalid, "不支持的导出格式 %q（应为 csv 或 jsonl）", "unsupported export format %q (want csv or jsonl)", format)
	}
	// A customer of the actor's own in the actor's own unit is the most any
	// role can export; a role that may not export even that may not export.
	if !custos.Decide(actor, custos.ActCustomerExport, custos.CustomerACL{OrgPath: actor.OrgPath, OwnerID: actor.UserID}).Allowed {
		return 0, custos.Errorf(custos.EForbidden, "无权导出客户数据", "not allowed to export customer data")
	}
	orgs, err := a.Orgs(ctx)
	if err != nil {
		return 0, err
	}
	orgCode := map[int64]string{}
	for _, o := range orgs {
		orgCode[o.ID] = o.Code
	}
	owners := map[int64]string{}
	ownerName := func(id int64) (string, error) {
		if n, ok := owners[id]; ok {
			return n, nil
		}
		// No service resolves a user id for actors who may not administer
		// users; usernames are staff data, not customer data.
		u, err := a.DB().Reader().User(ctx, id)
		if errors.Is(err, custos.ErrNotFound) {
			owners[id] = ""
			return "", nil
		}
		if err != nil {
			return "", err
		}
		owners[id] = u.Username
		return u.Username, nil
	}

	var write func(c *custos.Customer, in *custos.CustomerInput) error
	var flush func() error
	switch format {
	case CSV:
		cols, err := exportColumns(ctx, a)
		if err != nil {
			return 0, err
		}
		cw := csv.NewWriter(w)
		rec := make([]string, len(cols)+1)
		rec[0] = archiveNo.name
		for i, c := range cols {
			rec[i+1] = c.name
		}
		if err := cw.Write(rec); err != nil {
			return 0, err
		}
		write = func(c *custos.Customer, in *custos.CustomerInput) error {
			rec[0] = c.ArchiveNo
			for i, col := range cols {
				rec[i+1] = csvx.Cell(col.get(in))
			}
			return cw.Write(rec)
		}
		flush = func() error { cw.Flush(); return cw.Error() }
	case JSONL:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		write = func(c *custos.Customer, in *custos.CustomerInput) error {
			return enc.Encode(jsonRecord{ArchiveNo: c.ArchiveNo, CustomerInput: *in})
		}
		flush = func() error { return nil }
	}

	f := filter
	f.PageSize = exportPageSize
	if f.Sort == "" {
		f.Sort = "archive_no"
	}
	n := 0
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			flush()
			return n, err
		}
		f.Page = page
		p, err := a.SearchCustomers(ctx, actor, f)
		if err != nil {
			flush()
			return n, err
		}
		for _, c := range p.Items {
			in := custos.InputOf(c)
			in.OrgID, in.Org = 0, orgCode[c.OrgID]
			owner, err := ownerName(c.OwnerID)
			if err != nil {
				flush()
				return n, err
			}
			in.OwnerID, in.Owner = 0, owner
			if err := write(c, &in); err != nil {
				return n, err
			}
			n++
		}
		if len(p.Items) == 0 || page*f.PageSize >= p.Total {
			break
		}
	}
	return n, flush()
}

// exportColumns is the CSV layout of an export: the fixed columns, a
// class.<code> column for each taxonomy without a short name, and a
// custom.<key> column for each custom field key of any category.
func exportColumns(ctx context.Context, a *app.App) ([]column, error) {
	cols := slices.Clone(columns)
	taxes, err := a.Taxonomies(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range taxes {
		if !slices.Contains(classShortcuts, t.Code) {
			cols = append(cols, class("class."+t.Code, t.Code))
		}
	}
	defs, err := a.CustomFieldDefs(ctx, "")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, d := range defs {
		keys = append(keys, d.Key)
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		cols = append(cols, custom(k))
	}
	return cols, nil
}
