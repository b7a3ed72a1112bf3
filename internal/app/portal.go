package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/auth"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// The customer self-service portal (R-B5, R-E3). A customer is a separate
// kind of actor (custos.ActorCustomer) who reaches only their own record:
// custos.Decide allows the self-service actions on it and nothing else.
//
// Staff switch portal access on for a customer (audited), optionally with
// an initial password. A customer signs in with their ID number and either
// the password (argon2id, the staff password policy, lockout after
// repeated failures) or a one-time code sent to the e-mail address on
// their archive through an OTPSender (six digits, stored only as a keyed
// HMAC, valid for PortalOTPTTL, PortalOTPAttempts tries, never logged).
// Portal sessions have the staff idle and absolute timeouts.
//
// Signed in, a customer sees their profile (masked, R-C10), lists and
// searches their own transactions with totals, downloads a statement for a
// date range as PDF, CSV or XLSX, and files correction requests. A
// correction is a KindCorrection request in the maker-checker flow: staff
// approve it, and the approved correction is applied as a new archive
// version, like a staff change (R-B1). The customer is its requester
// (Request.RequestedByCustomer): only the customer may withdraw it, in the
// portal; staff end it only by deciding it. Their account manager is
// recorded as responsible and cannot approve it.
//
// Every portal action is audited with the customer as the actor, named
// only by the HMAC reference of their id.

// Portal limits.
const (
	PortalOTPTTL      = 5 * time.Minute // how long a one-time code is valid
	PortalOTPAttempts = 5               // wrong tries before a code is used up
	PortalOTPPerHour  = 5               // codes one customer can be sent in an hour
	MaxStatementRows  = 20000           // rows of one statement; a longer period must be split
	MaxStatementDays  = 366 * 5         // the longest statement period
)

// PortalVia is the channel of portal actions in the audit trail.
const PortalVia = "portal"

// OTPSender delivers a one-time login code to a customer. Implementations
// must not log the code.
type OTPSender interface {
	SendOTP(ctx context.Context, to, code string) error
}

// SMTPOTPSender sends one-time codes by e-mail through an SMTP relay.
type SMTPOTPSender struct{ n *SMTPNotifier }

// NewSMTPOTPSender reads the same URL as NewSMTPNotifier.
func NewSMTPOTPSender(raw string) (*SMTPOTPSender, error) {
	n, err := NewSMTPNotifier(raw)
	if err != nil {
		return nil, err
	}
	return &SMTPOTPSender{n: n}, nil
}

// SendOTP e-mails the code.
func (s *SMTPOTPSender) SendOTP(ctx context.Context, to, code string) error {
	return s.n.Notify(ctx, []string{to}, "Custos 登录验证码 / login code",
		fmt.Sprintf("您的登录验证码是 %s，%d 分钟内有效。如非本人操作，请忽略本邮件。\nYour login code is %s, valid for %d minutes. If you did not ask for it, ignore this message.",
			code, int(PortalOTPTTL/time.Minute), code, int(PortalOTPTTL/time.Minute)))
}

// MemoryOTPSender keeps the codes it is given in memory: the sender of
// tests and of the demo without a mail relay.
type MemoryOTPSender struct {
	mu    sync.Mutex
	codes map[string]string
	sent  int
}

// SendOTP remembers the newest code per recipient.
func (m *MemoryOTPSender) SendOTP(_ context.Context, to, code string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.codes == nil {
		m.codes = map[string]string{}
	}
	m.codes[to] = code
	m.sent++
	return nil
}

// Last returns the newest code sent to a recipient.
func (m *MemoryOTPSender) Last(to string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[to]
	return c, ok
}

// Sent counts the codes sent.
func (m *MemoryOTPSender) Sent() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sent
}

// SetOTPSender makes the portal send one-time codes through s (nil: none,
// and one-time code login is unavailable). Call it before serving.
func (a *App) SetOTPSender(s OTPSender) { a.otp = s }

func (a *App) otpSender() OTPSender { return a.otp }

// PortalCodesAvailable reports whether one-time code login is offered.
func (a *App) PortalCodesAvailable() bool { return a.otp != nil }

