package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

func cmdUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{"usage: custos user add --username U --role R [--org CODE] [--name NAME] --password-stdin"}
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	username := fs.String("username", "", "login name")
	role := fs.String("role", "", "role: "+rolesList())
	org := fs.String("org", "", "unit code (default: the head office)")
	name := fs.String("name", "", "display name")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if !*pwStdin {
		return usageError{"--password-stdin is required: passwords are never taken on the command line"}
	}
	pw, err := readSecret(e.stdin)
	if err != nil {
		return err
	}
	if err := e.open(ctx, true, nil); err != nil {
		return err
	}
	code := *org
	if code == "" {
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
		code = orgs[0].Code
	}
	u, _, err := e.app.CreateUser(ctx, custos.SystemActor("cli"), app.NewUser{Username: *username, DisplayName: *name, Org: code, Role: custos.Role(*role), Password: pw})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "user %s (%s) created in %s with id %d\n", u.Username, u.Role, code, u.ID)
	return nil
}

func rolesList() string {
	var s []string
	for _, r := range custos.Roles {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

func cmdToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"usage: custos token create --username U [--scopes s1,s2] [--ttl 2160h] [--name N]"}
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	username := fs.String("username", "", "user the token acts for")
	scopes := fs.String("scopes", "", "comma-separated scopes (default: all): "+strings.Join(custos.TokenScopes(), ", "))
	ttl := fs.Duration("ttl", 90*24*time.Hour, "lifetime")
	name := fs.String("name", "cli", "label")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if *username == "" {
		return usageError{"--username is required"}
	}
	if err := e.open(ctx, true, nil); err != nil {
		return err
	}
	var sc []string
	if *scopes != "" {
		sc = strings.Split(*scopes, ",")
	}
	t, err := e.app.CreateToken(ctx, custos.SystemActor("cli"), *username, *name, sc, *ttl)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintln(e.stdout, t.Secret)
	fmt.Fprintf(e.stderr, "token %d for %s, scopes %s, expires %s; it is shown only now\n", t.ID, *username, strings.Join(t.Scopes, ","), t.ExpiresAt.Format(time.RFC3339))
	return nil
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
