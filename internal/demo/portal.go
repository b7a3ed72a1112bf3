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

// printPortal prints how to sign in as the demo portal customers. The
// banner goes to the server's output, which logs keep, so it names each by
// archive number and masked ID number only (R-C10): the full number is
// read the way staff read any, by revealing it (audited) in the staff UI as
// the account manager.
func printPortal(out io.Writer, cs []PortalCustomer) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintln(out, "\ndemo customers of the self-service portal /portal/ (客户自助服务，证件号码登录):")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ARCHIVE\tID NUMBER (MASKED)\tPASSWORD\tACCOUNT MANAGER")
	for _, c := range cs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.ArchiveNo, custos.MaskIDNumber(c.IDNumber), c.Password, c.Owner)
	}
	w.Flush()
	fmt.Fprintln(out, "the full ID number: sign in to the staff UI as the account manager, open the archive and reveal it (audited)\n"+
		"完整证件号码：以客户经理身份登录员工界面，打开该档案并完整显示（留痕审计）")
}