// PortalSession is a customer's signed-in portal session.
type PortalSession struct {
	Token      string // the cookie value; only its hash is stored
	CustomerID string
	ArchiveNo  string
	Name       string // masked, for the page header
	Lang       string
	ExpiresAt  time.Time     // on the service's clock
	Lifetime   time.Duration // ExpiresAt less the sign-in time: what a cookie's Max-Age carries
	idHash     []byte
}

// PortalActor is the actor of a portal session's request: the customer,
// named in the audit trail by the HMAC reference of their id only.
func (a *App) PortalActor(s *PortalSession, clientAddr, requestID string) custos.Actor {
	return custos.Actor{Kind: custos.ActorCustomer, CustomerID: s.CustomerID, Username: "customer:" + a.customerRef(s.CustomerID),
		Via: PortalVia, ClientAddr: clientAddr, RequestID: requestID, Purpose: "service"}
}

// anonymousCustomer is the actor of a login attempt that names no known customer.
func anonymousCustomer(clientAddr string) custos.Actor {
	return custos.Actor{Kind: custos.ActorCustomer, Username: "customer:unknown", Via: PortalVia, ClientAddr: clientAddr}
}

var (
	errBadPortalLogin = custos.Errorf(custos.EUnauthenticated, "证件号码或密码错误", "wrong ID number or password")
	errBadPortalCode  = custos.Errorf(custos.EUnauthenticated, "证件号码或验证码错误，或验证码已过期", "wrong ID number or code, or the code has expired")
	errPortalLocked   = custos.Errorf(custos.ELocked, "因多次登录失败，账户已暂时锁定，请稍后再试或联系您的客户经理", "locked after repeated failures; try again later or ask your account manager")
	errPortalLimited  = custos.Errorf(custos.ERateLimited, "尝试过于频繁，请稍后再试", "too many attempts; try again later")
	errNoOTPChannel   = custos.Errorf(custos.EConflict, "暂不支持验证码登录，请使用密码登录", "login with a one-time code is not available; use your password")
	errPortalExpired  = custos.Errorf(custos.EUnauthenticated, "会话已过期，请重新登录", "session expired; log in again")
)

// EnablePortal gives a customer (by id or archive number) access to the self-service portal (R-B5),
// or resets it: a new password (checked against the password policy;
// empty keeps the old one, or leaves one-time codes as the only way in)
// and a cleared lockout. It needs the permission to update the customer,
// and the archive must be effective. Audited.
func (a *App) EnablePortal(ctx context.Context, actor custos.Actor, customerID, password string) error {
	if actor.Kind != custos.ActorUser {
		return custos.Errorf(custos.EForbidden, "只有员工可以开通自助服务", "only staff can enable the portal")
	}
	if password != "" {
		if err := auth.CheckPassword(password, ""); err != nil {
			var pv *auth.PolicyViolation
			errors.As(err, &pv)
			return (&custos.Validation{Fields: []custos.FieldError{{Field: "password", Code: pv.Code, Message: custos.Message{ZH: pv.ZH, EN: pv.EN}}}}).Err()
		}
	}
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerUpdate, a.customerIDOf(ctx, customerID))
	if err != nil {
		return err
	}
	if rec.Status != custos.StatusEffective {
		return custos.Errorf(custos.EConflict, "档案生效后才能开通自助服务", "the portal can be enabled once the archive is effective")
	}
	hash := ""
	if password != "" {
		hash = auth.HashPassword(password)
	}
	now := a.now()
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.PutPortalAccount(ctx, &sqlstore.PortalAccount{CustomerID: rec.ID, PasswordHash: hash, Enabled: true, EnabledBy: actor.UserID, EnabledAt: now}); err != nil {
			return err
		}
		ev := a.event(actor, "portal.enable", rec.ID, custos.OutcomeOK, d.Reason)
		ev.Detail = detail(map[string]any{"password_set": hash != ""})
		return a.appendTx(ctx, tx, ev)
	})
	return internal("enable portal", err)
}

// DisablePortal switches a customer's portal access off and ends their
// portal sessions. Audited.
func (a *App) DisablePortal(ctx context.Context, actor custos.Actor, customerID string) error {
	rec, d, err := a.loadVisible(ctx, actor, custos.ActCustomerUpdate, a.customerIDOf(ctx, customerID))
	if err != nil {
		return err
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.DisablePortalAccount(ctx, rec.ID); err != nil {
			return err
		}
		return a.appendTx(ctx, tx, a.event(actor, "portal.disable", rec.ID, custos.OutcomeOK, d.Reason))
	})
	if errors.Is(err, custos.ErrNotFound) {
		return custos.Errorf(custos.ENotFound, "该客户未开通自助服务", "the customer has no portal access")
	}
	return internal("disable portal", err)
}

