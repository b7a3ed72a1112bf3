package demo

import (
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestSeedTransactions_RE1_RE4: the demo's onboarded customers have a year
// of transactions that their staff can search, large-value records among
// them that only the protected permission shows, and a reversal.
func TestSeedTransactions_RE1_RE4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := newApp(t, db)
		res, err := Seed(ctx, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		onboarded := res.Customers - res.Drafts
		if res.Transactions < onboarded*demoTxnMin {
			t.Fatalf("%d transactions for %d onboarded customers", res.Transactions, onboarded)
		}
		actor := func(username string) custos.Actor {
			u, org, err := a.UserByName(ctx, username)
			if err != nil {
				t.Fatal(err)
			}
			return app.ActorFor(u, org, "test", "", "", "service")
		}
		gm := actor("gm")
		// The general manager sees the large-value transfers (R-E4)…
		big, err := a.SearchTransactions(ctx, gm, custos.TxnFilter{Source: TxnSource, Type: "transfer", MinAmount: 60000 * 10000, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(big.Items) == 0 || big.Withheld != 0 {
			t.Fatalf("large-value records for the general manager: %d shown, %d withheld", len(big.Items), big.Withheld)
		}
		// …their account manager, without the protected permission, does not.
		ownerOf := map[string]int64{}
		for page := 1; ; page++ {
			cs, err := a.SearchCustomers(ctx, gm, custos.CustomerFilter{Page: page, PageSize: custos.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs.Items {
				ownerOf[c.ID] = c.OwnerID
			}
			if page*cs.PageSize >= cs.Total {
				break
			}
		}
		am, owner := "", ""
		for _, it := range big.Items {
			for _, du := range res.Users {
				if u, _, _ := a.UserByName(ctx, du.Username); du.Role == custos.RoleAccountManager && u != nil && u.ID == ownerOf[it.CustomerID] {
					am, owner = du.Username, it.CustomerID
				}
			}
		}
		if am == "" {
			t.Fatal("no account manager owns a customer with a large-value record")
		}
		p, err := a.SearchTransactions(ctx, actor(am), custos.TxnFilter{CustomerID: owner, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) < demoTxnMin || p.Withheld < 1 || p.Notice == nil {
			t.Fatalf("%s's view of their customer: %d rows, %d withheld", am, len(p.Items), p.Withheld)
		}
		for _, it := range p.Items {
			if it.LargeValue {
				t.Fatalf("a large-value record shown without the protected permission: %s", it.Reference)
			}
		}
		// One reversal, linked to its original.
		rev, err := a.SearchTransactions(ctx, gm, custos.TxnFilter{Source: custos.ReversalSource, Limit: 10})
		if err != nil || len(rev.Items) != 1 || rev.Items[0].ReversalOf == "" {
			t.Fatalf("the demo reversal: %v %+v", err, rev)
		}
	})
}
