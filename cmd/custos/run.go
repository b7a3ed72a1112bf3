package main

import (
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
}

func commands() []command {
	return []command{
		{"serve", "run the web UI and the API", cmdServe},
		{"migrate", "apply database migrations", cmdMigrate},
		{"user", "manage users: user add", cmdUser},
		{"token", "manage API tokens: token create", cmdToken},
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
	keys, err := seal.OpenKeyring(e.cfg.keysDir(), e.cfg.KEKPath)
	if err != nil {
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
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return nil
}

// openImport opens an import's file, then the store, and finds the actor
// the rows are recorded as (the system actor when as is empty). It
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

// actorFor returns the actor a CLI command acts as: a named user (whose
// permissions apply exactly as in the UI), or the system for setup tasks.
func (e *env) actorFor(ctx context.Context, username, purpose string) (custos.Actor, error) {
	if username == "" {
		return custos.SystemActor("cli"), nil
	}
	u, org, err := e.app.UserByName(ctx, username)
	if err != nil {
		return custos.Actor{}, usageError{fmt.Sprintf("unknown user %q", username)}
	}
	host, _ := os.Hostname()
	return app.ActorFor(u, org, "cli", "cli@"+host, "", purpose), nil
}

func readSecret(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
