package app_test

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/auth"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// denials counts the refused audit events of an action with a reason.
func denials(t *testing.T, f *apptest.Fixture, action, reason string) int {
	t.Helper()
	evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery("", action))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Outcome == custos.OutcomeDenied && ev.Reason == reason {
			n++
		}
	}
	return n
}

func failedLogins(t *testing.T, f *apptest.Fixture, username string) int {
	t.Helper()
	u, _, err := f.App.UserByName(ctx, username)
	if err != nil {
		t.Fatal(err)
	}
	return u.FailedLogins
}

// enrolTOTP gives a fixture user a second factor and returns its secret.
func enrolTOTP(t *testing.T, f *apptest.Fixture, username string) string {
	t.Helper()
	secret, _, err := f.App.StartTOTP(ctx, f.Users[username].ID, username)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.App.ConfirmTOTP(ctx, f.Actor(username), nil, totpNow(t, f, secret)); err != nil {
		t.Fatal(err)
	}
	return secret
}

func totpNow(t *testing.T, f *apptest.Fixture, secret string) string {
	t.Helper()
	code, err := auth.TOTPCode(secret, f.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestAuthenticate_RC4: the CLI's sign-in is a login without a session —
// a wrong password refuses, counts toward the lockout and is audited; the
// second factor is asked for; a one-time password is refused.
func TestAuthenticate_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		cli := func(user, pw, code string) app.Credentials {
			return app.Credentials{Username: user, Password: pw, TOTP: code, Via: "cli", ClientAddr: "cli@test"}
		}
		actor, err := f.App.Authenticate(ctx, cli("am_bj01", apptest.Password, ""), "service")
		if err != nil || actor.UserID != f.Users["am_bj01"].ID || actor.Role != custos.RoleAccountManager || actor.Via != "cli" || actor.Purpose != "service" {
			t.Fatalf("authenticate: %v %+v", err, actor)
		}
		if _, err := f.App.Authenticate(ctx, cli("am_bj01", "Wrong-Passw0rd!", ""), "service"); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("wrong password: %v", err)
		}
		if n := failedLogins(t, f, "am_bj01"); n != 1 {
			t.Fatalf("failed logins %d, want 1", n)
		}
		if n := denials(t, f, "login", "bad_password"); n != 1 {
			t.Fatalf("%d bad_password events, want 1", n)
		}
		if err := f.App.RefuseMissingCredential(ctx, "am_bj01", "cli", "cli@test"); err != nil || denials(t, f, "login", "credential_missing") != 1 || failedLogins(t, f, "am_bj01") != 1 {
			t.Fatalf("a missing credential: %v", err)
		}
		if _, err := f.App.Authenticate(ctx, cli("nobody", apptest.Password, ""), ""); custos.ErrorCodeOf(err) != custos.EUnauthenticated || denials(t, f, "login", "unknown_user") != 1 {
			t.Fatalf("unknown user: %v", err)
		}
		// An unknown name reaches the audit trail only as a keyed
		// reference, as at the web login (R-D4).
		if evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery("", "login")); err != nil || slices.ContainsFunc(evs, func(e custos.AuditEvent) bool { return strings.Contains(e.Actor, "nobody") }) {
			t.Fatalf("the unknown name is in the audit trail in clear: %v", err)
		}
		for range 4 {
			f.App.Authenticate(ctx, cli("am_bj01", "Wrong-Passw0rd!", ""), "")
		}
		if _, err := f.App.Authenticate(ctx, cli("am_bj01", apptest.Password, ""), ""); custos.ErrorCodeOf(err) != custos.ELocked {
			t.Fatalf("the lockout does not hold for the CLI: %v", err)
		}
		// Web logins and CLI sign-ins share one counter: the lock holds for the web too.
		if _, err := f.App.Login(ctx, app.Credentials{Username: "am_bj01", Password: apptest.Password, Via: "web"}); custos.ErrorCodeOf(err) != custos.ELocked {
			t.Fatalf("web login of a locked account: %v", err)
		}

		secret := enrolTOTP(t, f, "mgr_bj")
		if _, err := f.App.Authenticate(ctx, cli("mgr_bj", apptest.Password, ""), ""); !errors.Is(err, app.ErrTOTPMissing) {
			t.Fatalf("no code asked for: %v", err)
		}
		if _, err := f.App.Authenticate(ctx, cli("mgr_bj", apptest.Password, "000000"), ""); custos.ErrorCodeOf(err) != custos.EMFARequired || failedLogins(t, f, "mgr_bj") != 1 {
			t.Fatalf("wrong code: %v", err)
		}
		if _, err := f.App.Authenticate(ctx, cli("mgr_bj", apptest.Password, totpNow(t, f, secret)), ""); err != nil {
			t.Fatalf("right code: %v", err)
		}

		// A role that needs a second factor and has none enrolled cannot use the CLI.
		g := apptest.NewWithConfig(t, sqltest.OpenSQLite(t), func() app.Config {
			c := app.DefaultConfig()
			c.MFARoles = []custos.Role{custos.RoleCompliance}
			return c
		}())
		if _, err := g.App.Authenticate(ctx, cli("compliance", apptest.Password, ""), ""); custos.ErrorCodeOf(err) != custos.EMFARequired {
			t.Fatalf("unenrolled MFA role: %v", err)
		}

		// A one-time password signs in nowhere but its own change.
		resetApproved(t, f, "butler_bj01", "Einmal-Passw0rt!")
		if _, err := f.App.Authenticate(ctx, cli("butler_bj01", "Einmal-Passw0rt!", ""), ""); !errors.Is(err, app.ErrMustChangePassword) {
			t.Fatalf("one-time password accepted: %v", err)
		}
		if err := f.App.ChangeOwnPassword(ctx, cli("butler_bj01", "Einmal-Passw0rt!", ""), "Meine-Eigene-2027!"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.Authenticate(ctx, cli("butler_bj01", "Meine-Eigene-2027!", ""), ""); err != nil {
			t.Fatalf("own password after the change: %v", err)
		}
	})
}

