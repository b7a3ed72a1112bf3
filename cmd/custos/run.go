package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Config is where Custos keeps its data and keys.
type Config struct {
	DataDir    string // SQLite file, key files by default
	DBURL      string // PostgreSQL instead of SQLite
	KeysDir    string // key files; default DataDir/keys
	KEKPath    string // the key-encryption keyset; default KeysDir/kek.json
	SQLiteSync string
	MFARoles   string // roles that must use a second factor, comma-separated
	SMTP       string // smtp://user:pass@host:port?from=… for notices
	PDFFont    string // TrueType font with Chinese glyphs for PDFs
}

// String describes the configuration without secrets.
func (c Config) String() string {
	db := "sqlite:" + filepath.Join(c.DataDir, "custos.db")
	if c.DBURL != "" {
		db = redactURL(c.DBURL)
	}
	return fmt.Sprintf("db=%s keys=%s", db, c.keysDir())
}

func (c Config) keysDir() string {
	if c.KeysDir != "" {
		return c.KeysDir
	}
	return filepath.Join(c.DataDir, "keys")
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://…"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.Redacted()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// globalFlags registers the flags every command takes.
func globalFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.DataDir, "data", envOr("CUSTOS_DATA", "custos-data"), "data directory for the SQLite database and key files (env CUSTOS_DATA)")
	fs.StringVar(&c.DBURL, "db", os.Getenv("CUSTOS_DB"), "PostgreSQL URL, postgres://… (env CUSTOS_DB); empty means SQLite under --data")
	fs.StringVar(&c.KeysDir, "keys", os.Getenv("CUSTOS_KEYS"), "directory of the key files (env CUSTOS_KEYS; default DATA/keys)")
	fs.StringVar(&c.KEKPath, "kek", os.Getenv("CUSTOS_KEK"), "path of the key-encryption keyset (env CUSTOS_KEK; default KEYS/kek.json)")
	fs.StringVar(&c.SQLiteSync, "sqlite-sync", envOr("CUSTOS_SQLITE_SYNC", "full"), "SQLite synchronous level: full (survives power loss) or normal (may lose the last commits on power loss)")
	fs.StringVar(&c.SMTP, "smtp", os.Getenv("CUSTOS_SMTP"), "send notices through this SMTP relay: smtp://user:pass@host:port?from=custos@example.com (env CUSTOS_SMTP)")
	fs.StringVar(&c.PDFFont, "pdf-font", envOr("CUSTOS_PDF_FONT", pdfdoc.DefaultFont), "TrueType font with Chinese glyphs for PDF documents (env CUSTOS_PDF_FONT)")
	fs.StringVar(&c.MFARoles, "mfa-roles", os.Getenv("CUSTOS_MFA_ROLES"), "roles that must log in with a TOTP second factor, comma-separated (env CUSTOS_MFA_ROLES)")
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e *env, args []string) error
}

// env is what commands share: streams and, once opened, the services.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	cfg            Config
	app            *app.App
	db             *sqlstore.DB
	cmd            string        // the command running, for keyCreators
	pwStdin        bool          // --password-stdin: secrets come from stdin, one a line
	lines          *bufio.Reader // stdin, once secrets are read from it
}

// keyCreators are the commands that may create keys, and only for a store
// that holds no data yet (app.OpenKeys): the first migrate, serve or user
// add on a new data directory, and keys init. Any other command, and any
// command on a store that holds data, refuses to run without its keys.
var keyCreators = map[string]bool{"migrate": true, "serve": true, "user": true, "keys init": true}

