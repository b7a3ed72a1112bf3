package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// ActIntegrityAlarm is the audit action of a stored row that failed its
// integrity check (R-D3).
const ActIntegrityAlarm = "integrity.alarm"

// ErrIntegrity is what a read gets when a row it depends on failed its
// integrity check: the read is refused, not served (R-D3).
var ErrIntegrity = custos.Errorf(custos.EInternal, "存储的记录未通过完整性校验，已拒绝本次读取并告警",
	"a stored record failed its integrity check; the read was refused and an alarm raised")

// integrityAlarm records that a row failed its check: who or what read it
// is unknown down there, so the event is the system's, naming the table
// and the customer by reference only.
func (a *App) integrityAlarm(ctx context.Context, e *sqlstore.IntegrityError) {
	ev := custos.NewEvent(custos.SystemActor("integrity"), ActIntegrityAlarm, custos.OutcomeFailed)
	ev.Reason = "record_mac_mismatch"
	if e.CustomerID != "" {
		ev.TargetType, ev.TargetRef = "customer", a.customerRef(e.CustomerID)
	}
	detail := map[string]string{"table": e.Table}
	if e.Row != "" {
		detail["row"] = e.Row // a transaction's opaque id: no personal data
	}
	d, _ := json.Marshal(detail)
	ev.Detail = string(d)
	a.log.Error("integrity alarm: a stored row failed its check; read refused", "table", e.Table)
	// Recorded before the refusal returns, normally. The wait is bounded
	// because the read may have run inside another change's transaction on
	// the single writer, which the alarm's own write would wait for: then
	// the alarm is written as soon as that transaction ends.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.record(ctx, ev); err != nil {
			a.log.Error("integrity alarm could not be recorded", "err", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(alarmWait):
	}
}

// alarmWait bounds how long a refused read waits for its alarm to commit.
const alarmWait = 2 * time.Second

// RecordProblem is a stored row that failed its check, for the operator.
type RecordProblem struct {
	Table string
	Row   string // a locator without personal data
	Ref   string // the customer's audit reference, when known
}

// VerifyRecords checks the tag of every customer, transaction number and
// transaction row (R-D3); bad is called for each that fails.
func (a *App) VerifyRecords(ctx context.Context, bad func(RecordProblem) error) (sqlstore.RecordsReport, error) {
	return a.db.VerifyRecords(ctx, func(p sqlstore.RecordProblem) error {
		rp := RecordProblem{Table: p.Table, Row: p.Row}
		if p.CustomerID != "" {
			rp.Ref = a.customerRef(p.CustomerID)
		}
		return bad(rp)
	})
}

// ErrWrongKeys is what opening a store with keys that are not its own wraps.
var ErrWrongKeys = errors.New("wrong keys")

// WrongKeysError says which keys in a directory do not match the store.
type WrongKeysError struct {
	Dir      string
	Purposes []string // by purpose, e.g. "auditsign"
}

func (e *WrongKeysError) Error() string {
	files := make([]string, len(e.Purposes))
	for i, p := range e.Purposes {
		files[i] = seal.FileOf(p)
	}
	return fmt.Sprintf("wrong keys: the keys in %s are not this store's (%s do not match the fingerprints the store recorded when its keys were made); "+
		"point --keys at this store's keys or restore them (backup --include-keys) — if these are the right keys, the store's key record was altered",
		e.Dir, strings.Join(files, ", "))
}

func (e *WrongKeysError) Unwrap() error { return ErrWrongKeys }

// KeyOptions say where a store's keys are and whether opening may create
// them.
type KeyOptions struct {
	Dir, KEKPath string
	// Create allows fresh keys, but only for a store that holds no data
	// (the first migrate, serve or user add, or keys init), and a key a
	// store has never had (the record key, on the first open after the
	// migration that brought it).
	Create bool
	// Progress reports the tagging of rows stored before record tags existed.
	Progress func(table string, done int64)
}

