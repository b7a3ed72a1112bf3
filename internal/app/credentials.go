package app

import (
	"context"
	"errors"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/auth"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Credentials presented outside a web login: by the CLI for the person it
// acts for (R-C4), and by a witness or a handover party who confirms an act
// by signing in at that moment (R-F3, R-G1). They are checked like a login
// — the same lockout counters, the second factor where the user or role
// needs one, every failure audited — but open no session.

// ErrMustChangePassword refuses a one-time password anywhere but the
// change of password itself.
var ErrMustChangePassword = custos.Errorf(custos.EForbidden, "须先修改管理员设置的一次性密码（登录网页或运行 custos password）", "change the one-time password an administrator set first (sign in to the web UI or run custos password)")

// ErrTOTPMissing asks for the one-time code of a user who has a second
// factor; the CLI then reads it and tries again.
var ErrTOTPMissing = custos.Errorf(custos.EMFARequired, "请输入动态验证码", "enter your one-time code")

var errMFAEnrol = custos.Errorf(custos.EMFARequired, "该用户须先在网页登录时启用动态口令", "this user must enrol a second factor at a web sign-in first")

// verifyPerson checks c as the credential of one person now. action names
// the audit event of a failure ("login" for the CLI; the act being
// confirmed for a witness or a signing party). A one-time password passes:
// the callers decide whether it may.
func (a *App) verifyPerson(ctx context.Context, c Credentials, action string) (*custos.User, error) {
	now := a.now()
	name := custos.NormalizeUsername(c.Username)
	// As at the login: until the name is known it is kept only as a
	// bounded keyed reference (strangers.go), never in clear.
	actor := custos.Actor{Kind: custos.ActorUser, Username: a.strangerName(name), ClientAddr: c.ClientAddr, Via: c.Via}
	fail := func(reason string, answer error) (*custos.User, error) {
		if err := a.record(ctx, a.event(actor, custos.Action(action), "", custos.OutcomeDenied, reason)); err != nil {
			return nil, err
		}
		return nil, answer
	}
	u, totpCT, err := a.checkPassword(ctx, c, custos.Action(action), &actor)
	if err != nil {
		return nil, err
	}
	countFailure := func(reason string, answer error) (*custos.User, error) {
		if err := a.countFailure(ctx, u, actor, custos.Action(action), reason); err != nil {
			return nil, err
		}
		return nil, answer
	}
	if u.MFAEnabled {
		secret, err := a.keys.Sealer.OpenSystem(totpPurpose(u.ID), totpCT)
		if err != nil {
			return nil, internal("open totp secret", err)
		}
		if c.TOTP == "" {
			return fail("mfa_missing", ErrTOTPMissing)
		}
		if !auth.CheckTOTP(string(secret), c.TOTP, now) {
			return countFailure("mfa_wrong", custos.Errorf(custos.EMFARequired, "动态验证码错误", "wrong one-time code"))
		}
	} else if a.mfaRequired(u) {
		return fail("mfa_enrolment_required", errMFAEnrol)
	}
	if err := a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.RecordLoginSuccess(ctx, u.ID) }); err != nil {
		return nil, internal("record login", err)
	}
	return u, nil
}

// Authenticate checks the credentials of the person a CLI command acts
// for and returns their actor (R-C4). A one-time password is refused: it
// must be changed first. The success is audited as a login.
func (a *App) Authenticate(ctx context.Context, c Credentials, purpose string) (custos.Actor, error) {
	u, err := a.verifyPerson(ctx, c, "login")
	if err != nil {
		return custos.Actor{}, err
	}
	org, err := a.db.Reader().Org(ctx, u.OrgID)
	if err != nil {
		return custos.Actor{}, internal("load org", err)
	}
	actor := ActorFor(u, org, c.Via, c.ClientAddr, "", purpose)
	if u.MustChangePassword {
		return custos.Actor{}, a.denied(ctx, actor, "login", "", "must_change_password", ErrMustChangePassword)
	}
	if err := a.record(ctx, a.event(actor, "login", "", custos.OutcomeOK, "")); err != nil {
		return custos.Actor{}, err
	}
	return actor, nil
}

// RefuseMissingCredential audits a CLI command refused because the person
// it names gave no credential at all (no terminal, standard input ended):
// a failed login that tried no password, so it counts toward no lockout.
func (a *App) RefuseMissingCredential(ctx context.Context, username, via, clientAddr string) error {
	name := custos.NormalizeUsername(username)
	if len(name) > 64 {
		name = name[:64]
	}
	actor := custos.Actor{Kind: custos.ActorUser, Username: name, Via: via, ClientAddr: clientAddr}
	return a.record(ctx, a.event(actor, "login", "", custos.OutcomeDenied, "credential_missing"))
}

// AuthenticateToken checks an API token presented outside the API (the CLI
// reads CUSTOS_TOKEN and checks it against the store it opens) exactly as
// the API does — hash, expiry, revocation, the user's state, its scopes —
// and audits a refusal like a failed login.
func (a *App) AuthenticateToken(ctx context.Context, token, via, clientAddr, purpose string) (custos.Actor, error) {
	actor, err := a.TokenActor(ctx, token, clientAddr, "")
	if err != nil {
		if custos.ErrorCodeOf(err) == custos.EUnauthenticated {
			fail := custos.Actor{Kind: custos.ActorUser, Via: via, ClientAddr: clientAddr}
			return custos.Actor{}, a.denied(ctx, fail, "login", "", "bad_token", err)
		}
		return custos.Actor{}, err
	}
	actor.Via, actor.Purpose = via, purpose
	return actor, nil
}