// customerIDOf takes a customer id or an archive number (the CLI's way of
// naming a customer) and returns the id; anything else is returned as it
// is, for loadVisible to answer as missing.
func (a *App) customerIDOf(ctx context.Context, ref string) string {
	ref = strings.TrimSpace(ref)
	rd := a.db.Reader()
	if _, err := rd.Customer(ctx, ref); err == nil {
		return ref
	}
	if rec, err := rd.CustomerByArchiveNo(ctx, ref); err == nil {
		return rec.ID
	}
	return ref
}

// portalCustomer resolves an ID number (resident ID, passport, permit or
// USCC, through the blind indexes) to the one customer with enabled portal
// access, or "".
func (a *App) portalCustomer(ctx context.Context, idNumber string) (string, error) {
	norm := idcard.Normalize(strings.TrimSpace(idNumber))
	if norm == "" {
		return "", nil
	}
	rd := a.db.Reader()
	var ids []string
	for _, kind := range []string{idxIDNumber, idxUSCC} {
		found, err := rd.CustomersByIndex(ctx, kind, a.keys.Indexer.Index(kind, norm))
		if err != nil {
			return "", internal("resolve customer", err)
		}
		ids = append(ids, found...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	enabled, err := rd.PortalAccountsOf(ctx, ids)
	if err != nil {
		return "", internal("portal accounts", err)
	}
	if len(enabled) != 1 {
		return "", nil
	}
	return enabled[0], nil
}

// PortalCredentials is a portal login attempt: the ID number and either a
// password or a one-time code.
type PortalCredentials struct {
	IDNumber   string
	Password   string
	Code       string // a one-time code instead of the password
	ClientAddr string
	Lang       string
}

// PortalLogin signs a customer in with the password or a one-time code
// (R-B5): rate limited per client address, constant-time for unknown ID
// numbers, locking the account after repeated failures (the staff lockout
// settings). Every attempt is audited; a failure never says whether the ID
// number is known.
func (a *App) PortalLogin(ctx context.Context, c PortalCredentials) (*PortalSession, error) {
	now := a.now()
	actor := anonymousCustomer(c.ClientAddr)
	action := "portal.login"
	bad := errBadPortalLogin
	if c.Code != "" {
		action, bad = "portal.login_otp", errBadPortalCode
	}
	fail := func(reason string, answer error) (*PortalSession, error) {
		if err := a.record(ctx, a.event(actor, custos.Action(action), actor.CustomerID, custos.OutcomeDenied, reason)); err != nil {
			return nil, err
		}
		return nil, answer
	}
	if err := a.limitAttempt(ctx, scopePortal, actor, custos.Action(action), now, errPortalLimited); err != nil {
		return nil, err
	}
	id, err := a.portalCustomer(ctx, c.IDNumber)
	if err != nil {
		return nil, err
	}
	if id == "" {
		auth.BurnTime(c.Password + c.Code)
		return fail("unknown_customer", bad)
	}
	actor.CustomerID, actor.Username = id, "customer:"+a.customerRef(id)
	rd := a.db.Reader()
	acc, err := rd.PortalAccount(ctx, id)
	if err != nil {
		return nil, internal("portal account", err)
	}
	if now.Before(acc.LockedUntil) {
		auth.BurnTime(c.Password + c.Code)
		return fail("locked", errPortalLocked)
	}
	failure := func(reason string, otpID int64) (*PortalSession, error) {
		werr := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
			if otpID != 0 {
				if _, err := tx.FailPortalOTP(ctx, otpID, PortalOTPAttempts, now); err != nil {
					return err
				}
			}
			n, err := tx.RecordPortalFailure(ctx, id, a.cfg.LockoutThreshold, a.cfg.LockoutDuration)
			if err != nil {
				return err
			}
			ev := a.event(actor, custos.Action(action), id, custos.OutcomeDenied, reason)
			if n >= a.cfg.LockoutThreshold {
				ev.Reason = reason + "_locked"
			}
			return a.appendTx(ctx, tx, ev)
		})
		if werr != nil {
			return nil, internal("record portal failure", werr)
		}
		return nil, bad
	}
	var otpID int64
	if c.Code != "" {
		o, err := rd.LatestPortalOTP(ctx, id)
		if errors.Is(err, custos.ErrNotFound) {
			return failure("otp_missing", 0)
		}
		if err != nil {
			return nil, internal("portal code", err)
		}
		if !now.Before(o.ExpiresAt) {
			return failure("otp_expired", 0)
		}
		if subtle.ConstantTimeCompare(o.CodeHash, a.otpHash(id, strings.TrimSpace(c.Code))) != 1 {
			return failure("bad_otp", o.ID)
		}
		otpID = o.ID
	} else {
		if acc.PasswordHash == "" {
			auth.BurnTime(c.Password)
			return failure("no_password", 0)
		}
		ok, err := auth.VerifyPassword(acc.PasswordHash, c.Password)
		if err != nil || !ok {
			return failure("bad_password", 0)
		}
	}
	rec, err := rd.Customer(ctx, id)
	if err != nil {
		return nil, internal("load customer", err)
	}
	if len(rec.WrappedKey) == 0 || rec.Status == custos.StatusClosed {
		return fail("closed", bad)
	}
	name := ""
	if cust, err := a.openCustomer(rec); err == nil {
		name = custos.MaskText(customerName(cust))
	}
	token, idHash := auth.NewSecret("cps_")
	s := &sqlstore.PortalSession{IDHash: idHash, CustomerID: id, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(a.cfg.SessionAbsolute),
		Lang: c.Lang, ClientAddr: c.ClientAddr}
	used := true
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		used = true
		if otpID != 0 {
			ok, err := tx.UsePortalOTP(ctx, otpID, now)
			if err != nil {
				return err
			}
			if !ok {
				used = false
				return nil
			}
		}
		if err := tx.RecordPortalSuccess(ctx, id); err != nil {
			return err
		}
		if err := tx.CreatePortalSession(ctx, s); err != nil {
			return err
		}
		return a.appendTx(ctx, tx, a.event(actor, custos.Action(action), id, custos.OutcomeOK, ""))
	})
	if err != nil {
		return nil, internal("create portal session", err)
	}
	if !used {
		return fail("otp_used", bad)
	}
	return &PortalSession{Token: token, CustomerID: id, ArchiveNo: rec.ArchiveNo, Name: name, Lang: c.Lang, ExpiresAt: s.ExpiresAt, Lifetime: s.ExpiresAt.Sub(now), idHash: idHash}, nil
}

