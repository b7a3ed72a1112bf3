package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Separation of duties (三员分立, GB/T 22239-2019) and the governance
// requests no single administrator decides alone: creating or raising a
// privileged account, changing an approval rule, changing the retention
// policy. Each is filed as a request of the approval engine and takes
// effect only when a second authorised person approves it
// (custos.Request.MayApprove: never the requester, never the account
// concerned). The floors no rule may go below are the domain's
// (custos.ApprovalFloors).

// Payloads of requests that concern no customer are sealed directly under
// the key-encryption key, bound to the request. A request still pending
// when the KEK versions it was sealed under are destroyed (destruction
// rotates the KEK) can no longer be read and must be filed again.
func systemPayloadPurpose(id int64) string { return fmt.Sprintf("request|%d", id) }

var errPayloadGone = custos.Errorf(custos.EConflict, "申请内容已无法读取（密钥已轮换），请重新提交", "the request can no longer be read (the keys were rotated); file it again")

func (a *App) sealSystemPayload(ctx context.Context, tx *sqlstore.Tx, r *sqlstore.RequestRecord, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	defer clear(b)
	if r.PayloadCT, err = a.keys.Sealer.SealSystem(systemPayloadPurpose(r.ID), b); err != nil {
		return err
	}
	return tx.SetRequestPayload(ctx, r.ID, r.PayloadCT)
}

func (a *App) openSystemPayload(r *sqlstore.RequestRecord, v any) error {
	b, err := a.keys.Sealer.OpenSystem(systemPayloadPurpose(r.ID), r.PayloadCT)
	if err != nil {
		return errPayloadGone
	}
	defer clear(b)
	return json.Unmarshal(b, v)
}

// fileSystemRequest files a governance request with its sealed payload.
func (a *App) fileSystemRequest(ctx context.Context, actor custos.Actor, kind custos.RequestKind, orgID int64, subject, reason, summary string, payload any) (*custos.Request, error) {
	var out *custos.Request
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		r, err := a.newRequest(ctx, tx, actor, kind, orgID, "", reason, summary)
		if err != nil {
			return err
		}
		r.SubjectID = subject
		if err := a.insertRequest(ctx, tx, actor, r, nil, nil); err != nil {
			return err
		}
		if err := a.sealSystemPayload(ctx, tx, r, payload); err != nil {
			return err
		}
		out = &r.Request
		return nil
	})
	if err != nil {
		return nil, internal("file "+string(kind), err)
	}
	a.notifyFiled(ctx, out)
	return out, nil
}

// AccountPayload is the payload of a privileged-account request: the
// account to create (with its password, only as its argon2id hash, which
// is wiped once the request has ended), or the account to raise.
type AccountPayload struct {
	UserID       int64       `json:"user_id,omitempty"` // a role change: the account
	Username     string      `json:"username"`
	DisplayName  string      `json:"display_name,omitempty"`
	Email        string      `json:"email,omitempty"`
	OrgID        int64       `json:"org_id"`
	FromRole     custos.Role `json:"from_role,omitempty"`
	Role         custos.Role `json:"role"`
	PasswordHash string      `json:"password_hash,omitempty"`
	// Reset: the request resets an existing privileged account's
	// credentials instead ("password", "mfa") or enables it again ("enable").
	Reset string `json:"reset,omitempty"`
}

// What a privileged-account request may reset.
const (
	resetPassword = "password"
	resetMFA      = "mfa"
	resetEnable   = "enable"
)

