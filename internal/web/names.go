package web

import (
	"context"
	"fmt"

	"github.com/custos-cim/custos"
)

// staffNames turns the user ids that requests, versions, verifications,
// paper movements and handovers carry into names for one page, asking the
// services once per id.
type staffNames struct {
	p   *page
	ctx context.Context
	m   map[int64]*custos.User
}

func (s *server) staff(ctx context.Context, p *page) *staffNames {
	n := &staffNames{p: p, ctx: ctx, m: map[int64]*custos.User{}}
	if p.Sess != nil {
		n.m[p.Sess.User.ID] = p.Sess.User
	}
	return n
}

func (n *staffNames) lookup(id int64) *custos.User {
	if u, ok := n.m[id]; ok {
		return u
	}
	got, err := n.p.srv.app.StaffNames(n.ctx, n.p.Actor, []int64{id})
	if err != nil {
		n.p.srv.log.Error("web: staff names", "err", err)
	}
	n.m[id] = got[id] // nil when unknown: asked once
	return n.m[id]
}

// Name is "Display name (username)", or "user #12" when unknown.
func (n *staffNames) Name(id int64) string {
	if id == 0 {
		return ""
	}
	if u := n.lookup(id); u != nil {
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
	if n.m[id] != nil || role == "" {
		return name
	}
	return name + " · " + n.p.M(role.Label())
}
