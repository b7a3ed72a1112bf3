package app

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/auth"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// requireSystem checks an action that concerns no single customer and audits a refusal.
func (a *App) requireSystem(ctx context.Context, actor custos.Actor, act custos.Action) error {
	if d := custos.Allowed(actor, act); !d.Allowed {
		return a.denied(ctx, actor, act, "", d.Reason, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
	}
	return nil
}

// adminWrite runs an administrative change with its audit event.
func (a *App) adminWrite(ctx context.Context, actor custos.Actor, act custos.Action, what string, fn func(tx *sqlstore.Tx) (target string, err error)) error {
	if err := a.requireSystem(ctx, actor, act); err != nil {
		return err
	}
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		target, err := fn(tx)
		if err != nil {
			return err
		}
		ev := custos.NewEvent(actor, what, custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = strings.SplitN(what, ".", 2)[0], target
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return internal(what, err)
	}
	a.invalidateRef()
	return nil
}

var codeRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,20}$`)

// CreateOrg adds a unit to the organisation tree (R-L2).
func (a *App) CreateOrg(ctx context.Context, actor custos.Actor, o *custos.Org) error {
	var v custos.Validation
	o.Code = strings.TrimSpace(o.Code)
	if !codeRe.MatchString(o.Code) {
		v.Addf("code", custos.CodeInvalidFormat)
	}
	o.Name = strings.TrimSpace(o.Name)
	if o.Name == "" {
		v.Addf("name", custos.CodeRequired)
	}
	v.CheckName("name", o.Name)
	v.CheckName("name_en", o.NameEN)
	if !custos.ValidOrgKind(o.Kind) {
		v.Addf("kind", custos.CodeNotAllowed)
	}
	if o.Kind == custos.HeadOffice && o.ParentID != 0 || o.Kind != custos.HeadOffice && o.ParentID == 0 && o.Kind != "" {
		v.Add("parent_id", custos.CodeNotAllowed, custos.Message{ZH: "总行没有上级；其他机构必须有上级", EN: "only the head office has no parent"})
	}
	if err := v.Err(); err != nil {
		return err
	}
	return a.adminWrite(ctx, actor, custos.ActOrgAdmin, "org.create", func(tx *sqlstore.Tx) (string, error) {
		return "", tx.CreateOrg(ctx, o)
	})
}

// Orgs lists the organisation tree. Every signed-in user may see it.
func (a *App) Orgs(ctx context.Context) ([]*custos.Org, error) {
	out, err := a.db.Reader().Orgs(ctx)
	return out, internal("list orgs", err)
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Username    string      `json:"username"`
	DisplayName string      `json:"display_name"`
	Email       string      `json:"email,omitempty"`
	OrgID       int64       `json:"org_id"`
	Org         string      `json:"org,omitempty"`
	Role        custos.Role `json:"role"`
	Password    string      `json:"password"`
}

var usernameRe = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)

// CreateUser adds an individual account (R-C4) after checking the password policy.
func (a *App) CreateUser(ctx context.Context, actor custos.Actor, in NewUser) (*custos.User, error) {
	var v custos.Validation
	u := &custos.User{Username: custos.NormalizeUsername(in.Username), DisplayName: strings.TrimSpace(in.DisplayName), Email: strings.TrimSpace(in.Email), OrgID: in.OrgID, Role: in.Role}
	v.CheckName("display_name", u.DisplayName)
	if u.Email != "" && v.CheckName("email", u.Email) && !emailRe.MatchString(u.Email) {
		v.Addf("email", custos.CodeInvalidFormat)
	}
	if !usernameRe.MatchString(u.Username) {
		v.Addf("username", custos.CodeInvalidFormat)
	}
	if !u.Role.Valid() {
		v.Addf("role", custos.CodeNotAllowed)
	}
	if in.Org != "" {
		o, err := a.db.Reader().OrgByCode(ctx, in.Org)
		if err != nil {
			v.Addf("org", custos.CodeUnknown)
		} else {
			u.OrgID = o.ID
		}
	} else if u.OrgID == 0 {
		v.Addf("org_id", custos.CodeRequired)
	}
	if err := auth.CheckPassword(in.Password, u.Username); err != nil {
		var pv *auth.PolicyViolation
		errors.As(err, &pv)
		v.Add("password", pv.Code, custos.Message{ZH: pv.ZH, EN: pv.EN})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash := auth.HashPassword(in.Password)
	err := a.adminWrite(ctx, actor, custos.ActUserAdmin, "user.create", func(tx *sqlstore.Tx) (string, error) {
		return "", tx.CreateUser(ctx, u, hash)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Users lists users; administrators and managers may list.
func (a *App) Users(ctx context.Context, actor custos.Actor, f custos.UserFilter) ([]*custos.User, error) {
	if !custos.Allowed(actor, custos.ActUserAdmin).Allowed && !custos.Allowed(actor, custos.ActPortfolioManage).Allowed {
		return nil, a.denied(ctx, actor, custos.ActUserAdmin, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
	}
	out, err := a.db.Reader().Users(ctx, f)
	return out, internal("list users", err)
}

// UserByName loads a user (for the CLI and the handlers).
func (a *App) UserByName(ctx context.Context, username string) (*custos.User, *custos.Org, error) {
	u, err := a.db.Reader().UserByName(ctx, custos.NormalizeUsername(username))
	if err != nil {
		return nil, nil, err
	}
	o, err := a.db.Reader().Org(ctx, u.OrgID)
	return u, o, err
}

// SetUserDisabled enables or disables an account; disabling ends its sessions.
func (a *App) SetUserDisabled(ctx context.Context, actor custos.Actor, userID int64, disabled bool) error {
	return a.adminWrite(ctx, actor, custos.ActUserAdmin, "user.disable", func(tx *sqlstore.Tx) (string, error) {
		u, err := tx.User(ctx, userID)
		if err != nil {
			return "", err
		}
		u.Disabled = disabled
		if err := tx.UpdateUser(ctx, u); err != nil {
			return "", err
		}
		if disabled {
			return itoa(userID), tx.DeleteUserSessions(ctx, userID)
		}
		return itoa(userID), nil
	})
}

// SetPassword changes a password: users their own (with the old one), administrators anyone's.
func (a *App) SetPassword(ctx context.Context, actor custos.Actor, userID int64, oldPassword, newPassword string) error {
	u, err := a.db.Reader().User(ctx, userID)
	if err != nil {
		return err
	}
	if actor.UserID == userID {
		hash, _, err := a.db.Reader().UserCredentials(ctx, userID)
		if err != nil {
			return internal("load credentials", err)
		}
		if ok, _ := auth.VerifyPassword(hash, oldPassword); !ok {
			return (&custos.Validation{Fields: []custos.FieldError{{Field: "old_password", Code: "wrong_password", Message: custos.Message{ZH: "原密码错误", EN: "wrong current password"}}}}).Err()
		}
	} else if err := a.requireSystem(ctx, actor, custos.ActUserAdmin); err != nil {
		return err
	}
	if err := auth.CheckPassword(newPassword, u.Username); err != nil {
		var pv *auth.PolicyViolation
		errors.As(err, &pv)
		return (&custos.Validation{Fields: []custos.FieldError{{Field: "password", Code: pv.Code, Message: custos.Message{ZH: pv.ZH, EN: pv.EN}}}}).Err()
	}
	hash := auth.HashPassword(newPassword)
	return a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.SetPassword(ctx, userID, hash); err != nil {
			return err
		}
		ev := custos.NewEvent(actor, "user.password", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "user", itoa(userID)
		return a.appendTx(ctx, tx, ev)
	})
}

// Taxonomies lists the classification taxonomies (R-A8).
func (a *App) Taxonomies(ctx context.Context) ([]custos.Taxonomy, error) {
	out, err := a.db.Reader().Taxonomies(ctx)
	return out, internal("taxonomies", err)
}

// PutTaxonomy creates or extends a taxonomy.
func (a *App) PutTaxonomy(ctx context.Context, actor custos.Actor, t custos.Taxonomy) error {
	var v custos.Validation
	if !fieldKeyRe.MatchString(t.Code) {
		v.Addf("code", custos.CodeInvalidFormat)
	}
	if t.NameZH == "" && t.NameEN == "" {
		v.Addf("name_zh", custos.CodeRequired)
	}
	for i, x := range t.Terms {
		if !fieldKeyRe.MatchString(x.Code) {
			v.Addf("terms["+itoa(int64(i))+"].code", custos.CodeInvalidFormat)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	return a.adminWrite(ctx, actor, custos.ActSettingsAdmin, "taxonomy.put", func(tx *sqlstore.Tx) (string, error) {
		return t.Code, tx.PutTaxonomy(ctx, t)
	})
}

var fieldKeyRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Categories lists customer categories.
func (a *App) Categories(ctx context.Context) ([]custos.Category, error) {
	out, err := a.db.Reader().Categories(ctx)
	return out, internal("categories", err)
}

// PutCategory creates or renames a category.
func (a *App) PutCategory(ctx context.Context, actor custos.Actor, c custos.Category) error {
	var v custos.Validation
	if !fieldKeyRe.MatchString(c.Code) {
		v.Addf("code", custos.CodeInvalidFormat)
	}
	if c.AppliesTo != "" && c.AppliesTo != custos.TypePerson && c.AppliesTo != custos.TypeInstitution {
		v.Addf("applies_to", custos.CodeNotAllowed)
	}
	if err := v.Err(); err != nil {
		return err
	}
	return a.adminWrite(ctx, actor, custos.ActSettingsAdmin, "category.put", func(tx *sqlstore.Tx) (string, error) {
		return c.Code, tx.PutCategory(ctx, c)
	})
}

// CustomFieldDefs lists custom field definitions of a category ("" for all).
func (a *App) CustomFieldDefs(ctx context.Context, category string) ([]custos.CustomFieldDef, error) {
	out, err := a.db.Reader().CustomFieldDefs(ctx, category)
	return out, internal("custom fields", err)
}

// PutCustomFieldDef defines or redefines a custom field (R-A7).
func (a *App) PutCustomFieldDef(ctx context.Context, actor custos.Actor, d *custos.CustomFieldDef) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return a.adminWrite(ctx, actor, custos.ActSettingsAdmin, "custom_field.put", func(tx *sqlstore.Tx) (string, error) {
		return d.Category + "." + d.Key, tx.PutCustomFieldDef(ctx, d)
	})
}

// DeleteCustomFieldDef removes a definition.
func (a *App) DeleteCustomFieldDef(ctx context.Context, actor custos.Actor, id int64) error {
	return a.adminWrite(ctx, actor, custos.ActSettingsAdmin, "custom_field.delete", func(tx *sqlstore.Tx) (string, error) {
		return itoa(id), tx.DeleteCustomFieldDef(ctx, id)
	})
}

// PutPurpose adds or changes a purpose of use (R-C6).
func (a *App) PutPurpose(ctx context.Context, actor custos.Actor, p custos.Purpose) error {
	if !fieldKeyRe.MatchString(p.Code) {
		return (&custos.Validation{Fields: []custos.FieldError{{Field: "code", Code: custos.CodeInvalidFormat, Message: custos.StandardMessage(custos.CodeInvalidFormat)}}}).Err()
	}
	return a.adminWrite(ctx, actor, custos.ActSettingsAdmin, "purpose.put", func(tx *sqlstore.Tx) (string, error) {
		return p.Code, tx.PutPurpose(ctx, p)
	})
}

// Checklist lists a category's document checklist.
func (a *App) Checklist(ctx context.Context, category string) ([]custos.ChecklistItem, error) {
	out, err := a.db.Reader().Checklist(ctx, category)
	return out, internal("checklist", err)
}

// PutChecklistItem adds or changes a checklist item (R-A9).
func (a *App) PutChecklistItem(ctx context.Context, actor custos.Actor, c custos.ChecklistItem) error {
	var v custos.Validation
	if !fieldKeyRe.MatchString(c.Code) {
		v.Addf("code", custos.CodeInvalidFormat)
	}
	if c.NameZH == "" && c.NameEN == "" {
		v.Addf("name_zh", custos.CodeRequired)
	}
	if err := v.Err(); err != nil {
		return err
	}
	return a.adminWrite(ctx, actor, custos.ActSettingsAdmin, "checklist.put", func(tx *sqlstore.Tx) (string, error) {
		return c.Category + "." + c.Code, tx.PutChecklistItem(ctx, c)
	})
}

// ArchivePattern returns the archive number pattern.
func (a *App) ArchivePattern(ctx context.Context) (string, error) {
	r, err := a.refData(ctx)
	if err != nil {
		return "", err
	}
	return r.pattern.String(), nil
}

// SetArchivePattern changes the archive number pattern for new archives (R-A1).
func (a *App) SetArchivePattern(ctx context.Context, actor custos.Actor, pattern string) error {
	if _, err := custos.ParseArchivePattern(pattern); err != nil {
		return (&custos.Validation{Fields: []custos.FieldError{{Field: "archive_pattern", Code: custos.CodeInvalidFormat, Message: custos.Message{ZH: "编号规则无效：" + err.Error(), EN: err.Error()}}}}).Err()
	}
	return a.adminWrite(ctx, actor, custos.ActSettingsAdmin, "setting.archive_pattern", func(tx *sqlstore.Tx) (string, error) {
		return settingArchivePattern, tx.SetSetting(ctx, settingArchivePattern, pattern)
	})
}

// GrantInput asks for time-limited access for one user to one customer.
type GrantInput struct {
	UserID     int64           `json:"user_id"`
	Username   string          `json:"username,omitempty"`
	CustomerID string          `json:"customer_id"`
	Actions    []custos.Action `json:"actions"`
	Purpose    string          `json:"purpose"`
	Reason     string          `json:"reason"`
	Duration   string          `json:"duration"` // e.g. "8h", "72h"
}

// MaxGrantDuration bounds a grant.
const MaxGrantDuration = 90 * 24 * time.Hour

// CreateGrant gives a user time-limited access to a customer (R-C1, R-C2).
// It is the general manager's or administrator's decision; the approval
// workflow issue routes requests here.
func (a *App) CreateGrant(ctx context.Context, actor custos.Actor, in GrantInput) (*custos.Grant, error) {
	if err := a.requireSystem(ctx, actor, custos.ActGrantManage); err != nil {
		return nil, err
	}
	var v custos.Validation
	if in.Username != "" {
		u, err := a.db.Reader().UserByName(ctx, custos.NormalizeUsername(in.Username))
		if err == nil {
			in.UserID = u.ID
		}
	}
	if in.UserID == 0 {
		v.Addf("user_id", custos.CodeRequired)
	} else if _, err := a.db.Reader().User(ctx, in.UserID); err != nil {
		v.Addf("user_id", custos.CodeUnknown)
	}
	if in.UserID == actor.UserID {
		v.Add("user_id", custos.CodeNotAllowed, custos.Message{ZH: "不能给自己授权", EN: "you cannot grant access to yourself"})
	}
	if len(in.Actions) == 0 {
		in.Actions = []custos.Action{custos.ActCustomerRead}
	}
	for i, act := range in.Actions {
		if !slices.Contains(custos.GrantableActions, act) {
			v.Addf("actions["+itoa(int64(i))+"]", custos.CodeNotAllowed)
		}
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	if p, ok := ref.purposes[in.Purpose]; !ok || !p.Active {
		v.Addf("purpose", custos.CodeNotAllowed)
	}
	if strings.TrimSpace(in.Reason) == "" {
		v.Addf("reason", custos.CodeRequired)
	}
	d, err := time.ParseDuration(in.Duration)
	if err != nil || d <= 0 {
		v.Addf("duration", custos.CodeInvalidFormat)
	} else if d > MaxGrantDuration {
		v.Addf("duration", custos.CodeOutOfRange)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := a.now()
	g := &custos.Grant{UserID: in.UserID, CustomerID: in.CustomerID, Actions: in.Actions, Purpose: in.Purpose, Reason: strings.TrimSpace(in.Reason),
		GrantedBy: actor.UserID, StartsAt: now, ExpiresAt: now.Add(d)}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.ACL(ctx, in.CustomerID, 0, now); err != nil {
			return err
		}
		if err := tx.CreateGrant(ctx, g); err != nil {
			return err
		}
		ev := a.event(actor, "grant.create", in.CustomerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"grant_id": g.ID, "user_id": g.UserID, "actions": g.Actions, "expires_at": g.ExpiresAt})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("create grant", err)
	}
	return g, nil
}

// RevokeGrant ends a grant early.
func (a *App) RevokeGrant(ctx context.Context, actor custos.Actor, id int64) error {
	if err := a.requireSystem(ctx, actor, custos.ActGrantManage); err != nil {
		return err
	}
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		g, err := tx.Grant(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.RevokeGrant(ctx, id, actor.UserID); err != nil {
			return err
		}
		ev := a.event(actor, "grant.revoke", g.CustomerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"grant_id": id})
		return a.appendTx(ctx, tx, ev)
	})
	return internal("revoke grant", err)
}

// Grants lists grants of a user or on a customer (grant managers), or the actor's own.
func (a *App) Grants(ctx context.Context, actor custos.Actor, userID int64, customerID string) ([]*custos.Grant, error) {
	if !custos.Allowed(actor, custos.ActGrantManage).Allowed {
		userID = actor.UserID
	}
	out, err := a.db.Reader().Grants(ctx, userID, customerID)
	return out, internal("list grants", err)
}

// AddPortfolio assigns a customer or building to a member of staff (R-C1).
func (a *App) AddPortfolio(ctx context.Context, actor custos.Actor, e custos.PortfolioEntry) error {
	if (e.CustomerID == "") == (e.Building == "") {
		return (&custos.Validation{Fields: []custos.FieldError{{Field: "customer_id", Code: custos.CodeRequired, Message: custos.Message{ZH: "请指定客户或楼栋之一", EN: "name either a customer or a building"}}}}).Err()
	}
	return a.adminWrite(ctx, actor, custos.ActPortfolioManage, "portfolio.add", func(tx *sqlstore.Tx) (string, error) {
		if _, err := tx.User(ctx, e.UserID); err != nil {
			return "", err
		}
		ref := e.Building
		if e.CustomerID != "" {
			ref = a.customerRef(e.CustomerID)
		}
		return ref, tx.AddPortfolio(ctx, e)
	})
}

// RemovePortfolio removes an assignment.
func (a *App) RemovePortfolio(ctx context.Context, actor custos.Actor, e custos.PortfolioEntry) error {
	return a.adminWrite(ctx, actor, custos.ActPortfolioManage, "portfolio.remove", func(tx *sqlstore.Tx) (string, error) {
		ref := e.Building
		if e.CustomerID != "" {
			ref = a.customerRef(e.CustomerID)
		}
		return ref, tx.RemovePortfolio(ctx, e)
	})
}

// Portfolio lists a user's assignments.
func (a *App) Portfolio(ctx context.Context, actor custos.Actor, userID int64) ([]custos.PortfolioEntry, error) {
	if userID != actor.UserID {
		if err := a.requireSystem(ctx, actor, custos.ActPortfolioManage); err != nil {
			return nil, err
		}
	}
	out, err := a.db.Reader().Portfolio(ctx, userID)
	return out, internal("portfolio", err)
}

// StaffNames returns the usernames and display names of colleagues, for
// showing who asked, approved, lent or signed. Names of staff are internal
// data (C1), open to every member of staff; nothing else about them is.
func (a *App) StaffNames(ctx context.Context, actor custos.Actor, ids []int64) (map[int64]*custos.User, error) {
	if actor.Kind != custos.ActorUser || actor.UserID == 0 {
		return nil, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed")
	}
	out := make(map[int64]*custos.User, len(ids))
	rd := a.db.Reader()
	for _, id := range ids {
		if _, done := out[id]; done || id == 0 {
			continue
		}
		u, err := rd.User(ctx, id)
		if errors.Is(err, custos.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, internal("staff names", err)
		}
		out[id] = &custos.User{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, OrgID: u.OrgID}
	}
	return out, nil
}
