package main

import (
	"context"
	"flag"
	"fmt"
)

// cmdPortal switches the customer self-service portal on or off for one
// customer (R-B5), as a named member of staff whose permission to update
// the customer applies exactly as in the UI; audited.
func cmdPortal(ctx context.Context, e *env, args []string) error {
	const usage = "usage: custos portal enable --as USER --customer ARCHIVE_NO (--password-stdin | --codes-only) | portal disable --as USER --customer ARCHIVE_NO"
	if len(args) == 0 || (args[0] != "enable" && args[0] != "disable") {
		return usageError{usage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("portal "+sub, flag.ContinueOnError)
	as := fs.String("as", "", "act as this user (required)")
	customer := fs.String("customer", "", "the customer's archive number (required)")
	pwStdin := fs.Bool("password-stdin", false, "enable: read the customer's initial password from standard input")
	codesOnly := fs.Bool("codes-only", false, "enable: no password; the customer signs in with one-time e-mail codes")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if *as == "" || *customer == "" {
		return usageError{usage}
	}
	if sub == "enable" && *pwStdin == *codesOnly {
		return usageError{"enable: give exactly one of --password-stdin and --codes-only; passwords are never taken on the command line"}
	}
	password := ""
	if *pwStdin {
		pw, err := readSecret(e.stdin)
		if err != nil {
			return err
		}
		password = pw
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, "service")
	if err != nil {
		return err
	}
	if sub == "enable" {
		if err := e.app.EnablePortal(ctx, actor, *customer, password); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "portal access enabled for %s\n", *customer)
		return nil
	}
	if err := e.app.DisablePortal(ctx, actor, *customer); err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "portal access disabled for %s\n", *customer)
	return nil
}
