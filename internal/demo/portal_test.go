package demo

import (
	"bytes"
	"strings"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestSeedPortal_RB5: the demo gives two customers portal access, prints
// how to sign in without their ID numbers (R-C10), and they sign in and see
// their own transactions.
func TestSeedPortal_RB5(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	a := newApp(t, db)
	var out bytes.Buffer
	res, err := Seed(ctx, a, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Portal) != portalCustomers {
		t.Fatalf("portal customers: %+v", res.Portal)
	}
	for _, pc := range res.Portal {
		if !strings.Contains(out.String(), pc.ArchiveNo) || !strings.Contains(out.String(), custos.MaskIDNumber(pc.IDNumber)) || !strings.Contains(out.String(), PortalPassword) {
			t.Fatalf("banner lacks the portal login of %s:\n%s", pc.ArchiveNo, out.String())
		}
		if strings.Contains(out.String(), pc.IDNumber) {
			t.Fatalf("banner prints the ID number of %s:\n%s", pc.ArchiveNo, out.String())
		}
		s, err := a.PortalLogin(ctx, app.PortalCredentials{IDNumber: pc.IDNumber, Password: pc.Password, ClientAddr: "127.0.0.1"})
		if err != nil {
			t.Fatalf("login as %s: %v", pc.ArchiveNo, err)
		}
		page, err := a.PortalTransactions(ctx, a.PortalActor(s, "127.0.0.1", "demo-test"), custos.TxnFilter{})
		if err != nil || len(page.Items) == 0 {
			t.Fatalf("transactions of %s: %v", pc.ArchiveNo, err)
		}
		for _, it := range page.Items {
			if it.CustomerID != s.CustomerID {
				t.Fatalf("%s sees another customer's transaction", pc.ArchiveNo)
			}
		}
	}
}