// TestAuthenticateToken_RC4: CUSTOS_TOKEN is checked like a bearer token —
// revoked and expired tokens refuse, audited; the scopes come along.
func TestAuthenticateToken_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		tok, err := f.App.CreateToken(ctx, f.Actor("am_bj01"), "cli", []string{"customers:read"}, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		actor, err := f.App.AuthenticateToken(ctx, tok.Secret, "cli", "cli@test", "service")
		if err != nil || actor.UserID != f.Users["am_bj01"].ID || !slices.Equal(actor.Scopes, []string{"customers:read"}) || actor.Via != "cli" {
			t.Fatalf("token: %v %+v", err, actor)
		}
		if d := custos.Allowed(actor, custos.ActCustomerCreate); d.Allowed {
			t.Fatal("a read-only token creates customers through the CLI")
		}
		if _, err := f.App.AuthenticateToken(ctx, "cst_forged", "cli", "cli@test", ""); custos.ErrorCodeOf(err) != custos.EUnauthenticated || denials(t, f, "login", "bad_token") != 1 {
			t.Fatalf("forged token: %v", err)
		}
		if err := f.App.RevokeToken(ctx, f.Actor("am_bj01"), tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.AuthenticateToken(ctx, tok.Secret, "cli", "cli@test", ""); custos.ErrorCodeOf(err) != custos.EUnauthenticated || denials(t, f, "login", "bad_token") != 2 {
			t.Fatalf("revoked token: %v", err)
		}
		tok2, err := f.App.CreateToken(ctx, f.Actor("am_bj01"), "cli", nil, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.Clock.Advance(2 * time.Hour)
		if _, err := f.App.AuthenticateToken(ctx, tok2.Secret, "cli", "cli@test", ""); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("expired token: %v", err)
		}
	})
}