func customerName(c *custos.Customer) string {
	switch {
	case c.Person != nil:
		return c.Person.Name
	case c.Institution != nil:
		return c.Institution.Name
	}
	return ""
}

// otpHash is the stored form of a one-time code: an HMAC under the
// blind-index key, bound to the customer, so a copy of the table cannot be
// searched through a million candidate codes.
func (a *App) otpHash(customerID, code string) []byte {
	return a.keys.Indexer.Index("portal_otp", customerID+"|"+code)
}

func newOTPCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// RequestPortalCode sends a one-time login code to the e-mail address on
// the archive of the customer with this ID number. The answer is the same
// whether or not the ID number is known, has portal access or an e-mail
// address; only a missing sender or rate limiting answer otherwise. At
// most PortalOTPPerHour codes an hour per customer; a new code voids the
// earlier ones. Audited, never with the code.
func (a *App) RequestPortalCode(ctx context.Context, idNumber, clientAddr string) error {
	sender := a.otpSender()
	if sender == nil {
		return errNoOTPChannel
	}
	now := a.now()
	actor := anonymousCustomer(clientAddr)
	quiet := func(reason string) error {
		return a.record(ctx, a.event(actor, "portal.otp_send", actor.CustomerID, custos.OutcomeDenied, reason))
	}
	if err := a.limitAttempt(ctx, scopePortal, actor, "portal.otp_send", now, errPortalLimited); err != nil {
		return err
	}
	id, err := a.portalCustomer(ctx, idNumber)
	if err != nil || id == "" {
		if err != nil {
			return err
		}
		return quiet("unknown_customer")
	}
	actor.CustomerID, actor.Username = id, "customer:"+a.customerRef(id)
	rd := a.db.Reader()
	acc, err := rd.PortalAccount(ctx, id)
	if err != nil {
		return internal("portal account", err)
	}
	if now.Before(acc.LockedUntil) {
		return quiet("locked")
	}
	n, err := rd.CountPortalOTPsSince(ctx, id, now.Add(-time.Hour))
	if err != nil {
		return internal("count codes", err)
	}
	if n >= PortalOTPPerHour {
		return quiet("too_many_codes")
	}
	rec, err := rd.Customer(ctx, id)
	if err != nil {
		return internal("load customer", err)
	}
	if len(rec.WrappedKey) == 0 {
		return quiet("destroyed")
	}
	cust, err := a.openCustomer(rec)
	if err != nil {
		return internal("open customer", err)
	}
	email := ""
	if cust.Person != nil {
		email = strings.TrimSpace(cust.Person.Email)
	}
	if email == "" {
		return quiet("no_email")
	}
	code, err := newOTPCode()
	if err != nil {
		return internal("new code", err)
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.InsertPortalOTP(ctx, &sqlstore.PortalOTP{CustomerID: id, CodeHash: a.otpHash(id, code), CreatedAt: now, ExpiresAt: now.Add(PortalOTPTTL)}); err != nil {
			return err
		}
		ev := a.event(actor, "portal.otp_send", id, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"channel": "email", "ttl_s": int(PortalOTPTTL / time.Second)})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return internal("store code", err)
	}
	if err := sender.SendOTP(ctx, email, code); err != nil {
		// Neither the code nor the address goes into the log.
		a.log.Warn("portal: one-time code not sent", "customer", a.customerRef(id), "err", err)
	}
	return nil
}

