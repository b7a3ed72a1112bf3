package app

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/auth"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Session is an authenticated web session as the web layer sees it.
type Session struct {
	Token     string // the cookie value; only its hash is stored
	User      *custos.User
	Org       *custos.Org
	MFAPassed bool // false: the session may only enrol or enter a second factor
	Purpose   string
	Lang      string
	ExpiresAt time.Time
	idHash    []byte
}

// Credentials is a login attempt.
type Credentials struct {
	Username   string
	Password   string
	TOTP       string
	ClientAddr string
	Lang       string
	Via        string
}

var (
	errBadLogin     = custos.Errorf(custos.EUnauthenticated, "用户名或密码错误", "wrong username or password")
	errLoginLimited = custos.Errorf(custos.ERateLimited, "尝试过于频繁，请稍后再试", "too many attempts; try again later")
)

// mfaRequired reports whether a user must pass a second factor.
func (a *App) mfaRequired(u *custos.User) bool {
	return u.MFAEnabled || slices.Contains(a.cfg.MFARoles, u.Role)
}

// Login checks credentials (R-C4, R-D4): rate limited per client address,
// constant-time for unknown users, locking the account after repeated
// failures, asking for the TOTP code when the user or role needs one. Every
// attempt is audited: an unknown name only as a keyed reference, refusals
// of the rate limit as counts (strangers.go).
func (a *App) Login(ctx context.Context, c Credentials) (*Session, error) {
	now := a.now()
	name := custos.NormalizeUsername(c.Username)
	// Until the name is known it is a stranger's and is kept only as a
	// bounded reference (strangers.go).
	actor := custos.Actor{Kind: custos.ActorUser, Username: a.strangerName(name), ClientAddr: c.ClientAddr, Via: c.Via}
	fail := func(reason string, answer error) (*Session, error) {
		if err := a.record(ctx, a.event(actor, "login", "", custos.OutcomeDenied, reason)); err != nil {
			return nil, err
		}
		return nil, answer
	}
	if err := a.limitAttempt(ctx, scopeLogin, actor, "login", now, errLoginLimited); err != nil {
		return nil, err
	}
	u, totpCT, err := a.checkPassword(ctx, c, "login", &actor)
	if err != nil {
		return nil, err
	}
	mfaPassed := !a.mfaRequired(u)
	if u.MFAEnabled {
		secret, err := a.keys.Sealer.OpenSystem(totpPurpose(u.ID), totpCT)
		if err != nil {
			return nil, internal("open totp secret", err)
		}
		if c.TOTP == "" {
			return fail("mfa_missing", custos.Errorf(custos.EMFARequired, "请输入动态验证码", "enter your one-time code"))
		}
		if !auth.CheckTOTP(string(secret), c.TOTP, now) {
			// Counted and audited in one write, which fails closed.
			if err := a.countFailure(ctx, u, actor, "login", "mfa_wrong"); err != nil {
				return nil, err
			}
			return nil, custos.Errorf(custos.EMFARequired, "动态验证码错误", "wrong one-time code")
		}
		mfaPassed = true
	}
	token, idHash := auth.NewSecret(auth.SessionPrefix)
	s := &sqlstore.Session{IDHash: idHash, UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(a.cfg.SessionAbsolute),
		MFAPassed: mfaPassed, Lang: c.Lang, ClientAddr: c.ClientAddr}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.RecordLoginSuccess(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, s); err != nil {
			return err
		}
		reason := ""
		if !mfaPassed {
			reason = "mfa_enrolment_required"
		}
		return a.appendTx(ctx, tx, a.event(actor, "login", "", custos.OutcomeOK, reason))
	})
	if err != nil {
		return nil, internal("create session", err)
	}
	org, _ := a.db.Reader().Org(ctx, u.OrgID)
	return &Session{Token: token, User: u, Org: org, MFAPassed: mfaPassed, Lang: c.Lang, ExpiresAt: s.ExpiresAt, idHash: idHash}, nil
}

