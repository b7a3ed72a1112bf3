package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/backup"
	"github.com/custos-cim/custos/internal/jobs"
	"github.com/custos-cim/custos/internal/sqlstore"
)

const backupUsage = `usage: custos backup create FILE [--include-keys]
       custos backup restore FILE (--data NEWDIR | --db URL) [--keys DIR]
       custos backup drill FILE [--keys DIR] [--report FILE.json] [--sample N]
       custos backup show FILE
the passphrase comes from --passphrase-file F or the environment variable CUSTOS_BACKUP_PASSPHRASE`

func cmdBackup(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{backupUsage}
	}
	switch args[0] {
	case "create":
		return backupCreate(ctx, e, args[1:])
	case "restore":
		return backupRestore(ctx, e, args[1:])
	case "drill":
		return backupDrill(ctx, e, args[1:])
	case "show":
		return backupShow(ctx, e, args[1:])
	}
	return usageError{"unknown backup command " + args[0] + "\n" + backupUsage}
}

// backupFlags parses a backup command's flags and its FILE argument, which
// may come before or after the flags.
func backupFlags(e *env, fs *flag.FlagSet, args []string) (file, passFile string, err error) {
	pf := fs.String("passphrase-file", "", "file holding the backup passphrase (default: env CUSTOS_BACKUP_PASSPHRASE); never keep it beside the backups")
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := e.parse(fs, args); err != nil {
		return "", "", err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return "", "", usageError{backupUsage}
	}
	return file, *pf, nil
}

// backupPassphrase reads the passphrase from the file, or from the
// environment. A passphrase file that group or others can read is refused,
// as key files are.
func backupPassphrase(file string) (string, error) {
	if file == "" {
		if p := os.Getenv("CUSTOS_BACKUP_PASSPHRASE"); p != "" {
			return p, nil
		}
		return "", usageError{backup.ErrPassphrase.Error()}
	}
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("passphrase file %s has mode %04o and is accessible by group or others; run: chmod 600 %s", file, st.Mode().Perm(), file)
	}
	p, err := readSecret(f)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", usageError{backup.ErrPassphrase.Error()}
	}
	return p, nil
}

// setFlags reports which flags were given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// openStore opens the configured store as it is, for commands that must
// not change it (no migration) and need no keys.
func (e *env) openStore(ctx context.Context) error {
	if e.cfg.DBURL == "" {
		if _, err := os.Stat(filepath.Join(e.cfg.DataDir, "custos.db")); err != nil {
			return fmt.Errorf("no Custos store in %s: %w", e.cfg.DataDir, err)
		}
	}
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: e.cfg.DBURL, DataDir: e.cfg.DataDir, SQLiteSync: e.cfg.SQLiteSync})
	if err != nil {
		return err
	}
	e.db = db
	applied, _, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if applied == 0 {
		return errors.New("the database holds no Custos store (no migrations applied)")
	}
	return nil
}

func backupCreate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("backup create", flag.ContinueOnError)
	includeKeys := fs.Bool("include-keys", false, "put the key directory inside the encrypted backup (disaster recovery); by default the keys are backed up separately")
	quiet := fs.Bool("quiet", false, "no progress bar")
	file, passFile, err := backupFlags(e, fs, args)
	if err != nil {
		return err
	}
	pass, err := backupPassphrase(passFile)
	if err != nil {
		return err
	}
	if err := backup.CheckPassphrasePlace(passFile, filepath.Dir(file)); err != nil {
		return usageError{err.Error()}
	}
	if err := e.openStore(ctx); err != nil {
		return err
	}
	bars := newBars(e, *quiet)
	m, err := backup.Create(ctx, e.db, file, backup.Options{Passphrase: pass, IncludeKeys: *includeKeys,
		KeysDir: e.cfg.keysDir(), KEKPath: e.cfg.KEKPath, CheckpointEvery: app.DefaultConfig().CheckpointEvery, Progress: bars.update})
	bars.finish()
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted: no backup was written")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup written to %s: %s, schema version %d, %d tables, %d rows, audit head %d, keys %s\n",
		file, m.Dialect, m.SchemaVersion, len(m.Tables), m.Rows(), m.AuditHead, keysWord(m.KeysIncluded))
	if !m.KeysIncluded {
		fmt.Fprintf(e.stdout, "the key directory (%s) is NOT in this backup: back it up separately, to another place; without it the backup cannot be read\n", e.cfg.keysDir())
	}
	return nil
}

