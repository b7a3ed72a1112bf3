package app_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// rebind turns '?' into '$n' for a raw PostgreSQL connection.
func rebind(db *sqlstore.DB, q string) string {
	if db.Dialect() != sqlstore.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + string(rune('0'+n)))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// alarms returns the integrity alarms recorded about a customer.
func alarms(t *testing.T, w *txnWorld, customerID string) int {
	t.Helper()
	evs, err := w.f.DB.SearchAudit(ctx, custos.AuditFilter{Action: app.ActIntegrityAlarm, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ref := w.f.Keys.Indexer.Ref("customer", customerID)
	for _, e := range evs {
		if e.TargetRef == ref && e.Outcome == custos.OutcomeFailed {
			if strings.Contains(e.Detail, customerID) {
				t.Fatal("the alarm names the customer in clear")
			}
			n++
		}
	}
	return n
}

// TestRecordTamper_RD3: a change in raw SQL of a customer's status,
// sensitivity, owner or verification, or of a transaction's amount, is
// caught by the next read: refused with the integrity error, an alarm in
// the audit trail, and reported by VerifyRecords; the untouched rows still
// read and verify.
func TestRecordTamper_RD3(t *testing.T) {
	cases := []struct {
		name, sql string
		txn       bool
	}{
		{"status", `UPDATE customers SET status = 'closed' WHERE id = ?`, false},
		{"sensitivity", `UPDATE customers SET sensitivity = 'protected' WHERE id = ?`, false},
		{"owner", `UPDATE customers SET owner_id = (SELECT id FROM users WHERE username = 'am2_bj01') WHERE id = ?`, false},
		{"verification", `UPDATE customers SET verification = 'unverified' WHERE id = ?`, false},
		{"classes (risk level)", `UPDATE customers SET classes = '{"aml_risk":"low"}' WHERE id = ?`, false},
		{"tag removed", `UPDATE customers SET row_mac = NULL WHERE id = ?`, false},
		{"amount", `UPDATE transactions SET amount = amount * 100 WHERE cnum = (SELECT cnum FROM txn_customers WHERE customer_id = ?)`, true},
		{"direction", `UPDATE transactions SET direction = 'credit' WHERE cnum = (SELECT cnum FROM txn_customers WHERE customer_id = ?)`, true},
		// The history of one customer handed to another (the vip, whose
		// transactions are then read).
		{"transactions moved to another customer", `UPDATE txn_customers SET customer_id = CASE WHEN customer_id = ? THEN ? END WHERE customer_id = ?`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, db *sqlstore.DB, raw *sql.DB) {
				w := newTxnWorld(t, db)
				mustRecord(t, w, "am_bj01", w.c1, txnIn("T001", "6222020200110000001", w.at(1), "12.50"))
				mustRecord(t, w, "am_bj01", w.c2, txnIn("T002", "6222020200110000002", w.at(2), "7.00"))
				am := w.f.Actor("am_bj01")
				if _, err := w.f.App.GetCustomer(ctx, am, w.c1.ID); err != nil {
					t.Fatal(err)
				}
				rep, err := w.f.App.VerifyRecords(ctx, func(p app.RecordProblem) error { return errors.New("bad row " + p.Table) })
				if err != nil || rep.Bad != 0 || rep.Customers != 4 || rep.Transactions != 2 || rep.TxnCustomers != 2 {
					t.Fatalf("untouched store: %+v %v", rep, err)
				}
				args := []any{w.c1.ID}
				target := w.c1
				if strings.Count(tc.sql, "?") == 3 {
					args, target = []any{w.c1.ID, w.vip.ID, w.c1.ID}, w.vip
				}
				if _, err := raw.Exec(rebind(db, tc.sql), args...); err != nil {
					t.Fatal(err)
				}

				var readErr error
				if tc.txn {
					_, readErr = w.f.App.SearchTransactions(ctx, am, custos.TxnFilter{CustomerID: target.ID})
				} else {
					_, readErr = w.f.App.GetCustomer(ctx, am, w.c1.ID)
				}
				if !errors.Is(readErr, sqlstore.ErrIntegrity) || custos.ErrorCodeOf(readErr) != custos.EInternal {
					t.Fatalf("a tampered row was served: %v", readErr)
				}
				var ce *custos.Error
				if !errors.As(readErr, &ce) || !strings.Contains(ce.Message.EN, "integrity") {
					t.Errorf("the refusal does not say why: %v", readErr)
				}
				if !tc.txn && alarms(t, w, w.c1.ID) == 0 {
					t.Error("no integrity alarm recorded")
				}
				if tc.txn {
					evs, err := w.f.DB.SearchAudit(ctx, custos.AuditFilter{Action: app.ActIntegrityAlarm, Limit: 10})
					if err != nil || len(evs) == 0 {
						t.Fatalf("no integrity alarm recorded: %v", err)
					}
				}
				// The others still read.
				if _, err := w.f.App.GetCustomer(ctx, w.f.Actor("am2_bj01"), w.other.ID); err != nil {
					t.Fatalf("an untouched customer: %v", err)
				}
				if _, err := w.f.App.SearchTransactions(ctx, am, custos.TxnFilter{CustomerID: w.c2.ID}); err != nil {
					t.Fatalf("an untouched customer's transactions: %v", err)
				}
				var bad []app.RecordProblem
				rep, err = w.f.App.VerifyRecords(ctx, func(p app.RecordProblem) error { bad = append(bad, p); return nil })
				if err != nil || rep.Bad == 0 || int64(len(bad)) != rep.Bad {
					t.Fatalf("VerifyRecords: %+v %v", rep, err)
				}
				for _, p := range bad {
					if strings.Contains(p.Row, w.c1.ID) {
						t.Errorf("the report names the customer id in clear: %+v", p)
					}
				}
			})
		})
	}
}