// checkPassword is the first half of every sign-in (the web login, the
// CLI, a witness, a signing party): the user by name, not disabled, not
// locked, the right password. Each refusal is audited under action with
// actor, which starts as the stranger's reference and is completed once
// the user is known; a wrong password counts towards the lockout. It
// returns the user and their sealed TOTP secret.
func (a *App) checkPassword(ctx context.Context, c Credentials, action custos.Action, actor *custos.Actor) (*custos.User, []byte, error) {
	name := custos.NormalizeUsername(c.Username)
	fail := func(reason string, answer error) (*custos.User, []byte, error) {
		if err := a.record(ctx, a.event(*actor, action, "", custos.OutcomeDenied, reason)); err != nil {
			return nil, nil, err
		}
		return nil, nil, answer
	}
	if len(name) > MaxLoginName {
		auth.BurnTime(c.Password)
		return fail("unknown_user", errBadLogin)
	}
	u, err := a.db.Reader().UserByName(ctx, name)
	if errors.Is(err, custos.ErrNotFound) {
		auth.BurnTime(c.Password)
		return fail("unknown_user", errBadLogin)
	}
	if err != nil {
		return nil, nil, internal("load user", err)
	}
	actor.Username = u.Username
	actor.UserID, actor.Role, actor.OrgID = u.ID, u.Role, u.OrgID
	if u.Disabled {
		auth.BurnTime(c.Password)
		return fail("disabled", errBadLogin)
	}
	if a.now().Before(u.LockedUntil) {
		auth.BurnTime(c.Password)
		return fail("locked", custos.Errorf(custos.ELocked, "账户因多次登录失败已锁定，请稍后再试或联系管理员", "account locked after repeated failures; try later or ask an administrator"))
	}
	hash, totpCT, err := a.db.Reader().UserCredentials(ctx, u.ID)
	if err != nil {
		return nil, nil, internal("load credentials", err)
	}
	if ok, err := auth.VerifyPassword(hash, c.Password); err != nil || !ok {
		if err := a.countFailure(ctx, u, *actor, action, "bad_password"); err != nil {
			return nil, nil, err
		}
		return nil, nil, errBadLogin
	}
	return u, totpCT, nil
}

// countFailure records a failed sign-in of a known user: the lockout
// counter and its audit event ("…_locked" when it locked the account).
func (a *App) countFailure(ctx context.Context, u *custos.User, actor custos.Actor, action custos.Action, reason string) error {
	werr := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		n, err := tx.RecordLoginFailure(ctx, u.ID, a.cfg.LockoutThreshold, a.cfg.LockoutDuration)
		if err != nil {
			return err
		}
		ev := a.event(actor, action, "", custos.OutcomeDenied, reason)
		if n >= a.cfg.LockoutThreshold {
			ev.Reason = reason + "_locked"
		}
		return a.appendTx(ctx, tx, ev)
	})
	return internal("record login failure", werr)
}

func totpPurpose(userID int64) string { return "totp:" + itoa(userID) }

var errSessionExpired = custos.Errorf(custos.EUnauthenticated, "会话已过期，请重新登录", "session expired; log in again")

// SessionFor resolves a session cookie, enforcing the idle and absolute
// timeouts (R-C9). Activity is written at most once a minute.
func (a *App) SessionFor(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, errSessionExpired
	}
	idHash := auth.HashSecret(token)
	s, err := a.db.Reader().Session(ctx, idHash)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, errSessionExpired
	}
	if err != nil {
		return nil, internal("load session", err)
	}
	now := a.now()
	if now.After(s.ExpiresAt) || now.Sub(s.LastSeenAt) > a.cfg.SessionIdle {
		a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.DeleteSession(ctx, idHash) })
		return nil, errSessionExpired
	}
	u, err := a.db.Reader().User(ctx, s.UserID)
	if err != nil || u.Disabled {
		return nil, errSessionExpired
	}
	if now.Sub(s.LastSeenAt) > time.Minute {
		s.LastSeenAt = now
		if err := a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.TouchSession(ctx, s) }); err != nil {
			return nil, internal("touch session", err)
		}
	}
	org, err := a.db.Reader().Org(ctx, u.OrgID)
	if err != nil {
		return nil, internal("load org", err)
	}
	return &Session{Token: token, User: u, Org: org, MFAPassed: s.MFAPassed, Purpose: s.Purpose, Lang: s.Lang, ExpiresAt: s.ExpiresAt, idHash: idHash}, nil
}