// privilegedReset files, for a privileged account, the reset of its
// password or second factor, or its re-enabling, as a request a second
// authorised person approves — and the reset of any account that reaches
// customers, whose one-time password would otherwise let the administrator
// sign in as it; filed is false (and nothing happens) for any other
// account, whose reset the caller then makes at once.
func (a *App) privilegedReset(ctx context.Context, actor custos.Actor, userID int64, what, hash string) (*custos.Request, bool, error) {
	if err := a.requireSystem(ctx, actor, custos.ActUserAdmin); err != nil {
		return nil, false, err
	}
	if actor.Kind != custos.ActorUser {
		return nil, false, nil
	}
	rd := a.db.Reader()
	u, err := rd.User(ctx, userID)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, false, custos.ErrNotFound
	}
	if err != nil {
		return nil, false, internal("load user", err)
	}
	org, err := rd.Org(ctx, u.OrgID)
	if err != nil {
		return nil, false, internal("load org", err)
	}
	if !custos.PrivilegedAccount(u.Role, org.Kind) && !(what != resetEnable && custos.ReachesCustomers(u.Role)) {
		return nil, false, nil
	}
	// A fresh installation has nobody to approve (see CreateUser).
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, false, err
	}
	if boot, err := rd.Bootstrapping(ctx, ref.rules[custos.KindPrivilege].Roles); err != nil || boot {
		return nil, false, internal("bootstrap", err)
	}
	p := AccountPayload{UserID: u.ID, Username: u.Username, OrgID: u.OrgID, FromRole: u.Role, Role: u.Role, PasswordHash: hash, Reset: what}
	req, err := a.fileSystemRequest(ctx, actor, custos.KindPrivilege, u.OrgID, custos.UserSubject(u.ID), "reset "+what,
		fmt.Sprintf("reset %s · %s · %s", what, u.Username, u.Role), p)
	return req, err == nil, err
}

// applyReset resets an approved privileged account's credentials: a
// one-time password or no second factor, ending its sessions and tokens;
// or enables it again.
func (a *App) applyReset(ctx context.Context, tx *sqlstore.Tx, p AccountPayload) (string, error) {
	u, err := tx.User(ctx, p.UserID)
	if err != nil {
		return "", err
	}
	switch p.Reset {
	case resetPassword:
		if err := tx.SetPassword(ctx, u.ID, p.PasswordHash, true); err != nil {
			return "", err
		}
		return "user.password_reset", endCredentials(ctx, tx, u.ID)
	case resetMFA:
		if err := tx.SetTOTP(ctx, u.ID, nil, false); err != nil {
			return "", err
		}
		return "user.mfa_reset", endCredentials(ctx, tx, u.ID)
	case resetEnable:
		u.Disabled = false
		return "user.disable", tx.UpdateUser(ctx, u)
	}
	return "", fmt.Errorf("privileged-account request: unknown reset %q", p.Reset)
}

// requestPrivilegedUser files the creation of a privileged account.
func (a *App) requestPrivilegedUser(ctx context.Context, actor custos.Actor, u *custos.User, hash string) (*custos.Request, error) {
	if _, err := a.db.Reader().UserByName(ctx, u.Username); err == nil {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "username", Code: custos.CodeDuplicate, Message: custos.StandardMessage(custos.CodeDuplicate)}}}).Err()
	} else if !errors.Is(err, custos.ErrNotFound) {
		return nil, internal("load user", err)
	}
	p := AccountPayload{Username: u.Username, DisplayName: u.DisplayName, Email: u.Email, OrgID: u.OrgID, Role: u.Role, PasswordHash: hash}
	return a.fileSystemRequest(ctx, actor, custos.KindPrivilege, u.OrgID, "", "new account",
		fmt.Sprintf("create · %s · %s", u.Username, u.Role), p)
}

