package httpapi_test

import (
	"context"
	"testing"

	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
)

// Portal access through the API (R-B5), inside TestAPI on both databases.

func init() {
	apiWalks = append(apiWalks, struct {
		name, owns string
		run        func(t *testing.T, f *apptest.Fixture, c *client)
	}{"portal_RB5", "", walkPortal})
}

func walkPortal(t *testing.T, f *apptest.Fixture, c *client) {
	p := apptest.Person("接口门户")
	cu := f.Create(t, "am_bj01", p)
	path := "/api/v1/customers/" + cu.ID + "/portal"
	c.do("am_bj01", "PUT", path, "", map[string]any{"password": "Kehu-Mima-2026!"}).expect(t, 409, "a draft archive")
	onboardForTxn(t, f, cu, "am_bj01")
	c.do("am2_bj01", "PUT", path, "", map[string]any{"password": "Kehu-Mima-2026!"}).expect(t, 404, "another account manager's customer")
	c.do("am_bj01", "PUT", path, "", map[string]any{"password": "short"}).expect(t, 422, "a weak password")
	c.do("am_bj01", "PUT", path, "", map[string]any{"passwort": "x"}).expect(t, 422, "an unknown field")
	var acc struct {
		Enabled     bool `json:"enabled"`
		PasswordSet bool `json:"password_set"`
	}
	c.do("am_bj01", "PUT", path, "", map[string]any{"password": "Kehu-Mima-2026!"}).expect(t, 200, "enable").json(t, &acc)
	if !acc.Enabled || !acc.PasswordSet {
		t.Fatalf("enable: %+v", acc)
	}
	ctx := context.Background()
	if _, err := f.App.PortalLogin(ctx, app.PortalCredentials{IDNumber: p.IDNumber, Password: "Kehu-Mima-2026!", ClientAddr: "198.51.100.7"}); err != nil {
		t.Fatalf("login after enabling through the API: %v", err)
	}
	c.do("am_bj01", "PUT", path, "", nil).expect(t, 200, "reset the lockout, keep the password")
	c.do("auditor", "DELETE", path, "", nil).expect(t, 404, "an auditor disables")
	c.do("am_bj01", "DELETE", path, "", nil).expect(t, 200, "disable").json(t, &acc)
	if acc.Enabled {
		t.Fatalf("disable: %+v", acc)
	}
	if _, err := f.App.PortalLogin(ctx, app.PortalCredentials{IDNumber: p.IDNumber, Password: "Kehu-Mima-2026!", ClientAddr: "198.51.100.8"}); err == nil {
		t.Fatal("login after disabling")
	}
}
