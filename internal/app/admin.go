package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
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

// CreateUser adds an individual account (R-C4) after checking the password
// policy. An account with a privileged role (custos.PrivilegedAccount) is
// not created: a request is filed instead, and the account exists only
// once a second authorised person approves it; exactly one of the user and
// the request is returned. The system actor (the first administrator of an
// empty store, the demo) creates directly.
//
// Errors: EInvalid, EForbidden.
func (a *App) CreateUser(ctx context.Context, actor custos.Actor, in NewUser) (*custos.User, *custos.Request, error) {
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
	var org *custos.Org
	if in.Org != "" {
		o, err := a.db.Reader().OrgByCode(ctx, in.Org)
		if err != nil {
			v.Addf("org", custos.CodeUnknown)
		} else {
			u.OrgID, org = o.ID, o
		}
	} else if u.OrgID == 0 {
		v.Addf("org_id", custos.CodeRequired)
	} else if o, err := a.db.Reader().Org(ctx, u.OrgID); err != nil {
		v.Addf("org_id", custos.CodeUnknown)
	} else {
		org = o
	}
	if err := auth.CheckPassword(in.Password, u.Username); err != nil {
		var pv *auth.PolicyViolation
		errors.As(err, &pv)
		v.Add("password", pv.Code, custos.Message{ZH: pv.ZH, EN: pv.EN})
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	if err := a.requireSystem(ctx, actor, custos.ActUserAdmin); err != nil {
		return nil, nil, err
	}
	hash := auth.HashPassword(in.Password)
	if actor.Kind != custos.ActorSystem && custos.PrivilegedAccount(u.Role, org.Kind) {
		// A fresh installation has nobody to be the second person: until
		// it holds a customer and someone who may approve privileged
		// accounts, the administrator creates the first ones (audited as
		// such, one-time passwords). After that, never alone.
		ref, err := a.refData(ctx)
		if err != nil {
			return nil, nil, err
		}
		boot, err := a.db.Reader().Bootstrapping(ctx, ref.rules[custos.KindPrivilege].Roles)
		if err != nil {
			return nil, nil, internal("bootstrap", err)
		}
		if !boot {
			req, err := a.requestPrivilegedUser(ctx, actor, u, hash)
			return nil, req, err
		}
	}
	err := a.adminWrite(ctx, actor, custos.ActUserAdmin, "user.create", func(tx *sqlstore.Tx) (string, error) {
		// A password someone else chose is one-time (R-C4). The system
		// actor's accounts keep theirs: the first administrator of an
		// empty store sets their own, and the demo's users have the
		// published demo password.
		first, err := tx.NoUsers(ctx)
		if err != nil {
			return "", err
		}
		u.MustChangePassword = !first && actor.Kind != custos.ActorSystem
		return "", tx.CreateUser(ctx, u, hash)
	})
	if err != nil {
		return nil, nil, err
	}
	return u, nil, nil
}

// Users lists users; administrators and managers may list.
func (a *App) Users(ctx context.Context, actor custos.Actor, f custos.UserFilter) ([]*custos.User, error) {
	if !custos.Allowed(actor, custos.ActUserAdmin).Allowed && !custos.Allowed(actor, custos.ActRoleManage).Allowed && !custos.Allowed(actor, custos.ActPortfolioManage).Allowed {
		return nil, a.denied(ctx, actor, custos.ActUserAdmin, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
	}
	if err := f.Validate(); err != nil {
		return nil, err
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
func (a *App) SetUserDisabled(ctx context.Context, actor custos.Actor, userID int64, disabled bool) (*custos.Request, error) {
	if !disabled {
		// Re-enabling a privileged account (a leaver's, say) is giving
		// someone its powers again: a second person approves it.
		if req, filed, err := a.privilegedReset(ctx, actor, userID, resetEnable, ""); filed || err != nil {
			return req, err
		}
	}
	return nil, a.adminWrite(ctx, actor, custos.ActUserAdmin, "user.disable", func(tx *sqlstore.Tx) (string, error) {
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

// errResetFiled tells a SetPassword caller that the reset of a privileged
// account was filed for approval instead; ResetPassword returns the request.
var errResetFiled = custos.Errorf(custos.EConflict, "特权账户的密码重置须经第二人审批，已提交申请", "a privileged account's password reset needs a second person's approval; a request was filed")

// ResetPassword is an administrator's reset of someone else's password: a
// one-time password that ends their sessions and tokens (R-C4). For a
// privileged account it only files a request (returned) that a second
// authorised person approves (三员分立): otherwise the administrator could
// sign in as the general manager with the password they chose.
func (a *App) ResetPassword(ctx context.Context, actor custos.Actor, userID int64, newPassword string) (*custos.Request, error) {
	if actor.Kind == custos.ActorUser && actor.UserID == userID {
		return nil, a.denied(ctx, actor, custos.ActUserAdmin, "", "self_reset", custos.Errorf(custos.EForbidden, "请用修改密码功能更改自己的密码", "change your own password with your current one"))
	}
	return a.setPassword(ctx, actor, userID, "", newPassword)
}

// SetPassword changes a password. Users change their own with the old one;
// that clears a one-time password. An administrator's reset of someone
// else's is one-time — it must be changed at the next sign-in — and ends
// that person's sessions and tokens (R-C4). Codes: EInvalid, EForbidden,
// ENotFound.
func (a *App) SetPassword(ctx context.Context, actor custos.Actor, userID int64, oldPassword, newPassword string) error {
	req, err := a.setPassword(ctx, actor, userID, oldPassword, newPassword)
	if err == nil && req != nil {
		return errResetFiled
	}
	return err
}

func (a *App) setPassword(ctx context.Context, actor custos.Actor, userID int64, oldPassword, newPassword string) (*custos.Request, error) {
	u, err := a.db.Reader().User(ctx, userID)
	if err != nil {
		return nil, internal("load user", err)
	}
	self := actor.Kind == custos.ActorUser && actor.UserID == userID
	if self {
		hash, _, err := a.db.Reader().UserCredentials(ctx, userID)
		if err != nil {
			return nil, internal("load credentials", err)
		}
		if ok, _ := auth.VerifyPassword(hash, oldPassword); !ok {
			// A wrong current password is a failed sign-in: the same counter.
			err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
				if _, err := tx.RecordLoginFailure(ctx, userID, a.cfg.LockoutThreshold, a.cfg.LockoutDuration); err != nil {
					return err
				}
				return a.appendTx(ctx, tx, a.event(actor, "user.password", "", custos.OutcomeDenied, "bad_password"))
			})
			if err != nil {
				return nil, internal("record failure", err)
			}
			return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "old_password", Code: "wrong_password", Message: custos.Message{ZH: "原密码错误", EN: "wrong current password"}}}}).Err()
		}
		if oldPassword == newPassword {
			return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "password", Code: "unchanged", Message: custos.Message{ZH: "新密码不能与原密码相同", EN: "the new password must differ from the current one"}}}}).Err()
		}
	} else if err := a.requireSystem(ctx, actor, custos.ActUserAdmin); err != nil {
		return nil, err
	}
	if err := auth.CheckPassword(newPassword, u.Username); err != nil {
		var pv *auth.PolicyViolation
		errors.As(err, &pv)
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "password", Code: pv.Code, Message: custos.Message{ZH: pv.ZH, EN: pv.EN}}}}).Err()
	}
	hash := auth.HashPassword(newPassword)
	if !self {
		// An administrator who set a privileged account's password could
		// sign in as it: that reset waits for a second person (ResetPassword).
		if req, filed, err := a.privilegedReset(ctx, actor, userID, resetPassword, hash); filed || err != nil {
			return req, err
		}
	}
	return nil, internal("set password", a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.SetPassword(ctx, userID, hash, !self); err != nil {
			return err
		}
		what := "user.password"
		if !self {
			what = "user.password_reset"
			if err := endCredentials(ctx, tx, userID); err != nil {
				return err
			}
		}
		ev := custos.NewEvent(actor, what, custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "user", itoa(userID)
		return a.appendTx(ctx, tx, ev)
	}))
}

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

