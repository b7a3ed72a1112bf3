package backup

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/audit"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// DrillOptions configure Drill.
type DrillOptions struct {
	Passphrase string
	// KeysDir (and KEKPath) hold the keys to decrypt with when the backup
	// holds none. They are only read.
	KeysDir, KEKPath string
	// DBURL is the PostgreSQL database in which a PostgreSQL backup is
	// restored into a temporary schema, dropped afterwards.
	DBURL string
	// TempDir is where a SQLite backup is restored (default os.TempDir()).
	TempDir string
	// Sample is how many customers to decrypt (default 50).
	Sample   int
	Progress func(Progress)
	Clock    custos.Clock
}

// Check is one verdict of a drill.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// DrillReport is the record of a drill. It holds counts, times and
// verdicts, never personal data.
type DrillReport struct {
	File          string              `json:"file"`
	Started       time.Time           `json:"started"`
	Finished      time.Time           `json:"finished"`
	OK            bool                `json:"ok"`
	Dialect       sqlstore.Dialect    `json:"dialect,omitempty"`
	CreatedAt     time.Time           `json:"backup_created_at,omitzero"`
	SchemaVersion int                 `json:"schema_version,omitempty"`
	KeysIncluded  bool                `json:"keys_included"`
	KeysFrom      string              `json:"keys_from"` // "backup", "key directory" or "none"
	Checks        []Check             `json:"checks"`
	Tables        []TableCount        `json:"tables,omitempty"`
	AuditEvents   int64               `json:"audit_events"`
	Checkpoints   int                 `json:"audit_checkpoints"`
	Sample        *app.ReadableReport `json:"sample,omitempty"`
}

func (r *DrillReport) check(name string, ok bool, format string, args ...any) bool {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	if !ok {
		r.OK = false
	}
	return ok
}

// Summary is the report as text for a person.
func (r *DrillReport) Summary() string {
	var b strings.Builder
	verdict := "PASSED"
	if !r.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "Backup drill %s: %s\n", verdict, r.File)
	if !r.CreatedAt.IsZero() {
		fmt.Fprintf(&b, "  backup of %s, taken %s, schema version %d, keys %s\n", r.Dialect, r.CreatedAt.Format(time.RFC3339),
			r.SchemaVersion, map[bool]string{true: "included", false: "not included"}[r.KeysIncluded])
	}
	fmt.Fprintf(&b, "  drill ran %s – %s (%s)\n", r.Started.Format(time.RFC3339), r.Finished.Format(time.RFC3339), r.Finished.Sub(r.Started).Round(time.Millisecond))
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  [%s] %-12s %s\n", mark, c.Name, c.Detail)
	}
	return b.String()
}

