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
	const usage = "usage: custos portal enable --as USER --customer ARCHIVE_NO [--codes-only] (the customer's initial password is read after yours, never taken on the command line) | portal disable --as USER --customer ARCHIVE_NO"
	if len(args) == 0 || (args[0] != "enable" && args[0] != "disable") {
		return usageError{usage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("portal "+sub, flag.ContinueOnError)
	as := fs.String("as", "", "act as this user (required)")
	customer := fs.String("customer", "", "the customer's archive number (required)")
	codesOnly := fs.Bool("codes-only", false, "enable: no password; the customer signs in with one-time e-mail codes")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if needsPerson(*as) || *customer == "" {
		return usageError{usage}
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, "service")
	if err != nil {
		return err
	}
	password := ""
	if sub == "enable" && !*codesOnly {
		// After the staff member's own credentials, the customer's password.
		if password, err = e.secret("initial portal password of the customer: "); err != nil {
			return err
		}
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