// SetSessionPrefs stores the purpose and language chosen in the UI for the
// rest of the session.
func (a *App) SetSessionPrefs(ctx context.Context, s *Session, purpose, lang string) error {
	if purpose != "" {
		ref, err := a.refData(ctx)
		if err != nil {
			return err
		}
		if p, ok := ref.purposes[purpose]; !ok || !p.Active {
			return custos.Errorf(custos.EInvalid, "查询目的不在允许列表中", "unknown purpose")
		}
	}
	rec := &sqlstore.Session{IDHash: s.idHash, LastSeenAt: a.now(), Purpose: purpose, Lang: lang, MFAPassed: s.MFAPassed}
	if err := a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.TouchSession(ctx, rec) }); err != nil {
		return internal("save session", err)
	}
	s.Purpose, s.Lang = purpose, lang
	return nil
}

// Logout ends a session, audited.
func (a *App) Logout(ctx context.Context, s *Session, actor custos.Actor) error {
	return a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.DeleteSession(ctx, s.idHash); err != nil {
			return err
		}
		return a.appendTx(ctx, tx, a.event(actor, "logout", "", custos.OutcomeOK, ""))
	})
}

// PurgeSessions removes idle and expired sessions.
func (a *App) PurgeSessions(ctx context.Context) (int64, error) {
	var n int64
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		var err error
		n, err = tx.PurgeSessions(ctx, a.now().Add(-a.cfg.SessionIdle))
		return err
	})
	return n, err
}

// ActorFor builds the actor of a user for a request.
func ActorFor(u *custos.User, org *custos.Org, via, clientAddr, requestID, purpose string) custos.Actor {
	act := custos.Actor{Kind: custos.ActorUser, UserID: u.ID, Username: u.Username, Role: u.Role, OrgID: u.OrgID,
		Via: via, ClientAddr: clientAddr, RequestID: requestID, Purpose: purpose}
	if org != nil {
		act.OrgPath = org.Path
	}
	return act
}

// TokenActor authenticates an API bearer token (stored hashed, scoped and
// expiring) and returns the actor it stands for.
func (a *App) TokenActor(ctx context.Context, token, clientAddr, requestID string) (custos.Actor, error) {
	bad := custos.Errorf(custos.EUnauthenticated, "令牌无效或已过期", "invalid or expired token")
	if token == "" {
		return custos.Actor{}, bad
	}
	t, err := a.db.Reader().TokenByHash(ctx, auth.HashSecret(token))
	if errors.Is(err, custos.ErrNotFound) {
		return custos.Actor{}, bad
	}
	if err != nil {
		return custos.Actor{}, internal("load token", err)
	}
	now := a.now()
	if t.RevokedAt != nil || !now.Before(t.ExpiresAt) {
		return custos.Actor{}, bad
	}
	u, err := a.db.Reader().User(ctx, t.UserID)
	if err != nil || u.Disabled || u.MustChangePassword {
		return custos.Actor{}, bad
	}
	org, err := a.db.Reader().Org(ctx, u.OrgID)
	if err != nil {
		return custos.Actor{}, internal("load org", err)
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.TouchToken(ctx, t.ID) })
	}
	act := ActorFor(u, org, "api", clientAddr, requestID, "")
	act.Scopes = t.Scopes
	if act.Scopes == nil {
		act.Scopes = []string{}
	}
	act.TokenExpiresAt = t.ExpiresAt
	return act, nil
}