// ChangeOwnPassword is the change of password with the old credentials
// (the CLI's custos password): the one thing a one-time password is good for.
func (a *App) ChangeOwnPassword(ctx context.Context, c Credentials, newPassword string) error {
	u, err := a.verifyPerson(ctx, c, "login")
	if err != nil {
		return err
	}
	org, err := a.db.Reader().Org(ctx, u.OrgID)
	if err != nil {
		return internal("load org", err)
	}
	return a.SetPassword(ctx, ActorFor(u, org, c.Via, c.ClientAddr, "", ""), u.ID, c.Password, newPassword)
}

// confirmParty checks the credentials of a person confirming an act in
// person (a destruction witness, a handover party) and turns a refusal
// into an error on the form field that asked for them.
func (a *App) confirmParty(ctx context.Context, c Credentials, action, field string) (*custos.User, error) {
	u, err := a.verifyPerson(ctx, c, action)
	if err == nil && u.MustChangePassword {
		err = ErrMustChangePassword
	}
	if err == nil {
		return u, nil
	}
	var ce *custos.Error
	if !errors.As(err, &ce) || ce.Code == custos.EInternal || ce.Code == custos.EAuditUnavailable {
		return nil, err
	}
	code := "wrong_credentials"
	switch ce.Code {
	case custos.ELocked:
		code = "locked"
	case custos.EMFARequired:
		code = "mfa_required"
	case custos.EForbidden:
		code = "must_change_password"
	}
	return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: field, Code: code, Message: ce.Message}}}).Err()
}

// TokenInfo describes a stored API token; the secret is never shown again.
type TokenInfo struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// mayManageTokens says whether actor may see and revoke userID's tokens:
// their own, or as a user administrator.
func mayManageTokens(actor custos.Actor, userID int64) bool {
	return actor.Kind == custos.ActorUser && actor.UserID == userID || custos.Allowed(actor, custos.ActUserAdmin).Allowed
}

// Tokens lists a user's API tokens: users their own, administrators anyone's.
// Codes: ENotFound (no such user, or not the caller's to see).
func (a *App) Tokens(ctx context.Context, actor custos.Actor, userID int64) ([]TokenInfo, error) {
	if !mayManageTokens(actor, userID) {
		return nil, a.denied(ctx, actor, custos.ActUserAdmin, "", custos.DenyRole, custos.ErrNotFound)
	}
	ts, err := a.db.Reader().Tokens(ctx, userID)
	if err != nil {
		return nil, internal("list tokens", err)
	}
	out := make([]TokenInfo, 0, len(ts))
	for _, t := range ts {
		sc := t.Scopes
		if sc == nil {
			sc = []string{}
		}
		out = append(out, TokenInfo{ID: t.ID, UserID: t.UserID, Name: t.Name, Scopes: sc, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt})
	}
	return out, nil
}

// RevokeToken revokes an API token: the owner's own, or any as an
// administrator. Codes: ENotFound (missing, already revoked, or not the
// caller's).
func (a *App) RevokeToken(ctx context.Context, actor custos.Actor, tokenID int64) error {
	t, err := a.db.Reader().TokenByID(ctx, tokenID)
	if errors.Is(err, custos.ErrNotFound) {
		return custos.ErrNotFound
	}
	if err != nil {
		return internal("load token", err)
	}
	if !mayManageTokens(actor, t.UserID) {
		return a.denied(ctx, actor, custos.ActUserAdmin, "", custos.DenyRole, custos.ErrNotFound)
	}
	var refusal error
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		refusal = nil
		if err := tx.RevokeToken(ctx, t.ID, t.UserID); errors.Is(err, custos.ErrNotFound) {
			refusal = custos.ErrNotFound
			return nil
		} else if err != nil {
			return err
		}
		ev := custos.NewEvent(actor, "token.revoke", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "user", itoa(t.UserID)
		ev.Detail = detail(map[string]any{"token_id": t.ID})
		return a.appendTx(ctx, tx, ev)
	})
	if refusal != nil {
		return refusal
	}
	return internal("revoke token", err)
}

// ResetSecondFactor clears a user's TOTP secret (an administrator's act,
// for a lost device) and ends their sessions and tokens; a role that needs
// a second factor enrols a new one at the next sign-in. Codes: EForbidden,
// ENotFound.
func (a *App) ResetSecondFactor(ctx context.Context, actor custos.Actor, userID int64) (*custos.Request, error) {
	if actor.UserID == userID {
		return nil, a.denied(ctx, actor, custos.ActUserAdmin, "", "self_reset", custos.Errorf(custos.EForbidden, "不能重置自己的动态口令", "you cannot reset your own second factor"))
	}
	if req, filed, err := a.privilegedReset(ctx, actor, userID, resetMFA, ""); filed || err != nil {
		return req, err
	}
	return nil, a.adminWrite(ctx, actor, custos.ActUserAdmin, "user.mfa_reset", func(tx *sqlstore.Tx) (string, error) {
		if _, err := tx.User(ctx, userID); err != nil {
			return "", err
		}
		if err := tx.SetTOTP(ctx, userID, nil, false); err != nil {
			return "", err
		}
		return itoa(userID), endCredentials(ctx, tx, userID)
	})
}

// endCredentials ends every session and revokes every token of a user
// whose credentials someone else has just reset.
func endCredentials(ctx context.Context, tx *sqlstore.Tx, userID int64) error {
	if err := tx.DeleteUserSessions(ctx, userID); err != nil {
		return err
	}
	_, err := tx.RevokeUserTokens(ctx, userID)
	return err
}

// NoUsers reports whether the store has no user yet: the CLI then creates
// the first administrator without a credential.
func (a *App) NoUsers(ctx context.Context) (bool, error) {
	none, err := a.db.Reader().NoUsers(ctx)
	return none, internal("count users", err)
}
