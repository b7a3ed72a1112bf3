package demo

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// PortalPassword is the self-service portal password of the demo customers
// who have portal access (R-B5, R-E3). It satisfies the password policy.
const PortalPassword = "Kehu-Demo-2026!"

// portalCustomers is how many demo customers get portal access.
const portalCustomers = 2

// PortalCustomer is a demo customer who can sign in to /portal/.
type PortalCustomer struct {
	ArchiveNo string `json:"archive_no"`
	IDNumber  string `json:"id_number"` // synthetic, the login name of the portal
	Password  string `json:"password"`
	Owner     string `json:"owner"`
}

// seedPortal gives the first normal, effective retail persons portal
// access, enabled by their account managers (audited like any enabling).
func seedPortal(ctx context.Context, a *app.App, actorOf func(string) (custos.Actor, error), onboarded []*custos.Customer) ([]PortalCustomer, error) {
	owners := map[int64]string{}
	for _, u := range users {
		if u.role != custos.RoleAccountManager {
			continue
		}
		act, err := actorOf(u.username)
		if err != nil {
			return nil, err
		}
		owners[act.UserID] = u.username
	}
	var out []PortalCustomer
	for _, c := range onboarded {
		if len(out) == portalCustomers {
			break
		}
		owner, ok := owners[c.OwnerID]
		if !ok || c.Person == nil || len(c.Person.IDDocuments) == 0 || c.Sensitivity != custos.Normal || c.Category != "retail" ||
			c.Person.IDDocuments[0].Type != "cn_resident_id" {
			continue
		}
		act, err := actorOf(owner)
		if err != nil {
			return nil, err
		}
		if err := a.EnablePortal(ctx, act, c.ID, PortalPassword); err != nil {
			return nil, fmt.Errorf("enable the portal for %s: %w", c.ArchiveNo, err)
		}
		out = append(out, PortalCustomer{ArchiveNo: c.ArchiveNo, IDNumber: c.Person.IDDocuments[0].Number, Password: PortalPassword, Owner: owner})
	}
	return out, nil
}

func printPortal(out io.Writer, cs []PortalCustomer) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintln(out, "\ndemo customers of the self-service portal /portal/ (客户自助服务，证件号码登录):")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID NUMBER\tPASSWORD\tARCHIVE\tACCOUNT MANAGER")
	for _, c := range cs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.IDNumber, c.Password, c.ArchiveNo, c.Owner)
	}
	w.Flush()
}
