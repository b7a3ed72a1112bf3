package app_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// createMany creates n customers of am_bj01 (eight at a time, so the
// writer commits them together).
func createMany(t *testing.T, f *apptest.Fixture, n int) {
	t.Helper()
	ins := make([]custos.CustomerInput, n)
	for i := range ins {
		ins[i] = apptest.Person("流式客户")
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan custos.CustomerInput)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for in := range next {
				if _, err := f.App.CreateCustomer(ctx, f.Actor("am_bj01"), in); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, in := range ins {
		next <- in
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestCustomerExportStreams_RC8_RC5: a unit's customer list is read in
// keyset pages and written into the encrypted archive as it goes, with
// progress after every page; every customer comes out once, in archive
// order, and the audited digest is the file's. A client that gives up
// stops the export: the answer is "canceled" (HTTP 499), never an internal
// error, and no export is registered or audited as created.
func TestCustomerExportStreams_RC8_RC5(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.NewWithConfig(t, db, exportConfig())
		const n = 1234 // three pages
		createMany(t, f, n)
		mgr := f.Actor("mgr_bj")

		var seen []app.ExportProgress
		pctx := app.WithExportProgress(ctx, func(p app.ExportProgress) { seen = append(seen, p) })
		res, err := f.App.CreateExport(pctx, mgr, custos.ExportSpec{Kind: custos.ExportCustomers, Reason: "全辖客户复核"})
		if err != nil {
			t.Fatal(err)
		}
		files := openExport(t, res)
		rows := csvRows(t, files["customers.csv"])[1:]
		if len(rows) != n || res.Export.Rows["customers.csv"] != n {
			t.Fatalf("%d rows, recorded %v; want %d", len(rows), res.Export.Rows, n)
		}
		nos := make([]string, len(rows))
		for i, r := range rows {
			nos[i] = r[0]
		}
		if !slices.IsSorted(nos) || len(slices.Compact(slices.Clone(nos))) != n {
			t.Fatal("the list is not every customer once in archive order")
		}
		if len(seen) < 3 || seen[len(seen)-1].Rows != n || seen[len(seen)-1].Total != n || seen[0].Rows >= n {
			t.Fatalf("progress %+v", seen)
		}
		created := auditActions(t, f, "export.create")
		if len(created) != 1 || !strings.Contains(created[0].Detail, res.Export.SHA256) {
			t.Fatalf("export.create events %+v", created)
		}

		// The client goes away after the first page.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		pages := 0
		cctx = app.WithExportProgress(cctx, func(app.ExportProgress) {
			if pages++; pages == 1 {
				cancel()
			}
		})
		res, err = f.App.CreateExport(cctx, mgr, custos.ExportSpec{Kind: custos.ExportCustomers, Reason: "全辖客户复核"})
		if custos.ErrorCodeOf(err) != custos.ECanceled || res != nil {
			t.Fatalf("canceled export: %v %+v", err, res)
		}
		if pages != 1 {
			t.Errorf("the export read on for %d pages after the client left", pages)
		}
		if got := custos.ErrorMessageOf(err); got.ZH == "" || got.EN == "" {
			t.Errorf("message %+v", got)
		}
		list, err := f.App.Exports(ctx, mgr)
		if err != nil || len(list) != 1 {
			t.Fatalf("after the canceled export: %d exports registered (%v)", len(list), err)
		}
		if got := auditActions(t, f, "export.create"); len(got) != 1 {
			t.Fatalf("the canceled export was audited as created: %d events", len(got))
		}
	})
}