// TestRecordTagsSurviveUpdates_RD3: the services' own changes (an update,
// a state change, a reassignment) keep the tags valid.
func TestRecordTagsSurviveUpdates_RD3(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, raw *sql.DB) {
		w := newTxnWorld(t, db)
		mustRecord(t, w, "am_bj01", w.c1, txnIn("U001", "6222020200110000001", w.at(1), "1.00"))
		w.f.Clock.Advance(time.Hour)
		rep, err := w.f.App.VerifyRecords(ctx, func(p app.RecordProblem) error { return errors.New(p.Table + " " + p.Row) })
		if err != nil || rep.Bad != 0 {
			t.Fatalf("after onboarding and recording: %+v %v", rep, err)
		}
		if _, err := w.f.App.GetCustomer(ctx, w.f.Actor("am_bj01"), w.c1.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// TestOpenKeys_RD3: keys are created for an empty store only, their
// fingerprints recorded; afterwards a missing key directory is refused
// without creating anything, and each key swapped for another store's is
// named as wrong.
func TestOpenKeys_RD3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		dir := filepath.Join(t.TempDir(), "keys")
		if _, err := app.OpenKeys(ctx, db, app.KeyOptions{Dir: dir, Create: true}); err != nil {
			t.Fatal(err)
		}
		checks, err := db.Reader().KeyChecks(ctx)
		if err != nil || len(checks) != len(seal.Purposes) {
			t.Fatalf("recorded checks %v %v", checks, err)
		}
		if _, err := app.OpenKeys(ctx, db, app.KeyOptions{Dir: dir}); err != nil {
			t.Fatalf("reopen with the right keys: %v", err)
		}
		// The store now holds data (its key record): no fresh keys.
		elsewhere := filepath.Join(t.TempDir(), "moved")
		if err := os.Rename(dir, elsewhere); err != nil {
			t.Fatal(err)
		}
		var missing *seal.MissingKeysError
		if _, err := app.OpenKeys(ctx, db, app.KeyOptions{Dir: dir, Create: true}); !errors.As(err, &missing) {
			t.Fatalf("missing keys: %v", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatal("keys were created beside a store that holds data")
		}
		if err := os.Rename(elsewhere, dir); err != nil {
			t.Fatal(err)
		}
		other, err := seal.CreateKeyring(t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range seal.Purposes {
			name := seal.FileOf(p)
			mine, _ := os.ReadFile(filepath.Join(dir, name))
			theirs, _ := os.ReadFile(filepath.Join(other.Dir, name))
			if err := os.WriteFile(filepath.Join(dir, name), theirs, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := app.OpenKeys(ctx, db, app.KeyOptions{Dir: dir})
			var wrong *app.WrongKeysError
			if !errors.As(err, &wrong) || len(wrong.Purposes) != 1 || wrong.Purposes[0] != p || !strings.Contains(err.Error(), name) {
				t.Errorf("%s swapped: %v", name, err)
			}
			os.WriteFile(filepath.Join(dir, name), mine, 0o600)
		}
		if _, err := app.OpenKeys(ctx, db, app.KeyOptions{Dir: dir}); err != nil {
			t.Fatalf("the right keys again: %v", err)
		}
	})
}