// SetUserRole changes a user's role (the security administrator's duty).
// Raising an account to a privileged role, or to one reaching the whole
// organisation from the head office, only files a request that a second
// person approves (the request is returned); any other change takes
// effect at once (the user is returned).
//
// Errors: EInvalid (unknown role, same role), ENotFound, EForbidden.
func (a *App) SetUserRole(ctx context.Context, actor custos.Actor, userID int64, role custos.Role, reason string) (*custos.User, *custos.Request, error) {
	if err := a.requireSystem(ctx, actor, custos.ActRoleManage); err != nil {
		return nil, nil, err
	}
	rd := a.db.Reader()
	u, err := rd.User(ctx, userID)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, nil, custos.ErrNotFound
	}
	if err != nil {
		return nil, nil, internal("load user", err)
	}
	var v custos.Validation
	if !role.Valid() {
		v.Addf("role", custos.CodeNotAllowed)
	} else if role == u.Role {
		v.Add("role", custos.CodeNotAllowed, custos.Message{ZH: "用户已是该角色", EN: "the user already has this role"})
	}
	if strings.TrimSpace(reason) == "" {
		v.Addf("reason", custos.CodeRequired)
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	org, err := rd.Org(ctx, u.OrgID)
	if err != nil {
		return nil, nil, internal("load org", err)
	}
	if custos.PrivilegedAccount(role, org.Kind) {
		p := AccountPayload{UserID: u.ID, Username: u.Username, OrgID: u.OrgID, FromRole: u.Role, Role: role}
		req, err := a.fileSystemRequest(ctx, actor, custos.KindPrivilege, u.OrgID, custos.UserSubject(u.ID), strings.TrimSpace(reason),
			fmt.Sprintf("role · %s · %s → %s", u.Username, u.Role, role), p)
		return nil, req, err
	}
	from := u.Role
	err = a.adminWrite(ctx, actor, custos.ActRoleManage, "user.role", func(tx *sqlstore.Tx) (string, error) {
		cur, err := tx.User(ctx, userID)
		if err != nil {
			return "", err
		}
		if cur.Role != from {
			return "", custos.Errorf(custos.EConflict, "用户角色已被他人修改，请刷新", "the role changed meanwhile; reload")
		}
		cur.Role = role
		u = cur
		return itoa(userID), tx.UpdateUser(ctx, cur)
	})
	if err != nil {
		return nil, nil, err
	}
	return u, nil, nil
}

// applyPrivilege creates or raises the account of an approved request.
func (a *App) applyPrivilege(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	var p AccountPayload
	if err := a.openSystemPayload(r, &p); err != nil {
		return err
	}
	var ev custos.AuditEvent
	if p.Reset != "" {
		what, err := a.applyReset(ctx, tx, p)
		if err != nil {
			return err
		}
		ev = custos.NewEvent(approver, what, custos.OutcomeOK)
		ev.TargetRef = itoa(p.UserID)
	} else if p.UserID == 0 {
		// The requester chose the password: it is one-time (R-C4).
		u := &custos.User{Username: p.Username, DisplayName: p.DisplayName, Email: p.Email, OrgID: p.OrgID, Role: p.Role, MustChangePassword: true}
		if err := tx.CreateUser(ctx, u, p.PasswordHash); err != nil {
			return err
		}
		ev = custos.NewEvent(approver, "user.create", custos.OutcomeOK)
		ev.TargetRef = itoa(u.ID)
	} else {
		u, err := tx.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		if u.Role != p.FromRole {
			return custos.Errorf(custos.EConflict, "用户角色在申请后已被修改，请重新提交", "the role changed after the request was filed; file it again")
		}
		u.Role = p.Role
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		ev = custos.NewEvent(approver, "user.role", custos.OutcomeOK)
		ev.TargetRef = itoa(u.ID)
	}
	ev.TargetType = "user"
	ev.Detail = detail(map[string]any{"role": p.Role, "request": r.ID, "requested_by": r.RequestedBy})
	if err := a.appendTx(ctx, tx, ev); err != nil {
		return err
	}
	return a.wipeSecrets(ctx, tx, r)
}

// wipeSecrets drops the password hash from an ended privileged-account
// request: it is needed only until the account exists.
func (a *App) wipeSecrets(ctx context.Context, tx *sqlstore.Tx, r *sqlstore.RequestRecord) error {
	if r.Kind != custos.KindPrivilege || len(r.PayloadCT) == 0 {
		return nil
	}
	var p AccountPayload
	if err := a.openSystemPayload(r, &p); err != nil || p.PasswordHash == "" {
		return nil // nothing readable is left to wipe
	}
	p.PasswordHash = ""
	return a.sealSystemPayload(ctx, tx, r, p)
}