// TestOneOperatorCannotDestroy_RF3: the witness signs in at the execution.
// An operator who holds only their own credentials cannot satisfy it —
// not with their own, not with an approver's name, not with a guessed
// password, not with a disabled colleague — and every refusal is audited.
func TestOneOperatorCannotDestroy_RF3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		addUser(t, f, "compliance2", custos.RoleCompliance, "HQ")
		c := f.Create(t, "am_bj01", apptest.Person("监销甲"))
		closeCustomer(t, f, c, apptest.Day(0))
		f.Clock.Advance(11 * 365 * 24 * time.Hour) // past the ten years of AML 2024
		batch, req, err := f.App.CreateDestructionBatch(ctx, f.Actor("compliance"), "到期销毁")
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"gm", "compliance2"} {
			if _, err := f.App.DecideRequest(ctx, f.Actor(who), req.ID, true, "同意"); err != nil {
				t.Fatal(err)
			}
		}
		op := f.Actor("compliance")
		if _, err := f.App.ExecuteDestruction(ctx, op, batch.ID, app.Credentials{Username: "auditor"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a witness's name without their password: %v", err)
		}
		if _, err := f.App.ExecuteDestruction(ctx, op, batch.ID, app.Credentials{Username: "auditor", Password: "Guessed-Passw0rd!"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a guessed password: %v", err)
		}
		if n := failedLogins(t, f, "auditor"); n != 2 {
			t.Fatalf("the witness's failed sign-ins count %d, want 2", n)
		}
		if _, err := f.App.ExecuteDestruction(ctx, op, batch.ID, f.Proof("compliance")); !errors.Is(err, custos.ErrWitnessIsActor) {
			t.Fatalf("the executor as witness: %v", err)
		}
		if _, err := f.App.ExecuteDestruction(ctx, op, batch.ID, f.Proof("gm")); !errors.Is(err, custos.ErrWitnessIsApprover) {
			t.Fatalf("an approver as witness: %v", err)
		}
		if _, err := f.App.SetUserDisabled(ctx, f.Actor("admin"), f.Users["custodian"].ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.ExecuteDestruction(ctx, op, batch.ID, f.Proof("custodian")); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a disabled witness: %v", err)
		}
		for _, r := range []struct {
			action, reason string
			n              int
		}{
			{"destruction.witness", "bad_password", 2}, {"destruction.witness", "witness_is_executor", 1},
			{"destruction.witness", "witness_is_approver", 1}, {"destruction.witness", "disabled", 1},
		} {
			if got := denials(t, f, r.action, r.reason); got != r.n {
				t.Errorf("%s %s: %d audited refusals, want %d", r.action, r.reason, got, r.n)
			}
		}
		if b, err := f.App.DestructionBatch(ctx, op, batch.ID); err != nil || b.State != custos.BatchApproved || b.WitnessID != 0 {
			t.Fatalf("after the refusals the batch is %+v (%v)", b, err)
		}
		// With the witness there in person, it goes ahead.
		done, err := f.App.ExecuteDestruction(ctx, op, batch.ID, f.Proof("auditor"))
		if err != nil || done.State != custos.BatchExecuted || done.WitnessID != f.Users["auditor"].ID {
			t.Fatalf("execution with the witness: %v %+v", err, done)
		}
	})
}

// TestHandoverSignature_RG1: each party signs with their own password; a
// session or token alone, or a wrong password, is not a signature.
func TestHandoverSignature_RG1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		f.Create(t, "am_bj01", apptest.Person("交接签字甲"))
		h, err := f.App.StartHandover(ctx, f.Actor("mgr_bj"), app.HandoverInput{Leaver: "am_bj01", Successors: []string{"am2_bj01"}, Supervisor: "mgr_bj", Reason: "调岗"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.SignHandover(ctx, f.Actor("am_bj01"), h.ID, app.Credentials{}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a signature without a password: %v", err)
		}
		// The password of another party does not sign for this one.
		if _, err := f.App.SignHandover(ctx, f.Actor("am_bj01"), h.ID, app.Credentials{Username: "mgr_bj", Password: "Wrong-Passw0rd!"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("someone else's credentials: %v", err)
		}
		if n := denials(t, f, "handover.sign", "bad_password"); n != 2 || failedLogins(t, f, "am_bj01") != 2 || failedLogins(t, f, "mgr_bj") != 0 {
			t.Fatalf("audited %d; failures leaver %d supervisor %d", n, failedLogins(t, f, "am_bj01"), failedLogins(t, f, "mgr_bj"))
		}
		got, _, err := f.App.Handover(ctx, f.Actor("mgr_bj"), h.ID)
		if err != nil || len(got.SignedAt) != 0 {
			t.Fatalf("signed without a credential: %v %+v", err, got)
		}
		secret := enrolTOTP(t, f, "mgr_bj")
		for _, who := range []string{"am_bj01", "am2_bj01"} {
			if _, err := f.App.SignHandover(ctx, f.Actor(who), h.ID, f.Proof(who)); err != nil {
				t.Fatalf("%s signs: %v", who, err)
			}
		}
		if _, err := f.App.SignHandover(ctx, f.Actor("mgr_bj"), h.ID, f.Proof("mgr_bj")); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("the supervisor's signature without their code: %v", err)
		}
		proof := f.Proof("mgr_bj")
		proof.TOTP = totpNow(t, f, secret)
		done, err := f.App.SignHandover(ctx, f.Actor("mgr_bj"), h.ID, proof)
		if err != nil || done.State != custos.HandoverCompleted {
			t.Fatalf("the supervisor signs: %v %+v", err, done)
		}
	})
}