// CreateGrant gives a user time-limited access to a customer (R-C1, R-C2):
// the decision of someone who manages grants, on a customer of their unit
// or below, to staff of that unit, never to themselves (custos.DecideGrant).
func (a *App) CreateGrant(ctx context.Context, actor custos.Actor, in GrantInput) (*custos.Grant, error) {
	if err := a.requireSystem(ctx, actor, custos.ActGrantManage); err != nil {
		return nil, err
	}
	var v custos.Validation
	if in.Username != "" {
		u, err := a.db.Reader().UserByName(ctx, custos.NormalizeUsername(in.Username))
		if err == nil {
			in.UserID = u.ID
		} else {
			v.Addf("user_id", custos.CodeUnknown)
		}
	} else if in.UserID == 0 {
		v.Addf("user_id", custos.CodeRequired)
	}
	if in.CustomerID == "" {
		v.Addf("customer_id", custos.CodeRequired)
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
	as, err := a.assignment(ctx, in.UserID, in.CustomerID)
	if err != nil {
		return nil, err
	}
	if d := custos.DecideGrant(actor, as); !d.Allowed {
		return nil, a.refuseAssignment(ctx, actor, custos.ActGrantManage, in.CustomerID, d)
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

// errAssigneeUnknown answers for an assignee who is missing or outside the
// actor's unit alike.
var errAssigneeUnknown = (&custos.Validation{Fields: []custos.FieldError{{Field: "user_id", Code: custos.CodeUnknown,
	Message: custos.Message{ZH: "本机构及下级机构中没有此用户", EN: "no such user in your unit or below"}}}}).Err()

// errCustomerHidden answers for a customer that is missing or not the
// actor's to give, exactly as a read does (upspin: existence does not leak).
var errCustomerHidden = custos.ErrNotFound

// assignment gathers the facts of DecideAssignment and DecideGrant: the
// assignee and, when customerID is set, the customer.
func (a *App) assignment(ctx context.Context, userID int64, customerID string) (custos.Assignment, error) {
	var as custos.Assignment
	rd := a.db.Reader()
	u, err := rd.User(ctx, userID)
	if err != nil && !errors.Is(err, custos.ErrNotFound) {
		return as, internal("load user", err)
	}
	if err == nil {
		o, err := rd.Org(ctx, u.OrgID)
		if err != nil {
			return as, internal("load org", err)
		}
		as.AssigneeID, as.AssigneeRole, as.AssigneeOrgPath, as.AssigneeActive = u.ID, u.Role, o.Path, !u.Disabled
	}
	if customerID != "" {
		acl, err := rd.ACL(ctx, customerID, 0, a.now())
		if errors.Is(err, custos.ErrNotFound) {
			acl = custos.CustomerACL{CustomerID: customerID} // no unit: out of every scope
		} else if err != nil {
			return as, internal("load customer", err)
		}
		as.Customer = &acl
	}
	return as, nil
}

// refuseAssignment audits a refused assignment or grant and answers it: a
// customer the actor may not give is answered as missing, an assignee
// outside the actor's unit as unknown.
func (a *App) refuseAssignment(ctx context.Context, actor custos.Actor, act custos.Action, customerID string, d custos.Decision) error {
	var answer error
	switch d.Reason {
	case custos.DenyScope, custos.DenyProtected:
		answer = errCustomerHidden
	case custos.DenyAssigneeScope:
		answer = errAssigneeUnknown
	case custos.DenySelfAssignment:
		answer = (&custos.Validation{Fields: []custos.FieldError{{Field: "user_id", Code: custos.CodeNotAllowed,
			Message: custos.Message{ZH: "不能把客户或权限分配给自己", EN: "you cannot give a customer or access to yourself"}}}}).Err()
	case custos.DenyAssigneeRole:
		answer = (&custos.Validation{Fields: []custos.FieldError{{Field: "user_id", Code: custos.CodeNotAllowed,
			Message: custos.Message{ZH: "只有客户经理和管家可以管理客户名单", EN: "only account managers and butlers hold portfolios"}}}}).Err()
	default:
		answer = custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed")
	}
	return a.denied(ctx, actor, act, customerID, d.Reason, answer)
}

// AddPortfolio gives a customer or a building to a member of staff (R-C1).
// It is itself a decision (custos.DecideAssignment), audited either way;
// when an approval rule for portfolio assignments is set it files a
// request (returned) instead, and the assignment takes effect on approval.
func (a *App) AddPortfolio(ctx context.Context, actor custos.Actor, e custos.PortfolioEntry) (*custos.Request, error) {
	if (e.CustomerID == "") == (e.Building == "") {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "customer_id", Code: custos.CodeRequired, Message: custos.Message{ZH: "请指定客户或楼栋之一", EN: "name either a customer or a building"}}}}).Err()
	}
	if err := a.requireSystem(ctx, actor, custos.ActPortfolioManage); err != nil {
		return nil, err
	}
	as, err := a.assignment(ctx, e.UserID, e.CustomerID)
	if err != nil {
		return nil, err
	}
	if d := custos.DecideAssignment(actor, as); !d.Allowed {
		return nil, a.refuseAssignment(ctx, actor, custos.ActPortfolioManage, e.CustomerID, d)
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	if _, ruled := ref.rules[custos.KindPortfolio]; ruled && actor.Kind == custos.ActorUser {
		return a.requestPortfolio(ctx, actor, e, as)
	}
	err = a.adminWrite(ctx, actor, custos.ActPortfolioManage, "portfolio.add", func(tx *sqlstore.Tx) (string, error) {
		return a.portfolioRef(e), tx.AddPortfolio(ctx, e)
	})
	return nil, err
}

