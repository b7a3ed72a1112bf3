package web

import (
	"context"
	"fmt"

	"github.com/custos-cim/custos"
)

// staffNames turns the user ids that requests, versions, verifications,
// paper movements and handovers carry into names for one page.
//
// No service answers "who is user 12" for everyone: app.Users is open to
// administrators and managers only. Those see names; anyone else sees their
// own name and, for other people, the id with the role where the record
// carries one. (See the report: a narrow app.StaffNames would let every
// page show names.)
type staffNames struct {
	p      *page
	ctx    context.Context
	loaded bool
	m      map[int64]*custos.User
}

func (s *server) staff(ctx context.Context, p *page) *staffNames {
	return &staffNames{p: p, ctx: ctx}
}

func (n *staffNames) load() {
	if n.loaded {
		return
	}
	n.loaded = true
	n.m = map[int64]*custos.User{}
	if n.p.Sess != nil {
		n.m[n.p.Sess.User.ID] = n.p.Sess.User
	}
	// Ask only when the service will answer: a refused call is audited as a denial.
	if !custos.Allowed(n.p.Actor, custos.ActUserAdmin).Allowed && !custos.Allowed(n.p.Actor, custos.ActPortfolioManage).Allowed {
		return
	}
	us, err := n.p.srv.app.Users(n.ctx, n.p.Actor, custos.UserFilter{})
	if err != nil {
		n.p.srv.log.Error("web: list users for names", "err", err)
		return
	}
	for _, u := range us {
		n.m[u.ID] = u
	}
}

// Name is "Display name (username)", or "user #12" when unknown.
func (n *staffNames) Name(id int64) string {
	if id == 0 {
		return ""
	}
	n.load()
	if u, ok := n.m[id]; ok {
		if u.DisplayName != "" && u.DisplayName != u.Username {
			return u.DisplayName + " (" + u.Username + ")"
		}
		return u.Username
	}
	return fmt.Sprintf(n.p.T("user.unknown"), id)
}

// WithRole is Name with the role a record noted, for unknown users.
func (n *staffNames) WithRole(id int64, role custos.Role) string {
	name := n.Name(id)
	if _, known := n.m[id]; known || role == "" {
		return name
	}
	return name + " · " + n.p.M(role.Label())
}
