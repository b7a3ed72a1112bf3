package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

const userUsage = "usage: custos user add --username U --role R [--org CODE] [--name NAME] --as ADMIN | user reset-password --username U --as ADMIN | user reset-mfa --username U --as ADMIN"

// cmdUser manages accounts as an authenticated administrator; only the
// first administrator of an empty store is created without one. A
// password set here for someone else is one-time (R-C4).
func cmdUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{userUsage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	username := fs.String("username", "", "login name")
	role := fs.String("role", "", "add: role: "+rolesList())
	org := fs.String("org", "", "add: unit code (default: the head office)")
	name := fs.String("name", "", "add: display name")
	as := fs.String("as", "", "the administrator acting (not needed for the first administrator of an empty store)")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if *username == "" {
		return usageError{"--username is required: " + userUsage}
	}
	if err := e.open(ctx, sub == "add", nil); err != nil {
		return err
	}
	first, err := e.app.NoUsers(ctx)
	if err != nil {
		return err
	}
	actor := custos.SystemActor("cli")
	switch {
	case first && sub == "add":
		if custos.Role(*role) != custos.RoleAdmin {
			return usageError{"the first user of an empty store must be an administrator (--role admin)"}
		}
	case needsPerson(*as):
		return usageError{personUsage}
	default:
		if actor, err = e.actorFor(ctx, *as, ""); err != nil {
			return err
		}
	}
	switch sub {
	case "add":
		return userAdd(ctx, e, actor, app.NewUser{Username: *username, DisplayName: *name, Org: *org, Role: custos.Role(*role)}, first)
	case "reset-password", "reset-mfa":
		u, _, err := e.app.UserByName(ctx, *username)
		if err != nil {
			return usageError{fmt.Sprintf("unknown user %q", *username)}
		}
		if sub == "reset-mfa" {
			req, err := e.app.ResetSecondFactor(ctx, actor, u.ID)
			if err != nil {
				return describe(err)
			}
			if req != nil {
				fmt.Fprintf(e.stdout, "request #%d filed: %s holds a privileged account, whose reset a second authorised person approves\n", req.ID, u.Username)
				return nil
			}
			fmt.Fprintf(e.stdout, "second factor of %s cleared; their sessions and tokens ended\n", u.Username)
			return nil
		}
		pw, err := e.secret(fmt.Sprintf("one-time password for %s: ", u.Username))
		if err != nil {
			return err
		}
		req, err := e.app.ResetPassword(ctx, actor, u.ID, pw)
		if err != nil {
			return describe(err)
		}
		if req != nil {
			fmt.Fprintf(e.stdout, "request #%d filed: %s holds a privileged account, whose reset a second authorised person approves\n", req.ID, u.Username)
			return nil
		}
		fmt.Fprintf(e.stdout, "one-time password set for %s: it must be changed at the next sign-in; their sessions and tokens ended\n", u.Username)
		return nil
	}
	return usageError{userUsage}
}

func userAdd(ctx context.Context, e *env, actor custos.Actor, in app.NewUser, first bool) error {
	pw, err := e.secret(fmt.Sprintf("password for the new user %s: ", in.Username))
	if err != nil {
		return err
	}
	in.Password = pw
	if in.Org == "" {
		orgs, err := e.app.Orgs(ctx)
		if err != nil {
			return err
		}
		if len(orgs) == 0 {
			// A fresh installation: create the head office the first user belongs to.
			hq := &custos.Org{Code: "HQ", Name: "总行", NameEN: "Head office", Kind: custos.HeadOffice}
			if err := e.app.CreateOrg(ctx, custos.SystemActor("cli"), hq); err != nil {
				return err
			}
			orgs = append(orgs, hq)
			fmt.Fprintln(e.stderr, "created the head office unit HQ")
		}
		in.Org = orgs[0].Code
	}
	u, req, err := e.app.CreateUser(ctx, actor, in)
	if err == nil && req != nil {
		fmt.Fprintf(e.stdout, "request #%d filed: a privileged account takes effect only when a second authorised person approves it\n", req.ID)
		return nil
	}
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "user %s (%s) created in %s with id %d\n", u.Username, u.Role, in.Org, u.ID)
	if !first {
		fmt.Fprintln(e.stderr, "the password is one-time: the user must change it at the first sign-in (web UI or custos password)")
	}
	return nil
}