// OpenKeys opens a store's keys and checks that they are its own (R-D3):
// never creates keys beside a store that holds data (missing keys are a
// *seal.MissingKeysError), compares every key with the fingerprint (for
// the KEK: the sealed check value) the store recorded when the key was
// first used with it (a mismatch is a *WrongKeysError), and records what
// is not recorded yet. A store from before key checks is checked as far
// as it can be (the signing key against its checkpoints, the KEK against a
// data key) before its fingerprints are recorded. The first open with a
// record key tags the rows stored before (sqlstore.SealUntagged).
func OpenKeys(ctx context.Context, db *sqlstore.DB, o KeyOptions) (*seal.Keyring, error) {
	rd := db.Reader()
	holds, err := rd.HoldsData(ctx)
	if err != nil {
		return nil, err
	}
	checks, err := rd.KeyChecks(ctx)
	if err != nil {
		return nil, err
	}
	var mayCreate []string
	switch {
	case o.Create && !holds:
		mayCreate = seal.KeyFiles
	case o.Create && checks[seal.PurposeRecords] == "":
		mayCreate = []string{seal.RecordsFile}
	}
	keys, err := seal.OpenKeyring(o.Dir, o.KEKPath, mayCreate...)
	if err != nil {
		return nil, err
	}
	var wrong []string
	fps := keys.Fingerprints()
	for _, p := range seal.Purposes {
		v, ok := checks[p]
		switch {
		case !ok:
		case p == seal.PurposeKEK:
			ct, err := base64.StdEncoding.DecodeString(v)
			if err != nil || !keys.CheckKEK(ct) {
				wrong = append(wrong, p)
			}
		case !keys.MatchesFingerprint(p, v):
			wrong = append(wrong, p)
		}
	}
	if len(checks) == 0 && holds {
		w, err := legacyKeyCheck(ctx, db, keys)
		if err != nil {
			return nil, err
		}
		wrong = append(wrong, w...)
	}
	if len(wrong) > 0 {
		sort.Slice(wrong, func(i, j int) bool { return purposeOrder(wrong[i]) < purposeOrder(wrong[j]) })
		return nil, &WrongKeysError{Dir: o.Dir, Purposes: wrong}
	}
	if _, ok := checks[seal.PurposeRecords]; !ok {
		// The record key is new to this store: tag what is there, then
		// record the key, after which an untagged row is a tampered one.
		db.SetRecordMAC(keys.Records)
		if _, err := db.SealUntagged(ctx, o.Progress); err != nil {
			return nil, err
		}
	}
	missing := map[string]string{}
	for p, fp := range fps {
		if _, ok := checks[p]; !ok {
			missing[p] = fp
		}
	}
	if _, ok := checks[seal.PurposeKEK]; !ok {
		ct, err := keys.KEKCheck()
		if err != nil {
			return nil, err
		}
		missing[seal.PurposeKEK] = base64.StdEncoding.EncodeToString(ct)
	}
	if len(missing) > 0 {
		err := db.Write(ctx, func(tx *sqlstore.Tx) error {
			for p, v := range missing {
				if err := tx.PutKeyCheck(ctx, p, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("record key checks: %w", err)
		}
		// Another process may have recorded its own at the same moment.
		again, err := db.Reader().KeyChecks(ctx)
		if err != nil {
			return nil, err
		}
		for p, v := range missing {
			if again[p] != v && p != seal.PurposeKEK && !keys.MatchesFingerprint(p, again[p]) {
				return nil, &WrongKeysError{Dir: o.Dir, Purposes: []string{p}}
			}
		}
	}
	return keys, nil
}

func purposeOrder(p string) int {
	for i, q := range seal.Purposes {
		if q == p {
			return i
		}
	}
	return len(seal.Purposes)
}

// legacyKeyCheck checks keys against a store that recorded no key checks
// (made before them): its checkpoints must be signed by this signing key,
// and one of its data keys must unwrap under this KEK.
func legacyKeyCheck(ctx context.Context, db *sqlstore.DB, keys *seal.Keyring) ([]string, error) {
	var wrong []string
	cps, err := db.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	if len(cps) > 0 && cps[len(cps)-1].KeyID != keys.Signer.KeyID() {
		wrong = append(wrong, seal.PurposeAuditSign)
	}
	id, wrapped, ok, err := db.Reader().FirstCustomerKey(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		if _, err := keys.Sealer.DataKey(id, wrapped); err != nil {
			wrong = append(wrong, seal.PurposeKEK)
		}
	}
	return wrong, nil
}

// rewrapKEKCheck moves the store's KEK check value to the primary KEK
// version, with the other system secrets, so that it still opens after the
// old version is retired.
func (a *App) rewrapKEKCheck(ctx context.Context) error {
	checks, err := a.db.Reader().KeyChecks(ctx)
	if err != nil {
		return err
	}
	v, ok := checks[seal.PurposeKEK]
	if !ok {
		return nil
	}
	ct, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return fmt.Errorf("the store's KEK check value is not base64: %w", err)
	}
	nw, changed, err := a.keys.RewrapKEKCheck(ct)
	if err != nil || !changed {
		return err
	}
	return a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		return tx.ReplaceKeyCheck(ctx, seal.PurposeKEK, v, base64.StdEncoding.EncodeToString(nw))
	})
}