func (a *App) portfolioRef(e custos.PortfolioEntry) string {
	if e.CustomerID != "" {
		return a.customerRef(e.CustomerID)
	}
	return e.Building
}

// portfolioSubject is a portfolio request's subject: the assignee and,
// for a building, the building key (a place name, not personal data).
func portfolioSubject(e custos.PortfolioEntry) string {
	return fmt.Sprintf("portfolio:%d:%s", e.UserID, e.Building)
}

func parsePortfolioSubject(r *sqlstore.RequestRecord) (custos.PortfolioEntry, error) {
	rest, ok := strings.CutPrefix(r.SubjectID, "portfolio:")
	uid, building, ok2 := strings.Cut(rest, ":")
	id, err := strconv.ParseInt(uid, 10, 64)
	if !ok || !ok2 || err != nil {
		return custos.PortfolioEntry{}, fmt.Errorf("portfolio request %d names no assignment", r.ID)
	}
	return custos.PortfolioEntry{UserID: id, CustomerID: r.CustomerID, Building: building}, nil
}

func (a *App) requestPortfolio(ctx context.Context, actor custos.Actor, e custos.PortfolioEntry, as custos.Assignment) (*custos.Request, error) {
	orgID := actor.OrgID
	if rec, err := a.db.Reader().Customer(ctx, e.CustomerID); err == nil {
		orgID = rec.OrgID
	}
	what := e.Building
	if e.CustomerID != "" {
		what = "customer"
	}
	var out *custos.Request
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		r, err := a.newRequest(ctx, tx, actor, custos.KindPortfolio, orgID, e.CustomerID, "portfolio",
			fmt.Sprintf("%s → user %d (%s)", what, e.UserID, as.AssigneeRole))
		if err != nil {
			return err
		}
		r.SubjectID = portfolioSubject(e)
		if err := a.insertRequest(ctx, tx, actor, r, nil, nil); err != nil {
			return err
		}
		out = &r.Request
		return nil
	})
	if err != nil {
		return nil, internal("request portfolio", err)
	}
	a.notifyFiled(ctx, out)
	return out, nil
}