func keysWord(included bool) string {
	if included {
		return "included"
	}
	return "not included"
}

func backupRestore(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("backup restore", flag.ContinueOnError)
	quiet := fs.Bool("quiet", false, "no progress bar")
	file, passFile, err := backupFlags(e, fs, args)
	if err != nil {
		return err
	}
	set := setFlags(fs)
	// The target is what the command line names, never a default or the
	// environment: a restore goes only where the operator says.
	var t backup.Target
	switch {
	case set["db"] && set["data"]:
		return usageError{"restore into --data NEWDIR (SQLite) or --db URL (PostgreSQL), not both"}
	case set["db"]:
		t.DBURL = e.cfg.DBURL
	case set["data"]:
		t.DataDir = e.cfg.DataDir
	default:
		return usageError{"name the restore target on the command line: --data NEWDIR (SQLite) or --db URL (PostgreSQL)"}
	}
	if set["keys"] {
		t.KeysDir = e.cfg.KeysDir
	}
	pass, err := backupPassphrase(passFile)
	if err != nil {
		return err
	}
	bars := newBars(e, *quiet)
	res, err := backup.Restore(ctx, file, t, backup.RestoreOptions{Passphrase: pass, Progress: bars.update})
	bars.finish()
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted: nothing was restored")
	}
	if err != nil {
		return err
	}
	m := res.Manifest
	where := t.DataDir
	if t.DBURL != "" {
		where = redactURL(t.DBURL)
	}
	fmt.Fprintf(e.stdout, "restored the backup of %s into %s: %d tables, %d rows, audit head %d, row counts match the manifest\n",
		m.CreatedAt.Format(time.RFC3339), where, len(res.Tables), m.Rows(), m.AuditHead)
	if len(res.Migrated) > 0 {
		fmt.Fprintf(e.stdout, "schema upgraded from version %d: %s\n", m.SchemaVersion, strings.Join(res.Migrated, ", "))
	}
	if res.KeysDir != "" {
		fmt.Fprintf(e.stdout, "key files restored to %s\n", res.KeysDir)
	} else {
		fmt.Fprintln(e.stdout, "this backup holds no keys: put the key directory backed up with it in place (DATA/keys, or --keys DIR) before starting custos;"+
			" started without it, custos creates new keys, which cannot read this data")
	}
	fmt.Fprintln(e.stdout, "next: `custos audit verify` and `custos backup drill` on the restored store")
	return nil
}