// TestTokenLimits_RC4: a token hands on no more than it holds, for no
// longer than it lives; nobody mints a token for someone else; tokens are
// listed and revoked by their owner or an administrator.
func TestTokenLimits_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		parent, err := f.App.CreateToken(ctx, f.Actor("am_bj01"), "parent", []string{"customers:read"}, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		viaToken, err := f.App.TokenActor(ctx, parent.Secret, "127.0.0.1", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.CreateToken(ctx, viaToken, "wider", []string{"customers:read", "customers:write"}, time.Hour); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a token minted more scopes: %v", err)
		}
		if _, err := f.App.CreateToken(ctx, viaToken, "longer", nil, 48*time.Hour); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a token minted one that outlives it: %v", err)
		}
		child, err := f.App.CreateToken(ctx, viaToken, "child", nil, 0)
		if err != nil || !slices.Equal(child.Scopes, []string{"customers:read"}) || child.ExpiresAt.After(parent.ExpiresAt) {
			t.Fatalf("child token: %v %+v (parent expires %s)", err, child, parent.ExpiresAt)
		}
		if _, err := f.App.CreateToken(ctx, custos.SystemActor("cli"), "x", nil, 0); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("the system minted a token: %v", err)
		}

		ts, err := f.App.Tokens(ctx, f.Actor("am_bj01"), f.Users["am_bj01"].ID)
		if err != nil || len(ts) != 2 {
			t.Fatalf("own tokens: %v %+v", err, ts)
		}
		if _, err := f.App.Tokens(ctx, f.Actor("am2_bj01"), f.Users["am_bj01"].ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("a colleague lists the tokens: %v", err)
		}
		if err := f.App.RevokeToken(ctx, f.Actor("am2_bj01"), child.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("a colleague revokes a token: %v", err)
		}
		if err := f.App.RevokeToken(ctx, f.Actor("am_bj01"), child.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.App.RevokeToken(ctx, f.Actor("am_bj01"), child.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("revoked twice: %v", err)
		}
		if ts, err := f.App.Tokens(ctx, f.Actor("admin"), f.Users["am_bj01"].ID); err != nil || len(ts) != 2 || ts[1].RevokedAt == nil {
			t.Fatalf("the administrator's view: %v %+v", err, ts)
		}
		if err := f.App.RevokeToken(ctx, f.Actor("admin"), parent.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.TokenActor(ctx, parent.Secret, "127.0.0.1", ""); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("a revoked token still works: %v", err)
		}
	})
}