func commands() []command {
	return []command{
		{"serve", "run the web UI and the API", cmdServe},
		{"migrate", "apply database migrations", cmdMigrate},
		{"user", "manage users: user add, user reset-password, user reset-mfa (an administrator's credentials; not for the first administrator)", cmdUser},
		{"password", "change your own password (also a one-time one): password --as U", cmdPassword},
		{"token", "your API tokens: token create, token list, token revoke ID", cmdToken},
		{"customer", "bulk customer data: customer import FILE, customer export --out FILE (encrypted)", cmdCustomer},
		{"audit", "audit trail: audit verify, audit checkpoint", cmdAudit},
		{"keys", "key management: keys status, keys rotate, keys retire", cmdKeys},
		{"request", "approval requests: request list, request approve ID, request reject ID", cmdRequest},
		{"backup", "encrypted backups: backup create FILE, backup restore FILE, backup drill FILE, backup show FILE", cmdBackup},
		{"jobs", "the scheduler: jobs list (schedule and recent runs)", cmdJobs},
		{"portal", "customer self-service: portal enable --customer ARCHIVE_NO, portal disable", cmdPortal},
		{"txn", "transaction records: txn import FILE, txn search", cmdTxn},
		{"export", "encrypted exports: export create, export generate ID, export list", cmdExport},
		{"agreement", "confidentiality agreements with outside parties: agreement add, list, revoke ID", cmdAgreement},
		{"retention", "retention: retention due [--dry-run], retention close, retention policy", cmdRetention},
		{"hold", "legal holds: hold place, hold release ID, hold list", cmdHold},
		{"destruction", "secure destruction: destruction create, execute ID --witness U, certificate ID, list", cmdDestruction},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: custos <command> [flags]\n\ncommands:")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrun 'custos <command> -h' for a command's flags")
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	defer e.close()
	for _, c := range commands() {
		if c.name == args[0] {
			e.cmd = c.name
			if c.name == "keys" && len(args) > 1 {
				e.cmd = "keys " + args[1]
			}
			return c.run(ctx, e, args[1:])
		}
	}
	usage(stderr)
	return usageError{"unknown command " + args[0]}
}

// open connects to the store, migrates it when asked (or refuses a stale
// schema) and opens the keyring and the services.
func (e *env) open(ctx context.Context, migrate bool, log *slog.Logger) error {
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: e.cfg.DBURL, DataDir: e.cfg.DataDir, SQLiteSync: e.cfg.SQLiteSync})
	if err != nil {
		return err
	}
	e.db = db
	if migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, m := range applied {
			fmt.Fprintln(e.stderr, "applied migration", m)
		}
	} else if err := db.CheckSchema(ctx); err != nil {
		return err
	}
	keys, err := app.OpenKeys(ctx, db, app.KeyOptions{Dir: e.cfg.keysDir(), KEKPath: e.cfg.KEKPath, Create: keyCreators[e.cmd],
		Progress: func(table string, done int64) { fmt.Fprintf(e.stderr, "\rtagged %d rows of %s", done, table) }})
	var missing *seal.MissingKeysError
	var wrong *app.WrongKeysError
	switch {
	case errors.As(err, &missing) || errors.As(err, &wrong):
		return err
	case err != nil:
		return fmt.Errorf("open keys in %s: %w", e.cfg.keysDir(), err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cfg := app.DefaultConfig()
	for _, r := range strings.Split(e.cfg.MFARoles, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if !custos.Role(r).Valid() {
			return usageError{fmt.Sprintf("--mfa-roles: unknown role %q (roles: %s)", r, rolesList())}
		}
		cfg.MFARoles = append(cfg.MFARoles, custos.Role(r))
	}
	e.app = app.New(cfg, db, keys, nil, log)
	e.app.SetPDF(pdfdoc.New(e.cfg.PDFFont))
	if e.cfg.SMTP != "" {
		n, err := app.NewSMTPNotifier(e.cfg.SMTP)
		if err != nil {
			return usageError{"--smtp: " + err.Error()}
		}
		e.app.SetNotifier(n)
	}
	return nil
}

func (e *env) close() {
	if e.app != nil {
		e.app.Close()
	}
	if e.db != nil {
		e.db.Close()
	}
}

// parse parses a command's flags with the global ones.
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	globalFlags(fs, &e.cfg)
	fs.BoolVar(&e.pwStdin, "password-stdin", false, "read passwords and one-time codes from standard input, one a line, in the order asked (default: from the terminal)")
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return nil
}

// openImport opens an import's file, then the store, and authenticates
// the person the rows are recorded as (an import acts for a person). It
// returns the file, which the caller closes, and its size for the
// progress bar.
func (e *env) openImport(ctx context.Context, file, as string) (*os.File, int64, custos.Actor, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, custos.Actor{}, err
	}
	st, err := f.Stat()
	if err == nil {
		err = e.open(ctx, true, nil)
	}
	var actor custos.Actor
	if err == nil {
		actor, err = e.actorFor(ctx, as, "service")
	}
	if err != nil {
		f.Close()
		return nil, 0, custos.Actor{}, err
	}
	return f, st.Size(), actor, nil
}

func readSecret(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
