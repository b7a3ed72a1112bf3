package demo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

var ctx = context.Background()

// newApp builds services over a fresh store without apptest's fixture
// organisations and users: Seed refuses a store that has any.
func newApp(t *testing.T, db *sqlstore.DB) *app.App {
	t.Helper()
	keys, err := seal.CreateKeyring(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(app.DefaultConfig(), db, keys, custos.NewFakeClock(apptest.Start), slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(a.Close)
	return a
}

func TestSeed(t *testing.T) { // R-A1, R-A8, R-A9, R-C1, R-C2, R-L2
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := newApp(t, db)
		var out bytes.Buffer
		start := time.Now()
		res, err := Seed(ctx, a, &out)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seeded %d customers and %d users in %v", res.Customers, len(res.Users), time.Since(start))
		if res.Customers < 200 {
			t.Errorf("only %d customers", res.Customers)
		}
		if n, err := db.Reader().CountCustomers(ctx); err != nil || n != int64(res.Customers) {
			t.Errorf("store holds %d customers (%v), Seed reported %d", n, err, res.Customers)
		}
		// Most archives went through onboarding (R-A10); some wait in inboxes.
		gm, gmOrg, _ := a.UserByName(ctx, "gm")
		page, err := a.SearchCustomers(ctx, app.ActorFor(gm, gmOrg, "test", "", "", "service"), custos.CustomerFilter{Status: custos.StatusDraft, PageSize: 200})
		if err != nil || res.Drafts < 10 || page.Total > res.Drafts || page.Total == 0 {
			t.Errorf("drafts: %v, %d reported, %d visible to the general manager", err, res.Drafts, page.Total)
		}

		roles := map[custos.Role]bool{}
		for _, u := range res.Users {
			roles[u.Role] = true
			if u.Password != Password || !strings.Contains(out.String(), u.Username) {
				t.Errorf("user %s missing from the printed table or with another password", u.Username)
			}
		}
		for _, r := range custos.Roles {
			if !roles[r] {
				t.Errorf("no demo user with role %s", r)
			}
		}
		if !strings.Contains(out.String(), Password) {
			t.Error("password not printed")
		}

		// Every customer reads back through the services as its owner.
		seen, protected, households, withCustom := 0, 0, 0, 0
		for _, du := range res.Users {
			u, org, err := a.UserByName(ctx, du.Username)
			if err != nil {
				t.Fatal(err)
			}
			act := app.ActorFor(u, org, "test", "127.0.0.1", "req-test", "service")
			if custos.SearchScope(act, custos.ActCustomerSearch).None() {
				continue
			}
			for page := 1; ; page++ {
				p, err := a.SearchCustomers(ctx, act, custos.CustomerFilter{OwnerID: u.ID, Page: page, PageSize: 200, Sort: "archive_no"})
				if err != nil {
					t.Fatalf("search as %s: %v", du.Username, err)
				}
				for _, item := range p.Items {
					c, err := a.GetCustomer(ctx, act, item.ID)
					if err != nil {
						t.Fatalf("owner %s cannot read %s: %v", du.Username, item.ArchiveNo, err)
					}
					if c.OwnerID != u.ID || c.Name() == "" {
						t.Errorf("%s: owner %d, name %q", c.ArchiveNo, c.OwnerID, c.Name())
					}
					seen++
					if c.Sensitivity == custos.Protected {
						protected++
					}
					if c.Household != nil {
						households++
					}
					if len(c.Custom) > 0 {
						withCustom++
					}
				}
				if page*200 >= p.Total {
					break
				}
			}
		}
		if seen != res.Customers {
			t.Errorf("owners read %d customers, %d were created", seen, res.Customers)
		}
		if protected < 10 || households < 20 || withCustom < 50 {
			t.Errorf("protected %d, households %d, with custom fields %d", protected, households, withCustom)
		}

		// The butler's buildings are in his portfolio.
		b, _, err := a.UserByName(ctx, butler)
		if err != nil {
			t.Fatal(err)
		}
		pf, err := a.Portfolio(ctx, custos.SystemActor("test"), b.ID)
		if err != nil || len(pf) != len(estateBuildings) {
			t.Errorf("butler portfolio %v, %v", pf, err)
		}
		// …and reach every household of the estate: the households belong
		// to the butler's own unit, as a building's reach requires (R-C1).
		bo, err := db.Reader().Org(ctx, b.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		reached := 0
		for page := 1; ; page++ {
			p, err := a.SearchCustomers(ctx, app.ActorFor(b, bo, "test", "", "", "service"), custos.CustomerFilter{Page: page, PageSize: 200, Sort: "archive_no"})
			if err != nil {
				t.Fatal(err)
			}
			reached += len(p.Items)
			if page*200 >= p.Total {
				break
			}
		}
		if reached < households {
			t.Errorf("the butler reaches %d customers, the estate has %d households", reached, households)
		}

		// A second run changes nothing.
		if _, err := Seed(ctx, a, io.Discard); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("second Seed: %v", err)
		}
		if n, _ := db.Reader().CountCustomers(ctx); n != int64(res.Customers) {
			t.Errorf("second Seed changed the store: %d customers", n)
		}
	})
}

func TestPlanIsDeterministicAndValid(t *testing.T) { // R-A4
	p := plan()
	if !reflect.DeepEqual(p, plan()) {
		t.Fatal("two plans differ: the data set is not deterministic")
	}
	now := apptest.Start
	identities := map[string]bool{}
	high, private := 0, 0
	checkID := func(what, typ, number string) {
		t.Helper()
		if _, err := idcard.Validate(idcard.Type(typ), number, now); err != nil {
			t.Errorf("%s: %s %s: %v", what, typ, number, err)
		}
	}
	for i, c := range p {
		in := c.in
		key := in.IDType + ":" + in.IDNumber + in.USCC
		if identities[key] {
			t.Errorf("customer %d: identity %s twice", i, key)
		}
		identities[key] = true
		switch in.Type {
		case custos.TypePerson:
			checkID("person", in.IDType, in.IDNumber)
		case custos.TypeInstitution:
			if _, err := idcard.ValidateUSCC(in.USCC); err != nil {
				t.Errorf("customer %d: USCC %s: %v", i, in.USCC, err)
			}
			checkID("legal representative", in.LegalRepresentative.IDType, in.LegalRepresentative.IDNumber)
			for _, party := range append(append([]custos.Party(nil), in.Agents...), in.BeneficialOwners...) {
				checkID("party", party.IDType, party.IDNumber)
			}
		}
		if in.Classifications[custos.TaxAMLRisk] == "high" {
			high++
			if in.RiskReason == "" {
				t.Errorf("customer %d: high risk without a reason", i)
			}
		}
		if in.Category == "private_banking" {
			private++
		}
	}
	if len(p) < 200 || high < 3 || private < 3 {
		t.Errorf("%d customers, %d high-risk, %d private banking", len(p), high, private)
	}
}