func backupDrill(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("backup drill", flag.ContinueOnError)
	report := fs.String("report", "", "write the drill report here as JSON, and beside it as text (default FILE.drill.json)")
	sample := fs.Int("sample", 50, "how many customers to decrypt")
	tmp := fs.String("tmp", "", "directory for the temporary restore of a SQLite backup (default: the system's)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	file, passFile, err := backupFlags(e, fs, args)
	if err != nil {
		return err
	}
	pass, err := backupPassphrase(passFile)
	if err != nil {
		return err
	}
	if *report == "" {
		*report = file + ".drill.json"
	}
	bars := newBars(e, *quiet)
	rep, err := backup.Drill(ctx, file, backup.DrillOptions{Passphrase: pass, KeysDir: e.cfg.keysDir(), KEKPath: e.cfg.KEKPath,
		DBURL: e.cfg.DBURL, TempDir: *tmp, Sample: *sample, Progress: bars.update})
	bars.finish()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	text := strings.TrimSuffix(*report, filepath.Ext(*report)) + ".txt"
	if err := os.WriteFile(*report, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(text, []byte(rep.Summary()), 0o600); err != nil {
		return err
	}
	fmt.Fprint(e.stdout, rep.Summary())
	fmt.Fprintf(e.stdout, "report: %s, %s\n", *report, text)
	if !rep.OK {
		return errors.New("backup drill FAILED")
	}
	return nil
}

func backupShow(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("backup show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	file, passFile, err := backupFlags(e, fs, args)
	if err != nil {
		return err
	}
	pass, err := backupPassphrase(passFile)
	if err != nil {
		return err
	}
	m, err := backup.ReadManifest(ctx, file, pass)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	fmt.Fprintf(e.stdout, "format %d, %s, taken %s, schema version %d, audit head %d, keys %s\n",
		m.Format, m.Dialect, m.CreatedAt.Format(time.RFC3339), m.SchemaVersion, m.AuditHead, keysWord(m.KeysIncluded))
	for _, t := range m.Tables {
		fmt.Fprintf(e.stdout, "  %-24s %10d rows\n", t.Name, t.Rows)
	}
	return nil
}

// bars shows one progress bar per phase of a long backup command.
type bars struct {
	w     io.Writer
	quiet bool

	mu    sync.Mutex
	phase string
	bar   *progressbar.ProgressBar
	max   int64
}

func newBars(e *env, quiet bool) *bars { return &bars{w: e.stderr, quiet: quiet} }

func (b *bars) update(p backup.Progress) {
	if b.quiet {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Phase != b.phase {
		if b.bar != nil {
			b.bar.Finish()
		}
		b.phase, b.max = p.Phase, p.Total
		b.bar = progressbar.NewOptions64(p.Total, progressbar.OptionSetWriter(b.w), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription(p.Phase), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	if p.Total > 0 && p.Total != b.max {
		b.max = p.Total
		b.bar.ChangeMax64(p.Total)
	}
	b.bar.Set64(p.Done)
}

func (b *bars) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		b.bar.Finish()
		b.bar = nil
	}
}

// scheduleFlags are serve's flags for scheduled backups.
type scheduleFlags struct {
	dir, passFile string
	every         time.Duration
	keep          int
	keepDays      int
	includeKeys   bool
	pass          string
}

func backupScheduleFlags(fs *flag.FlagSet) *scheduleFlags {
	s := &scheduleFlags{}
	fs.StringVar(&s.dir, "backup-dir", os.Getenv("CUSTOS_BACKUP_DIR"), "scheduled backups: write an encrypted backup into this directory every --backup-every (env CUSTOS_BACKUP_DIR); needs the passphrase")
	fs.DurationVar(&s.every, "backup-every", 24*time.Hour, "scheduled backups: period")
	fs.IntVar(&s.keep, "backup-keep", 7, "scheduled backups: keep the N newest (0: no count rule)")
	fs.IntVar(&s.keepDays, "backup-keep-days", 0, "scheduled backups: also keep every backup younger than D days (0: no age rule)")
	fs.BoolVar(&s.includeKeys, "backup-include-keys", false, "scheduled backups: put the key directory inside each backup")
	fs.StringVar(&s.passFile, "backup-passphrase-file", "", "scheduled backups: file holding the passphrase (default: env CUSTOS_BACKUP_PASSPHRASE)")
	return s
}

// check refuses scheduled backups that cannot work, before the server starts.
func (s *scheduleFlags) check() error {
	if s.dir == "" {
		return nil
	}
	if s.every < time.Minute {
		return usageError{"--backup-every must be at least 1m"}
	}
	var err error
	if s.pass, err = backupPassphrase(s.passFile); err != nil {
		return err
	}
	sched := backup.Schedule{Dir: s.dir, Options: backup.Options{Passphrase: s.pass}}
	if err := sched.Check(s.passFile); err != nil {
		return usageError{"--backup-dir: " + err.Error()}
	}
	return nil
}

// job is the scheduled backup job, if scheduled backups are on.
func (s *scheduleFlags) job(e *env) (jobs.Job, bool) {
	if s.dir == "" {
		return jobs.Job{}, false
	}
	sched := backup.Schedule{Dir: s.dir, Keep: s.keep, KeepFor: time.Duration(s.keepDays) * 24 * time.Hour, Options: backup.Options{
		Passphrase: s.pass, IncludeKeys: s.includeKeys, KeysDir: e.cfg.keysDir(), KEKPath: e.cfg.KEKPath,
		CheckpointEvery: e.app.Config().CheckpointEvery, Clock: e.app.Clock(),
	}}
	return sched.Job(e.db, s.every), true
}