// PortalSessionFor resolves a portal session cookie, enforcing the idle
// and absolute timeouts and the account still being enabled.
func (a *App) PortalSessionFor(ctx context.Context, token string) (*PortalSession, error) {
	if token == "" {
		return nil, errPortalExpired
	}
	idHash := auth.HashSecret(token)
	rd := a.db.Reader()
	s, err := rd.PortalSession(ctx, idHash)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, errPortalExpired
	}
	if err != nil {
		return nil, internal("load portal session", err)
	}
	now := a.now()
	if now.After(s.ExpiresAt) || now.Sub(s.LastSeenAt) > a.cfg.SessionIdle {
		a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.DeletePortalSession(ctx, idHash) })
		return nil, errPortalExpired
	}
	acc, err := rd.PortalAccount(ctx, s.CustomerID)
	if err != nil || !acc.Enabled {
		return nil, errPortalExpired
	}
	rec, err := rd.Customer(ctx, s.CustomerID)
	if err != nil || len(rec.WrappedKey) == 0 {
		return nil, errPortalExpired
	}
	if now.Sub(s.LastSeenAt) > time.Minute {
		s.LastSeenAt = now
		if err := a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.TouchPortalSession(ctx, s) }); err != nil {
			return nil, internal("touch portal session", err)
		}
	}
	name := ""
	if cust, err := a.openCustomer(rec); err == nil {
		name = custos.MaskText(customerName(cust))
	}
	return &PortalSession{Token: token, CustomerID: s.CustomerID, ArchiveNo: rec.ArchiveNo, Name: name, Lang: s.Lang, ExpiresAt: s.ExpiresAt, idHash: idHash}, nil
}

// SetPortalLang stores the language chosen in the portal for the session.
func (a *App) SetPortalLang(ctx context.Context, s *PortalSession, lang string) error {
	rec := &sqlstore.PortalSession{IDHash: s.idHash, LastSeenAt: a.now(), Lang: lang}
	if err := a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.TouchPortalSession(ctx, rec) }); err != nil {
		return internal("save portal session", err)
	}
	s.Lang = lang
	return nil
}

// PortalLogout ends a portal session, audited.
func (a *App) PortalLogout(ctx context.Context, s *PortalSession, actor custos.Actor) error {
	return internal("portal logout", a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.DeletePortalSession(ctx, s.idHash); err != nil {
			return err
		}
		return a.appendTx(ctx, tx, a.event(actor, "portal.logout", s.CustomerID, custos.OutcomeOK, ""))
	}))
}

