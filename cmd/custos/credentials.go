package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// How the CLI knows who it acts for (R-C4). A command that acts for a
// person does so only with that person's credentials:
//
//   - an API token in CUSTOS_TOKEN, checked against the store the command
//     opens exactly as the API checks it (hash, expiry, revocation, the
//     user's state; its scopes limit what the command may do), or
//   - --as USER and that user's password (and TOTP code when the user or
//     role needs one), read from the terminal without echo, or line by
//     line from standard input with --password-stdin.
//
// A wrong or missing credential refuses and is audited like a failed web
// login, with the same lockout counters. Maintenance commands that act
// for no person (migrate, backup, keys, audit, jobs) need none, and nor
// does the first administrator of an empty store.

const envToken = "CUSTOS_TOKEN"

func cliAddr() string {
	host, _ := os.Hostname()
	return "cli@" + host
}

// secret reads one secret: the next line of standard input with
// --password-stdin, else from the terminal without echo.
func (e *env) secret(prompt string) (string, error) {
	if e.pwStdin {
		if e.lines == nil {
			e.lines = bufio.NewReader(io.LimitReader(e.stdin, 64<<10))
		}
		line, err := e.lines.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", usageError{"--password-stdin: standard input ended before " + strings.TrimSuffix(prompt, ": ")}
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError{"no terminal to ask for " + strings.TrimSuffix(prompt, ": ") + ": use --password-stdin (one secret a line) or set " + envToken}
	}
	fmt.Fprint(e.stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	return string(b), err
}

// credentials asks for a person's password, and for their one-time code
// only when check says it is missing.
func (e *env) credentials(username, role string, check func(app.Credentials) error) error {
	c := app.Credentials{Username: username, Via: "cli", ClientAddr: cliAddr()}
	pw, err := e.secret(fmt.Sprintf("password of %s %s: ", role, username))
	if err != nil {
		return err
	}
	c.Password = pw
	err = check(c)
	if !errors.Is(err, app.ErrTOTPMissing) && !isFieldCode(err, "mfa_required") {
		return err
	}
	code, err := e.secret(fmt.Sprintf("one-time code of %s %s: ", role, username))
	if err != nil {
		return err
	}
	c.TOTP = strings.TrimSpace(code)
	return check(c)
}

func isFieldCode(err error, code string) bool {
	var ce *custos.Error
	if !errors.As(err, &ce) {
		return false
	}
	for _, f := range ce.Fields {
		if f.Code == code {
			return true
		}
	}
	return false
}

// needsPerson says whether a command that acts for a person lacks one.
func needsPerson(as string) bool { return as == "" && os.Getenv(envToken) == "" }

const personUsage = "--as USER (with that user's password from the terminal or --password-stdin) or " + envToken + " is required: the command acts for a person"

// actorFor authenticates the person a CLI command acts for; the services
// then apply that person's permissions exactly as in the UI and the API.
func (e *env) actorFor(ctx context.Context, username, purpose string) (custos.Actor, error) {
	if tok := os.Getenv(envToken); tok != "" {
		actor, err := e.app.AuthenticateToken(ctx, tok, "cli", cliAddr(), purpose)
		if err != nil {
			return custos.Actor{}, describe(err)
		}
		if username != "" && custos.NormalizeUsername(username) != actor.Username {
			return custos.Actor{}, usageError{fmt.Sprintf("--as %s does not match the user of %s (%s)", username, envToken, actor.Username)}
		}
		return actor, nil
	}
	if username == "" {
		return custos.Actor{}, usageError{personUsage}
	}
	var actor custos.Actor
	err := e.credentials(username, "user", func(c app.Credentials) error {
		var err error
		actor, err = e.app.Authenticate(ctx, c, purpose)
		return err
	})
	var missing usageError
	if errors.As(err, &missing) {
		if aerr := e.app.RefuseMissingCredential(ctx, username, "cli", cliAddr()); aerr != nil {
			return custos.Actor{}, aerr
		}
		return custos.Actor{}, err
	}
	if err != nil {
		return custos.Actor{}, describe(err)
	}
	return actor, nil
}
