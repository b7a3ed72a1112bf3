package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/jobs"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Schedule is a scheduled backup: a backup into Dir every period, named
// custos-DIALECT-YYYYMMDDTHHMMSSZ.tar.gz.age, then the removal of the old
// ones. Retention keeps a backup while it is one of the Keep newest or
// younger than KeepFor (either rule suffices; zero disables a rule; with
// both zero nothing is removed). Only files with that name pattern are
// ever removed, and nothing is removed after a failed backup.
type Schedule struct {
	Dir     string
	Keep    int
	KeepFor time.Duration
	Options Options
}

// JobName is the scheduler's name for scheduled backups.
const JobName = "backup"

// Job is the scheduler job of the schedule.
func (s Schedule) Job(db *sqlstore.DB, every time.Duration) jobs.Job {
	return jobs.Job{Name: JobName, Every: every, Lease: 30 * time.Minute, Run: func(ctx context.Context) (string, error) { return s.Run(ctx, db) }}
}

// Check refuses a schedule that cannot work: no directory, no passphrase,
// or a passphrase file kept in the backup directory.
func (s Schedule) Check(passphraseFile string) error {
	if s.Dir == "" {
		return errors.New("scheduled backups need a directory")
	}
	if err := checkPassphrase(s.Options.Passphrase); err != nil {
		return err
	}
	return CheckPassphrasePlace(passphraseFile, s.Dir)
}

// CheckPassphrasePlace refuses a passphrase file in the directory the
// backups go to: the passphrase is never stored beside the backup.
func CheckPassphrasePlace(passphraseFile, backupDir string) error {
	if passphraseFile == "" {
		return nil
	}
	pf, err1 := filepath.Abs(filepath.Dir(passphraseFile))
	bd, err2 := filepath.Abs(backupDir)
	if err1 == nil && err2 == nil && pf == bd {
		return errors.New("the passphrase file is in the backup directory: keep the passphrase away from the backups")
	}
	return nil
}

var backupName = regexp.MustCompile(`^custos-(sqlite|postgres)-(\d{8}T\d{6}Z)\.tar\.gz\.age$`)

const nameTime = "20060102T150405Z"

// Run makes one backup and applies the retention. Its message names the
// file and counts, never personal data.
func (s Schedule) Run(ctx context.Context, db *sqlstore.DB) (string, error) {
	clock := s.Options.Clock
	if clock == nil {
		clock = custos.SystemClock{}
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", err
	}
	now := clock.Now().UTC()
	name := fmt.Sprintf("custos-%s-%s.tar.gz.age", db.Dialect(), now.Format(nameTime))
	start := time.Now()
	m, err := Create(ctx, db, filepath.Join(s.Dir, name), s.Options)
	if err != nil {
		return "", err
	}
	removeStale(s.Dir)
	removed, err := Prune(s.Dir, now, s.Keep, s.KeepFor)
	msg := fmt.Sprintf("%s: %d tables, %d rows, audit head %d, keys %s, %s; %d old backups removed",
		name, len(m.Tables), m.Rows(), m.AuditHead, map[bool]string{true: "included", false: "not included"}[m.KeysIncluded],
		time.Since(start).Round(time.Millisecond), len(removed))
	return msg, err
}

// Prune removes the scheduled backups in dir that the retention no longer
// keeps (see Schedule) as of now, and returns their names.
func Prune(dir string, now time.Time, keep int, keepFor time.Duration) ([]string, error) {
	if keep <= 0 && keepFor <= 0 {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type backup struct {
		name string
		at   time.Time
	}
	var all []backup
	for _, e := range entries {
		sm := backupName.FindStringSubmatch(e.Name())
		if sm == nil || !e.Type().IsRegular() {
			continue
		}
		at, err := time.Parse(nameTime, sm[2])
		if err != nil {
			continue
		}
		all = append(all, backup{e.Name(), at})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.After(all[j].at) })
	var removed, failed []string
	for i, b := range all {
		if (keep > 0 && i < keep) || (keepFor > 0 && now.Sub(b.at) < keepFor) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, b.name)); err != nil {
			failed = append(failed, b.name)
			continue
		}
		removed = append(removed, b.name)
	}
	if len(failed) > 0 {
		return removed, fmt.Errorf("could not remove old backups: %s", strings.Join(failed, ", "))
	}
	return removed, nil
}

// staleAfter is when a temporary file or spool directory of a backup in
// the directory is taken for the leftover of a crashed process.
const staleAfter = 24 * time.Hour

// removeStale removes what a backup process that died mid-way left in dir:
// its spool directory (the unencrypted snapshot) and its unfinished file.
// Normal runs remove their own; this is for a crash or a power cut.
func removeStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, ".custos-backup-") && !(strings.HasPrefix(n, ".custos-") && strings.Contains(n, ".tmp-")) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAfter {
			os.RemoveAll(filepath.Join(dir, n))
		}
	}
}