// PurgePortal removes idle and expired portal sessions and expired codes.
func (a *App) PurgePortal(ctx context.Context) (int64, error) {
	var n int64
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		s, err := tx.PurgePortalSessions(ctx, a.now().Add(-a.cfg.SessionIdle))
		if err != nil {
			return err
		}
		o, err := tx.PurgePortalOTPs(ctx, a.now().Add(-time.Hour))
		n = s + o
		return err
	})
	return n, err
}

// loadOwn loads the signed-in customer's own record and decides act on it
// (custos.Decide: a customer actor reaches nothing else). A refusal is
// audited and answers like a missing record.
func (a *App) loadOwn(ctx context.Context, actor custos.Actor, act custos.Action) (*sqlstore.CustomerRecord, error) {
	if actor.Kind != custos.ActorCustomer || actor.CustomerID == "" {
		return nil, a.denied(ctx, actor, act, "", custos.DenyUnknownActor, custos.ErrNotFound)
	}
	rec, err := a.db.Reader().Customer(ctx, actor.CustomerID)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, a.denied(ctx, actor, act, actor.CustomerID, "not_found", custos.ErrNotFound)
	}
	if err != nil {
		return nil, internal("load customer", err)
	}
	if err := a.placeRecords(ctx, rec); err != nil {
		return nil, err
	}
	if d := custos.Decide(actor, act, sqlstore.ACLOf(rec, sqlstore.Relation{})); !d.Allowed {
		return nil, a.denied(ctx, actor, act, rec.ID, d.Reason, custos.ErrNotFound)
	}
	if len(rec.WrappedKey) == 0 {
		return nil, a.denied(ctx, actor, act, rec.ID, "destroyed", ErrKeyDestroyed)
	}
	return rec, nil
}

// PortalProfile returns the signed-in customer's own archive, masked (R-B5, R-C10).
func (a *App) PortalProfile(ctx context.Context, actor custos.Actor) (*custos.Customer, error) {
	rec, err := a.loadOwn(ctx, actor, custos.ActCustomerRead)
	if err != nil {
		return nil, err
	}
	c, err := a.openCustomer(rec)
	if err != nil {
		return nil, internal("open customer", err)
	}
	if err := a.record(ctx, a.event(actor, custos.ActCustomerRead, rec.ID, custos.OutcomeOK, custos.ReasonSelf)); err != nil {
		return nil, err
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	return c.Masked(nil, ref.sensitiveCustom(c.Category)), nil
}

// PortalTransactions searches the signed-in customer's own transactions
// (R-E3): the filter's customer is always the customer's own, whatever the
// caller put there. The search, its totals and its audit event are those of
// SearchTransactions, with the customer as the actor.
func (a *App) PortalTransactions(ctx context.Context, actor custos.Actor, f custos.TxnFilter) (*custos.TxnPage, error) {
	if actor.Kind != custos.ActorCustomer || actor.CustomerID == "" {
		return nil, a.denied(ctx, actor, custos.ActTxnRead, "", custos.DenyUnknownActor, custos.ErrNotFound)
	}
	f.CustomerID = actor.CustomerID
	return a.SearchTransactions(ctx, actor, f)
}

// PortalTransaction returns one of the signed-in customer's transactions;
// anyone else's answers custos.ErrNotFound exactly like a missing one.
func (a *App) PortalTransaction(ctx context.Context, actor custos.Actor, id string) (*custos.Transaction, error) {
	rec, err := a.loadOwn(ctx, actor, custos.ActTxnRead)
	if err != nil {
		return nil, err
	}
	key, err := sqlstore.ParseTxnKey(id)
	if err != nil {
		return nil, a.denied(ctx, actor, custos.ActTxnRead, rec.ID, "not_found", custos.ErrNotFound)
	}
	rd := a.db.Reader()
	cnum, ok, err := rd.TxnCustomerNum(ctx, rec.ID)
	if err != nil {
		return nil, internal("transaction customer", err)
	}
	if !ok || key.CNum != cnum {
		// Audited against the customer whose record was asked for, if any.
		target := ""
		if custs, err := rd.TxnCustomers(ctx, []int64{key.CNum}); err == nil && custs[key.CNum] != nil {
			target = custs[key.CNum].ID
		}
		return nil, a.denied(ctx, actor, custos.ActTxnRead, target, custos.DenyNotSelf, custos.ErrNotFound)
	}
	r, err := rd.Transaction(ctx, key)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, a.denied(ctx, actor, custos.ActTxnRead, rec.ID, "not_found", custos.ErrNotFound)
	}
	if err != nil {
		return nil, internal("load transaction", err)
	}
	custs, err := rd.TxnCustomers(ctx, []int64{cnum})
	if err != nil || custs[cnum] == nil {
		return nil, internal("transaction customer", err)
	}
	t, err := a.openTxn(r, custs[cnum])
	if err != nil {
		return nil, internal("open transaction", err)
	}
	policy, err := a.TxnPolicy(ctx)
	if err != nil {
		return nil, err
	}
	t.LargeValue = policy.IsLarge(t.Amount, t.Currency)
	revs, err := rd.TxnReversals(ctx, []int64{cnum}, key.At, key.At)
	if err != nil {
		return nil, internal("transaction reversals", err)
	}
	t.ReversedBy = revs[key]
	ev := a.event(actor, custos.ActTxnRead, rec.ID, custos.OutcomeOK, custos.ReasonSelf)
	ev.Detail = detail(map[string]any{"single": true})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return t.Masked(), nil
}