func rolesList() string {
	var s []string
	for _, r := range custos.Roles {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

// cmdPassword changes the caller's own password: the current one (and code)
// first, then the new one. It is also how a one-time password is replaced
// from the command line.
func cmdPassword(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("password", flag.ContinueOnError)
	as := fs.String("as", "", "your username (required)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *as == "" {
		return usageError{"usage: custos password --as USER [--password-stdin]: current password, then the new one"}
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	var newPW string
	err := e.credentials(*as, "user", func(c app.Credentials) error {
		if newPW == "" {
			// Ask for the new password once the current one is in hand.
			pw, err := e.secret("new password: ")
			if err != nil {
				return err
			}
			newPW = pw
		}
		return e.app.ChangeOwnPassword(ctx, c, newPW)
	})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "password of %s changed\n", custos.NormalizeUsername(*as))
	return nil
}

const tokenUsage = "usage: custos token create [--scopes s1,s2] [--ttl 2160h] [--name N] --as U | token list [--user U] --as U | token revoke ID --as U"

// cmdToken creates, lists and revokes API tokens for the authenticated
// person (R-C4): nobody creates a token that acts for someone else.
func cmdToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{tokenUsage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	as := fs.String("as", "", "the person acting (or "+envToken+")")
	scopes := fs.String("scopes", "", "create: comma-separated scopes (default: all you hold): "+strings.Join(custos.TokenScopes(), ", "))
	ttl := fs.Duration("ttl", 90*24*time.Hour, "create: lifetime")
	name := fs.String("name", "cli", "create: label")
	user := fs.String("user", "", "list: another user's tokens (administrators)")
	rest := args[1:]
	var id int64
	if sub == "revoke" {
		if len(rest) == 0 {
			return usageError{tokenUsage}
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return usageError{"ID must be a number: " + tokenUsage}
		}
		id, rest = n, rest[1:]
	}
	if err := e.parse(fs, rest); err != nil {
		return err
	}
	if needsPerson(*as) {
		return usageError{personUsage}
	}
	if err := e.open(ctx, true, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, "")
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		var sc []string
		if *scopes != "" {
			sc = strings.Split(*scopes, ",")
		}
		t, err := e.app.CreateToken(ctx, actor, *name, sc, *ttl)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(e.stdout, t.Secret)
		fmt.Fprintf(e.stderr, "token %d for %s, scopes %s, expires %s; it is shown only now\n", t.ID, actor.Username, strings.Join(t.Scopes, ","), t.ExpiresAt.Format(time.RFC3339))
		return nil
	case "list":
		uid := actor.UserID
		if *user != "" {
			u, _, err := e.app.UserByName(ctx, *user)
			if err != nil {
				return usageError{fmt.Sprintf("unknown user %q", *user)}
			}
			uid = u.ID
		}
		ts, err := e.app.Tokens(ctx, actor, uid)
		if err != nil {
			return describe(err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tSCOPES\tEXPIRES\tSTATE")
		for _, t := range ts {
			st := "live"
			if t.RevokedAt != nil {
				st = "revoked"
			} else if !e.app.Clock().Now().Before(t.ExpiresAt) {
				st = "expired"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), t.ExpiresAt.Format(time.DateTime), st)
		}
		return w.Flush()
	case "revoke":
		if err := e.app.RevokeToken(ctx, actor, id); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "token %d revoked\n", id)
		return nil
	}
	return usageError{tokenUsage}
}

// describe turns field errors into a readable CLI error.
func describe(err error) error {
	var b strings.Builder
	ce, ok := err.(*custos.Error)
	if !ok {
		return err
	}
	b.WriteString(ce.Message.EN)
	for _, f := range ce.Fields {
		fmt.Fprintf(&b, "\n  %s: %s (%s / %s)", f.Field, f.Code, f.Message.EN, f.Message.ZH)
	}
	return fmt.Errorf("%s", b.String())
}