// RuleChangePayload is the payload of an approval-rule request: the rule
// as it would be, and as it was when the request was filed.
type RuleChangePayload struct {
	Rule custos.ApprovalRule  `json:"rule"`
	Was  *custos.ApprovalRule `json:"was,omitempty"`
}

// PutApprovalRule asks to change who approves a kind of request (the
// security administrator's duty). The rule must keep the kind's floor
// (custos.ApprovalFloors: e.g. two approvers for a destruction, never an
// account manager approving account managers' changes); the change takes
// effect only once a second authorised person approves the request.
//
// Errors: EInvalid (a rule below its floor, or malformed), EForbidden.
func (a *App) PutApprovalRule(ctx context.Context, actor custos.Actor, r custos.ApprovalRule) (*custos.Request, error) {
	if err := a.requireSystem(ctx, actor, custos.ActPolicyManage); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	p := RuleChangePayload{Rule: r}
	if rules, err := a.db.Reader().ApprovalRules(ctx); err == nil {
		if was, ok := rules[r.Kind]; ok {
			p.Was = &was
		}
	} else {
		return nil, internal("rules", err)
	}
	return a.fileSystemRequest(ctx, actor, custos.KindRuleChange, actor.OrgID, "rule:"+string(r.Kind), "approval rule", string(r.Kind), p)
}

func (a *App) applyRuleChange(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	var p RuleChangePayload
	if err := a.openSystemPayload(r, &p); err != nil {
		return err
	}
	if err := p.Rule.Validate(); err != nil { // the floors may have risen since
		return err
	}
	if err := tx.PutApprovalRule(ctx, p.Rule); err != nil {
		return err
	}
	ev := custos.NewEvent(approver, "approval_rule.put", custos.OutcomeOK)
	ev.TargetType, ev.TargetRef = "approval_rule", string(p.Rule.Kind)
	ev.Detail = detail(map[string]any{"roles": p.Rule.Roles, "required": p.Rule.Required, "scope": p.Rule.Scope, "request": r.ID, "requested_by": r.RequestedBy})
	return a.appendTx(ctx, tx, ev)
}

// SetRetentionPolicy asks to replace the retention policy (the security
// administrator's duty). It must keep every record type at least as long
// as its preset (R-F1) and takes effect only once a second authorised
// person approves the request.
//
// Errors: EInvalid (a period below the preset), EForbidden.
func (a *App) SetRetentionPolicy(ctx context.Context, actor custos.Actor, p custos.RetentionPolicy) (*custos.Request, error) {
	if err := a.requireSystem(ctx, actor, custos.ActPolicyManage); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return a.fileSystemRequest(ctx, actor, custos.KindRetentionPolicy, actor.OrgID, "setting:"+settingRetention, "retention policy", p.Preset, p)
}

func (a *App) applyRetentionPolicy(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	var p custos.RetentionPolicy
	if err := a.openSystemPayload(r, &p); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := tx.SetSetting(ctx, settingRetention, string(b)); err != nil {
		return err
	}
	ev := custos.NewEvent(approver, "retention.policy", custos.OutcomeOK)
	ev.TargetType, ev.TargetRef = "retention", p.Preset
	ev.Detail = detail(map[string]any{"request": r.ID, "requested_by": r.RequestedBy})
	return a.appendTx(ctx, tx, ev)
}

// describeSystemPayload shows a governance request's content to those who
// may see the request; the password hash never leaves.
func (a *App) describeSystemPayload(r *sqlstore.RequestRecord, v *RequestView) {
	switch r.Kind {
	case custos.KindPrivilege:
		var p AccountPayload
		if a.openSystemPayload(r, &p) == nil {
			p.PasswordHash = ""
			v.Account = &p
		}
	case custos.KindRuleChange:
		var p RuleChangePayload
		if a.openSystemPayload(r, &p) == nil {
			v.Rule = &p
		}
	case custos.KindRetentionPolicy:
		var p custos.RetentionPolicy
		if a.openSystemPayload(r, &p) == nil {
			v.Policy = &p
		}
	}
}