// CorrectionInput is what a customer asks to have corrected: new values
// for their contact details (empty leaves a field as it is) and a note
// saying what is wrong, which may also describe errors in fields the
// customer cannot edit themselves.
type CorrectionInput struct {
	Phone      string `json:"phone,omitempty"`
	Email      string `json:"email,omitempty"`
	Address    string `json:"address,omitempty"`
	Occupation string `json:"occupation,omitempty"`
	Employer   string `json:"employer,omitempty"`
	Note       string `json:"note"`
}

// PortalRequestCorrection files a correction request for the signed-in
// customer's own archive (R-B5): the proposed archive, validated like any
// change, goes to the approvers of KindCorrection as a field-by-field diff
// and takes effect as a new archive version only when one of them approves
// it. Nothing changes before that.
func (a *App) PortalRequestCorrection(ctx context.Context, actor custos.Actor, in CorrectionInput) (*custos.Request, error) {
	var v custos.Validation
	note := strings.TrimSpace(in.Note)
	switch {
	case note == "":
		v.Add("note", custos.CodeRequired, custos.Message{ZH: "请说明需要更正的内容", EN: "say what needs correcting"})
	case !v.CheckText("note", note):
	case len([]rune(note)) > 500:
		v.Addf("note", custos.CodeTooLong)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rec, err := a.loadOwn(ctx, actor, custos.ActRequestFile)
	if err != nil {
		return nil, err
	}
	if rec.Status != custos.StatusEffective {
		return nil, custos.Errorf(custos.EConflict, "档案尚未生效，请联系您的客户经理", "the archive is not effective yet; ask your account manager")
	}
	old, err := a.openCustomer(rec)
	if err != nil {
		return nil, internal("open customer", err)
	}
	if old.Person == nil {
		return nil, custos.Errorf(custos.EConflict, "机构客户的信息更正请联系您的客户经理", "institutions ask their account manager for corrections")
	}
	form := custos.InputOf(old)
	set := func(dst *string, s string) {
		if s = strings.TrimSpace(s); s != "" {
			*dst = s
		}
	}
	set(&form.Phone, in.Phone)
	set(&form.Email, in.Email)
	set(&form.Address, in.Address)
	set(&form.Occupation, in.Occupation)
	set(&form.Employer, in.Employer)
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	c, cv := validateCustomer(&form, ref, now)
	if err := cv.Err(); err != nil {
		return nil, err
	}
	c.ID, c.ArchiveNo, c.OrgID, c.OwnerID = old.ID, old.ArchiveNo, old.OrgID, old.OwnerID
	c.Sensitivity, c.ProtectedReason = old.Sensitivity, old.ProtectedReason
	c.Status, c.Verification, c.CreatedBy, c.CreatedAt = old.Status, old.Verification, old.CreatedBy, old.CreatedAt
	c.UpdatedAt, c.Version = now, old.Version+1
	changed := ChangedFields(custos.InputOf(old), custos.InputOf(c))
	if len(changed) == 0 {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "", Code: custos.CodeRequired,
			Message: custos.Message{ZH: "请填写至少一项新的信息", EN: "enter at least one new value"}}}}).Err()
	}
	var out *custos.Request
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		r, err := a.newRequest(ctx, tx, actor, custos.KindCorrection, rec.OrgID, rec.ID, note,
			fmt.Sprintf("%s: %s", rec.ArchiveNo, strings.Join(changed, ", ")))
		if err != nil {
			return err
		}
		// The customer's own request: only the customer may withdraw it; the
		// account manager is recorded as responsible, not as requester.
		r.RequestedBy, r.RequestedByCustomer, r.Responsible, r.SubjectID = 0, true, rec.OwnerID, PortalVia
		if err := a.insertRequest(ctx, tx, actor, r, rec.WrappedKey, changeProposal{Base: old.Version, Fields: changed, Customer: c}); err != nil {
			return err
		}
		req := r.Request
		out = &req
		return nil
	})
	if err != nil {
		return nil, internal("file correction", err)
	}
	a.notifyFiled(ctx, out)
	return out, nil
}