// applyPortfolio makes an approved assignment take effect, deciding it
// again for the requester: their unit or the customer may have moved.
func (a *App) applyPortfolio(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	e, err := parsePortfolioSubject(r)
	if err != nil {
		return err
	}
	if e.UserID == approver.UserID {
		return custos.Errorf(custos.EForbidden, "不能批准把客户分配给自己", "you cannot approve an assignment to yourself")
	}
	// Decided again as of now: the customer may have become protected, the
	// assignee moved or left, the requester moved, since it was filed.
	requester, err := tx.User(ctx, r.RequestedBy)
	if err != nil {
		return err
	}
	ro, err := tx.Org(ctx, requester.OrgID)
	if err != nil {
		return err
	}
	as, err := a.assignment(ctx, e.UserID, e.CustomerID)
	if err != nil {
		return err
	}
	if d := custos.DecideAssignment(ActorFor(requester, ro, "", "", "", ""), as); !d.Allowed {
		return custos.Errorf(custos.EConflict, "分配条件在申请后已变化，只能驳回", "what the assignment rests on changed after it was filed; reject it")
	}
	if err := tx.AddPortfolio(ctx, e); err != nil {
		return err
	}
	ev := custos.NewEvent(approver, "portfolio.add", custos.OutcomeOK)
	ev.TargetType, ev.TargetRef = "portfolio", a.portfolioRef(e)
	ev.Detail = detail(map[string]any{"request": r.ID, "requested_by": r.RequestedBy, "user_id": e.UserID})
	return a.appendTx(ctx, tx, ev)
}

// RemovePortfolio takes a customer or a building out of a portfolio: only
// for holders within the actor's unit and below (custos.DecideUnassignment).
func (a *App) RemovePortfolio(ctx context.Context, actor custos.Actor, e custos.PortfolioEntry) error {
	if err := a.requireSystem(ctx, actor, custos.ActPortfolioManage); err != nil {
		return err
	}
	as, err := a.assignment(ctx, e.UserID, "")
	if err != nil {
		return err
	}
	if d := custos.DecideUnassignment(actor, as); !d.Allowed {
		return a.refuseAssignment(ctx, actor, custos.ActPortfolioManage, "", d)
	}
	return a.adminWrite(ctx, actor, custos.ActPortfolioManage, "portfolio.remove", func(tx *sqlstore.Tx) (string, error) {
		return a.portfolioRef(e), tx.RemovePortfolio(ctx, e)
	})
}

// Portfolio lists a user's assignments.
func (a *App) Portfolio(ctx context.Context, actor custos.Actor, userID int64) ([]custos.PortfolioEntry, error) {
	if userID != actor.UserID {
		if err := a.requireSystem(ctx, actor, custos.ActPortfolioManage); err != nil {
			return nil, err
		}
		// Only a holder of the actor's own unit or below: a portfolio
		// names customers (upspin: others' answer as unknown).
		as, err := a.assignment(ctx, userID, "")
		if err != nil {
			return nil, err
		}
		if d := custos.DecideUnassignment(actor, as); !d.Allowed || as.AssigneeID == 0 {
			return nil, a.denied(ctx, actor, custos.ActPortfolioManage, "", custos.DenyAssigneeScope, custos.ErrNotFound)
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