// Drill restores a backup into a temporary place and checks that it is
// good: it decrypts and matches its checksums, every table has the
// manifest's row count, the audit chain verifies and reaches the
// manifest's head, and a sample of customers decrypts with the keys (from
// the backup if it holds them, else from KeysDir). The temporary copy is
// removed afterwards. Every problem is a failed check in the report;
// the error is only for a drill that could not run at all.
func Drill(ctx context.Context, file string, o DrillOptions) (*DrillReport, error) {
	clock := o.Clock
	if clock == nil {
		clock = custos.SystemClock{}
	}
	rep := &DrillReport{File: file, Started: clock.Now().UTC(), OK: true, KeysFrom: "none"}
	defer func() { rep.Finished = clock.Now().UTC() }()
	if err := checkPassphrase(o.Passphrase); err != nil {
		return nil, err
	}
	if o.Sample <= 0 {
		o.Sample = 50
	}
	sid, err := age.NewScryptIdentity(o.Passphrase)
	if err != nil {
		return nil, err
	}
	id := &keyOnce{id: sid}
	m, err := readManifest(ctx, file, id)
	if err != nil {
		rep.check("decrypt", false, "%v", err)
		return rep, nil
	}
	rep.Dialect, rep.CreatedAt, rep.SchemaVersion, rep.KeysIncluded = m.Dialect, m.CreatedAt, m.SchemaVersion, m.KeysIncluded

	// The temporary place.
	tmp, err := os.MkdirTemp(o.TempDir, "custos-drill-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	target := Target{KeysDir: filepath.Join(tmp, "keys")}
	switch m.Dialect {
	case sqlstore.SQLite:
		target.DataDir = filepath.Join(tmp, "data")
	case sqlstore.Postgres:
		if o.DBURL == "" {
			rep.check("restore", false, "a PostgreSQL backup is drilled in a temporary schema: give the database (--db URL)")
			return rep, nil
		}
		u, drop, err := tempSchema(ctx, o.DBURL)
		if err != nil {
			rep.check("restore", false, "temporary schema: %v", err)
			return rep, nil
		}
		defer drop()
		target.DBURL = u
	}

	start := time.Now()
	res, err := Restore(ctx, file, target, RestoreOptions{Passphrase: o.Passphrase, Progress: o.Progress, id: id})
	if err != nil {
		rep.check("restore", false, "%v", err)
		return rep, nil
	}
	rep.check("restore", true, "%d parts decrypted and match their SHA-256 (%s)", len(m.Parts), time.Since(start).Round(time.Millisecond))
	rep.Tables = res.Tables
	rep.check("row counts", true, "%d tables, %d rows, as in the manifest", len(res.Tables), m.Rows())

	db, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: target.DataDir, URL: target.DBURL})
	if err != nil {
		rep.check("serve", false, "open the restored store: %v", err)
		return rep, nil
	}
	defer db.Close()
	if err := db.CheckSchema(ctx); err != nil {
		rep.check("serve", false, "%v", err)
		return rep, nil
	}

	// The keys: the backup's, the operator's, or none.
	var keys *seal.Keyring
	switch {
	case m.KeysIncluded:
		keys, err = openExistingKeys(ctx, db, res.KeysDir, "")
		rep.KeysFrom = "backup"
	case o.KeysDir != "":
		keys, err = openExistingKeys(ctx, db, o.KeysDir, o.KEKPath)
		rep.KeysFrom = "key directory"
	default:
		err = errors.New("the backup holds no keys: give the key directory backed up with it (--keys DIR)")
	}
	if err == nil && m.AuditPublicKey != "" {
		if base64.StdEncoding.EncodeToString(keys.Signer.PublicKey()) != m.AuditPublicKey {
			err = errors.New("the audit signing key in these keys is not the one the backup was made with: wrong key directory")
		}
	}
	if err != nil {
		rep.check("keys", false, "%v", err)
		keys = nil
	} else {
		from := "the backup"
		if rep.KeysFrom != "backup" {
			from = "the key directory " + o.KeysDir
		}
		rep.check("keys", true, "from %s; audit signing key %s", from, keys.Signer.KeyID())
	}

	// The audit chain, checked with the public key the manifest names (so
	// it is checked even without the keys).
	vkeys := map[string]ed25519.PublicKey{}
	if m.AuditPublicKey != "" {
		pub, err := base64.StdEncoding.DecodeString(m.AuditPublicKey)
		if err == nil && len(pub) == ed25519.PublicKeySize {
			vkeys[m.AuditKeyID] = pub
		}
	} else if keys != nil {
		vkeys[keys.Signer.KeyID()] = keys.Signer.PublicKey()
	}
	every := m.CheckpointEvery
	if every == 0 {
		every = app.DefaultConfig().CheckpointEvery
	}
	start = time.Now()
	ar, err := audit.Verify(ctx, db, audit.Options{Keys: vkeys, Every: every, Workers: runtime.NumCPU()})
	switch {
	case err != nil:
		rep.check("audit chain", false, "%v", err)
	case ar.Broken != nil:
		rep.check("audit chain", false, "BROKEN at event %d: %s", ar.Broken.Seq, ar.Broken.Reason)
	case ar.WrongKey != "":
		rep.check("audit chain", false, "wrong keys: the checkpoints are signed by key %s, not by the key the drill was given; %d events intact", ar.WrongKey, ar.Events)
	case ar.Events < m.AuditHead:
		rep.check("audit chain", false, "%d events intact, but the manifest's head is %d", ar.Events, m.AuditHead)
	default:
		rep.AuditEvents, rep.Checkpoints = ar.Events, ar.Checkpoints
		rep.check("audit chain", true, "%d events intact, %d signed checkpoints verified (%s)", ar.Events, ar.Checkpoints, time.Since(start).Round(time.Millisecond))
	}

	// A sample of customers decrypts.
	if keys == nil {
		rep.check("decrypt", false, "no keys: customer data not checked")
		return rep, nil
	}
	cfg := app.DefaultConfig()
	cfg.CheckpointEvery = every
	a := app.New(cfg, db, keys, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer a.Close()
	sample, err := a.CheckReadable(ctx, o.Sample)
	rep.Sample = &sample
	switch {
	case err != nil:
		rep.check("decrypt", false, "%v", err)
	case len(sample.Failed) > 0:
		rep.check("decrypt", false, "%d of %d sampled customers do not decrypt with these keys", len(sample.Failed), len(sample.Failed)+sample.Checked)
	default:
		rep.check("decrypt", true, "%d sampled customers decrypt (%d shredded)", sample.Checked, sample.Destroyed)
	}
	// Every restored row still carries a valid integrity tag (R-D3).
	rr, err := a.VerifyRecords(ctx, func(app.RecordProblem) error { return nil })
	switch {
	case err != nil:
		rep.check("records", false, "%v", err)
	case rr.Bad > 0:
		rep.check("records", false, "%d of %d rows fail their integrity check", rr.Bad, rr.Customers+rr.TxnCustomers+rr.Transactions)
	default:
		rep.check("records", true, "%d customers and %d transactions carry valid integrity tags", rr.Customers, rr.Transactions)
	}
	return rep, nil
}

// openExistingKeys opens a key directory without creating anything in it
// (a drill must not "pass" with fresh keys) and checks the keys against
// the fingerprints the restored store recorded.
func openExistingKeys(ctx context.Context, db *sqlstore.DB, dir, kekPath string) (*seal.Keyring, error) {
	return app.OpenKeys(ctx, db, app.KeyOptions{Dir: dir, KEKPath: kekPath})
}

// tempSchema creates a schema for a drill in the database at base and
// returns a URL that uses it and a function that drops it.
func tempSchema(ctx context.Context, base string) (string, func(), error) {
	var b [6]byte
	rand.Read(b[:])
	schema := "custos_drill_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return "", nil, err
	}
	drop := func() {
		admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close()
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
