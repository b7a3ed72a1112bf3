package demo

import (
	"bytes"
	"strings"
	"testing"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestBannerHasNoCustomerData_RC10: what `serve --demo` prints to the
// server's output (which logs keep) holds no demo customer's ID number,
// USCC, phone, e-mail or name, on either database.
func TestBannerHasNoCustomerData_RC10(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		var out bytes.Buffer
		if _, err := Seed(ctx, newApp(t, db), &out); err != nil {
			t.Fatal(err)
		}
		banner := out.String()
		for i, c := range plan() {
			in := c.in
			values := []string{in.IDNumber, in.USCC, in.Phone, in.Email, in.Name, in.ContactPhone}
			values = append(values, in.Phones...)
			for _, d := range in.IDDocuments {
				values = append(values, d.Number)
			}
			if p := in.LegalRepresentative; p != nil {
				values = append(values, p.IDNumber, p.Name)
			}
			for _, v := range values {
				if len([]rune(v)) >= 4 && strings.Contains(banner, v) {
					t.Errorf("the banner prints customer %d's %q", i, v)
				}
			}
		}
		if !strings.Contains(banner, PortalPassword) || !strings.Contains(banner, "reveal") {
			t.Errorf("the banner no longer says how to sign in to the portal:\n%s", banner)
		}
	})
}