// TestOneTimePasswords_RC4: a password set by an administrator — at
// creation or by a reset — must be changed at the next sign-in, and the
// reset ends the person's sessions and tokens; so does a reset of the
// second factor. The first user of an empty store sets their own.
func TestOneTimePasswords_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		sess, err := f.App.Login(ctx, app.Credentials{Username: "am_bj01", Password: apptest.Password, Via: "web"})
		if err != nil || sess.User.MustChangePassword {
			t.Fatalf("login: %v %+v", err, sess)
		}
		tok, err := f.App.CreateToken(ctx, f.Actor("am_bj01"), "t", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		resetApproved(t, f, "am_bj01", "Reset-Passw0rd-1!")
		if _, err := f.App.SessionFor(ctx, sess.Token); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("the session outlived the reset: %v", err)
		}
		if _, err := f.App.TokenActor(ctx, tok.Secret, "", ""); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("the token outlived the reset: %v", err)
		}
		s2, err := f.App.Login(ctx, app.Credentials{Username: "am_bj01", Password: "Reset-Passw0rd-1!", Via: "web"})
		if err != nil || !s2.User.MustChangePassword {
			t.Fatalf("login with the one-time password: %v %+v", err, s2)
		}
		if s, err := f.App.SessionFor(ctx, s2.Token); err != nil || !s.User.MustChangePassword {
			t.Fatalf("the session does not carry the one-time flag: %v", err)
		}
		self := app.ActorFor(s2.User, s2.Org, "web", "", "", "")
		if _, err := f.App.CreateToken(ctx, self, "t", nil, 0); !errors.Is(err, app.ErrMustChangePassword) {
			t.Fatalf("a token minted with a one-time password: %v", err)
		}
		if err := f.App.SetPassword(ctx, self, self.UserID, "wrong", "Own-Passw0rd-2027!"); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a change with a wrong current password: %v", err)
		}
		if err := f.App.SetPassword(ctx, self, self.UserID, "Reset-Passw0rd-1!", "Own-Passw0rd-2027!"); err != nil {
			t.Fatal(err)
		}
		if s, err := f.App.Login(ctx, app.Credentials{Username: "am_bj01", Password: "Own-Passw0rd-2027!", Via: "web"}); err != nil || s.User.MustChangePassword {
			t.Fatalf("after the change: %v", err)
		}

		// An account an administrator creates starts with a one-time password.
		u, _, err := f.App.CreateUser(ctx, f.Actor("admin"), app.NewUser{Username: "new.am", Org: "BJ01", Role: custos.RoleAccountManager, Password: "Erst-Passw0rt-2026!"})
		if err != nil || !u.MustChangePassword {
			t.Fatalf("new user: %v %+v", err, u)
		}
		// …but the first of an empty store sets their own.
		empty := sqltest.OpenSQLite(t)
		if db.Dialect() == sqlstore.Postgres {
			empty = sqltest.OpenPostgres(t)
		}
		keys, err := seal.CreateKeyring(t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		g := app.New(app.DefaultConfig(), empty, keys, custos.NewFakeClock(apptest.Start), slog.New(slog.NewTextHandler(io.Discard, nil)))
		defer g.Close()
		if err := g.CreateOrg(ctx, custos.SystemActor("cli"), &custos.Org{Code: "HQ", Name: "总行", Kind: custos.HeadOffice}); err != nil {
			t.Fatal(err)
		}
		first, _, err := g.CreateUser(ctx, custos.SystemActor("cli"), app.NewUser{Username: "root", Org: "HQ", Role: custos.RoleAdmin, Password: "Zongheng-Guanli-2026!"})
		if err != nil || first.MustChangePassword {
			t.Fatalf("first administrator: %v %+v", err, first)
		}
		// The administrator's next account is one-time (the CLI acts as
		// the signed-in administrator once the store has users).
		hq, err := g.Orgs(ctx)
		if err != nil || len(hq) == 0 {
			t.Fatal(err)
		}
		root := app.ActorFor(first, hq[0], "test", "127.0.0.1", "req-test", "service")
		second, _, err := g.CreateUser(ctx, root, app.NewUser{Username: "second", Org: "HQ", Role: custos.RoleAccountManager, Password: "Zweiter-Passw0rt-2026!"})
		if err != nil || second == nil || !second.MustChangePassword {
			t.Fatalf("second user: %v %+v", err, second)
		}

		// A reset of the second factor ends sessions and tokens too.
		enrolTOTP(t, f, "mgr_bj")
		s3, err := f.App.Login(ctx, app.Credentials{Username: "mgr_bj", Password: apptest.Password, TOTP: "", Via: "web"})
		if custos.ErrorCodeOf(err) != custos.EMFARequired {
			t.Fatalf("login without the code: %v %v", err, s3)
		}
		tok3, err := f.App.CreateToken(ctx, f.Actor("mgr_bj"), "t", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.ResetSecondFactor(ctx, f.Actor("mgr_bj"), f.Users["mgr_bj"].ID); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("own second factor reset: %v", err)
		}
		if _, err := f.App.ResetSecondFactor(ctx, f.Actor("am2_bj01"), f.Users["mgr_bj"].ID); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("a non-administrator reset a second factor: %v", err)
		}
		// A manager's account is privileged: the reset waits for the
		// security administrator's approval, then takes effect.
		filed, err := f.App.ResetSecondFactor(ctx, f.Actor("admin"), f.Users["mgr_bj"].ID)
		if err != nil || filed == nil {
			t.Fatalf("the reset of a manager's second factor: %+v %v", filed, err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("secadmin"), filed.ID, true, "本人确认"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.TokenActor(ctx, tok3.Secret, "", ""); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("the token outlived the second-factor reset: %v", err)
		}
		if s, err := f.App.Login(ctx, app.Credentials{Username: "mgr_bj", Password: apptest.Password, Via: "web"}); err != nil || s.User.MFAEnabled {
			t.Fatalf("login after the reset: %v", err)
		}
	})
}

// resetApproved has the administrator reset a user's password and, when
// the account reaches customers (so the reset is only filed), the security
// administrator approve it.
func resetApproved(t *testing.T, f *apptest.Fixture, user, pw string) {
	t.Helper()
	filed, err := f.App.ResetPassword(ctx, f.Actor("admin"), f.Users[user].ID, pw)
	if err != nil {
		t.Fatal(err)
	}
	if filed != nil {
		if _, err := f.App.DecideRequest(ctx, f.Actor("secadmin"), filed.ID, true, "本人确认"); err != nil {
			t.Fatal(err)
		}
	}
}