// NewToken is a freshly created API token; Secret is shown once.
type NewToken struct {
	ID        int64     `json:"id"`
	Secret    string    `json:"token"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateToken issues an API token for the actor themself: nobody mints a
// token that acts for someone else, administrators included. An empty
// scope list gives every scope the actor holds; an actor signed in with a
// token can hand on only its own scopes, for no longer than it lives
// (R-C4). Codes: EInvalid, EForbidden.
func (a *App) CreateToken(ctx context.Context, actor custos.Actor, name string, scopes []string, ttl time.Duration) (*NewToken, error) {
	if actor.Kind != custos.ActorUser || actor.UserID == 0 {
		return nil, a.denied(ctx, actor, custos.ActUserAdmin, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "令牌只能由本人创建", "a token is created only by the person it acts for"))
	}
	if u, err := a.db.Reader().User(ctx, actor.UserID); err != nil {
		return nil, internal("load user", err)
	} else if u.MustChangePassword {
		return nil, a.denied(ctx, actor, "token.create", "", "must_change_password", ErrMustChangePassword)
	}
	var v custos.Validation
	if len(scopes) == 0 {
		scopes = custos.TokenScopes()
		if actor.Scopes != nil {
			scopes = actor.Scopes
		}
	}
	for i, s := range scopes {
		switch {
		case !custos.ValidTokenScope(s):
			v.Addf("scopes["+itoa(int64(i))+"]", custos.CodeNotAllowed)
		case actor.Scopes != nil && !slices.Contains(actor.Scopes, s):
			v.Add("scopes["+itoa(int64(i))+"]", custos.CodeNotAllowed, custos.Message{ZH: "超出当前令牌的权限范围", EN: "beyond the scopes of the current token"})
		}
	}
	now := a.now()
	if ttl <= 0 {
		ttl = a.cfg.TokenTTL
		if !actor.TokenExpiresAt.IsZero() && now.Add(ttl).After(actor.TokenExpiresAt) {
			ttl = actor.TokenExpiresAt.Sub(now)
		}
	}
	switch {
	case ttl > 366*24*time.Hour:
		v.Addf("ttl", custos.CodeOutOfRange)
	case !actor.TokenExpiresAt.IsZero() && now.Add(ttl).After(actor.TokenExpiresAt):
		v.Add("ttl", custos.CodeOutOfRange, custos.Message{ZH: "新令牌不能比当前令牌更晚过期", EN: "a new token cannot outlive the current token"})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	secret, hash := auth.NewSecret(auth.TokenPrefix)
	t := &sqlstore.APIToken{UserID: actor.UserID, Name: name, Hash: hash, Scopes: scopes, ExpiresAt: now.Add(ttl)}
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateToken(ctx, t); err != nil {
			return err
		}
		ev := custos.NewEvent(actor, "token.create", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "user", itoa(actor.UserID)
		ev.Detail = detail(map[string]any{"scopes": scopes, "token_id": t.ID})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("create token", err)
	}
	return &NewToken{ID: t.ID, Secret: secret, Scopes: scopes, ExpiresAt: t.ExpiresAt}, nil
}

// StartTOTP creates a new TOTP secret for the session's user and returns it
// with its otpauth URL; it takes effect once ConfirmTOTP sees a valid code.
func (a *App) StartTOTP(ctx context.Context, userID int64, username string) (secret, url string, err error) {
	u, err := a.db.Reader().User(ctx, userID)
	if err != nil {
		return "", "", internal("load user", err)
	}
	if u.MFAEnabled {
		// Re-enrolment would switch the second factor off until confirmed;
		// an administrator must reset it instead.
		return "", "", custos.Errorf(custos.EConflict, "已启用动态口令；如需更换请联系管理员重置", "a second factor is already enabled; ask an administrator to reset it")
	}
	secret, url, err = auth.NewTOTPSecret("Custos", username)
	if err != nil {
		return "", "", internal("totp", err)
	}
	ct, err := a.keys.Sealer.SealSystem(totpPurpose(userID), []byte(secret))
	if err != nil {
		return "", "", internal("seal totp", err)
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.SetTOTP(ctx, userID, ct, false) })
	return secret, url, internal("store totp", err)
}

// ConfirmTOTP enables the second factor once the user proves the code works.
func (a *App) ConfirmTOTP(ctx context.Context, actor custos.Actor, s *Session, code string) error {
	_, ct, err := a.db.Reader().UserCredentials(ctx, actor.UserID)
	if err != nil || len(ct) == 0 {
		return custos.Errorf(custos.EInvalid, "请先生成动态口令密钥", "start the enrolment first")
	}
	secret, err := a.keys.Sealer.OpenSystem(totpPurpose(actor.UserID), ct)
	if err != nil {
		return internal("open totp", err)
	}
	if !auth.CheckTOTP(string(secret), code, a.now()) {
		return &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "验证码错误", EN: "wrong code"},
			Fields: []custos.FieldError{{Field: "code", Code: custos.CodeInvalidFormat, Message: custos.Message{ZH: "验证码错误", EN: "wrong code"}}}}
	}
	return a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.SetTOTP(ctx, actor.UserID, ct, true); err != nil {
			return err
		}
		if s != nil {
			s.MFAPassed = true
			if err := tx.TouchSession(ctx, &sqlstore.Session{IDHash: s.idHash, LastSeenAt: a.now(), Purpose: s.Purpose, Lang: s.Lang, MFAPassed: true}); err != nil {
				return err
			}
		}
		return a.appendTx(ctx, tx, custos.NewEvent(actor, "mfa.enable", custos.OutcomeOK))
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