// PortalCancelCorrection withdraws one of the signed-in customer's own
// pending correction requests; anything else answers as missing.
func (a *App) PortalCancelCorrection(ctx context.Context, actor custos.Actor, id int64) error {
	if actor.Kind != custos.ActorCustomer || actor.CustomerID == "" {
		return ErrRequestNotFound
	}
	return a.CancelRequest(ctx, actor, id)
}

// PortalRequests lists the signed-in customer's correction requests, newest first.
func (a *App) PortalRequests(ctx context.Context, actor custos.Actor) ([]*custos.Request, error) {
	rec, err := a.loadOwn(ctx, actor, custos.ActRequestFile)
	if err != nil {
		return nil, err
	}
	recs, err := a.db.Reader().Requests(ctx, custos.RequestFilter{CustomerID: rec.ID, Kind: custos.KindCorrection, Limit: 200})
	if err != nil {
		return nil, internal("requests", err)
	}
	out := make([]*custos.Request, 0, len(recs))
	for _, r := range recs {
		req := r.Request
		req.Payload = nil
		out = append(out, &req)
	}
	ev := a.event(actor, "portal.requests", rec.ID, custos.OutcomeOK, custos.ReasonSelf)
	ev.Detail = detail(map[string]any{"returned": len(out)})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// PortalChangePassword lets a signed-in customer replace their portal
// password: the current one first (when there is one; a wrong one counts
// towards the lockout), then a new one under the password policy. Audited.
func (a *App) PortalChangePassword(ctx context.Context, actor custos.Actor, current, next string) error {
	if actor.Kind != custos.ActorCustomer || actor.CustomerID == "" {
		return custos.ErrNotFound
	}
	id := actor.CustomerID
	acc, err := a.db.Reader().PortalAccount(ctx, id)
	if err != nil {
		return errPortalExpired
	}
	if acc.PasswordHash != "" {
		if ok, err := auth.VerifyPassword(acc.PasswordHash, current); err != nil || !ok {
			werr := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
				if _, err := tx.RecordPortalFailure(ctx, id, a.cfg.LockoutThreshold, a.cfg.LockoutDuration); err != nil {
					return err
				}
				return a.appendTx(ctx, tx, a.event(actor, "portal.password", id, custos.OutcomeDenied, "bad_password"))
			})
			if werr != nil {
				return internal("record portal failure", werr)
			}
			return (&custos.Validation{Fields: []custos.FieldError{{Field: "current", Code: custos.CodeNotAllowed,
				Message: custos.Message{ZH: "当前密码错误", EN: "the current password is wrong"}}}}).Err()
		}
	}
	if err := auth.CheckPassword(next, ""); err != nil {
		var pv *auth.PolicyViolation
		errors.As(err, &pv)
		return (&custos.Validation{Fields: []custos.FieldError{{Field: "password", Code: pv.Code, Message: custos.Message{ZH: pv.ZH, EN: pv.EN}}}}).Err()
	}
	if next == current {
		return (&custos.Validation{Fields: []custos.FieldError{{Field: "password", Code: custos.CodeNotAllowed,
			Message: custos.Message{ZH: "新密码不能与当前密码相同", EN: "the new password must differ from the current one"}}}}).Err()
	}
	hash := auth.HashPassword(next)
	return internal("change portal password", a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.SetPortalPassword(ctx, id, hash, a.now()); err != nil {
			return err
		}
		return a.appendTx(ctx, tx, a.event(actor, "portal.password", id, custos.OutcomeOK, ""))
	}))
}
