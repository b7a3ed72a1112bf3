package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/audit"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// fakeTrail is an AppendFunc that remembers every call. Its first call can
// be held at a gate, so that the requests arriving meanwhile queue up; fail
// decides each call's result.
type fakeTrail struct {
	gate chan struct{}
	fail func(call int) error

	mu       sync.Mutex
	calls    [][]string     // request ids of each call's events
	results  []error        // result of each finished call
	callOf   map[string]int // request id → call that carried it
	appended map[string]bool
}

func newFakeTrail() *fakeTrail {
	return &fakeTrail{callOf: map[string]int{}, appended: map[string]bool{}, fail: func(int) error { return nil }}
}

func (f *fakeTrail) append(_ context.Context, evs []custos.AuditEvent) error {
	f.mu.Lock()
	call := len(f.calls)
	ids := make([]string, len(evs)) // the committer reuses evs; keep copies
	for i, e := range evs {
		ids[i] = e.RequestID
		f.callOf[e.RequestID] = call
	}
	f.calls = append(f.calls, ids)
	f.mu.Unlock()
	if call == 0 && f.gate != nil {
		<-f.gate
	}
	err := f.fail(call)
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.results) <= call {
		f.results = append(f.results, nil)
	}
	f.results[call] = err
	if err == nil {
		for _, id := range ids {
			f.appended[id] = true
		}
	}
	return err
}

func (f *fakeTrail) isAppended(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.appended[id]
}

func (f *fakeTrail) numCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func event(i int) custos.AuditEvent {
	return custos.AuditEvent{Actor: "am_bj01", Action: "customer.read", Outcome: custos.OutcomeOK, RequestID: "req-" + strconv.Itoa(i)}
}

// recordAll starts n concurrent Records and returns their errors once all
// have returned, and a counter of those that have returned so far.
func recordAll(c *audit.Committer, n int) (wait func() []error, returned *atomic.Int64) {
	returned = new(atomic.Int64)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = c.Record(context.Background(), event(i))
			returned.Add(1)
		})
	}
	return func() []error { wg.Wait(); return errs }, returned
}

// TestCommitterBatchesAndWaits: concurrent requests share append calls
// (group commit), no call exceeds the batch limit, and no Record returns
// before its own event is appended — a read's audit event is durable before
// the data leaves (R-C5).
func TestCommitterBatchesAndWaits(t *testing.T) {
	for _, tc := range []struct{ n, maxBatch int }{{200, 512}, {100, 16}} {
		t.Run("batch"+strconv.Itoa(tc.maxBatch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeTrail()
				f.gate = make(chan struct{})
				c := audit.NewCommitter(f.append, tc.maxBatch)
				defer c.Close()

				wait, returned := recordAll(c, tc.n)
				synctest.Wait() // every Record has handed over its event and is waiting
				if r := returned.Load(); r != 0 {
					t.Fatalf("%d Records returned while the first append was still running", r)
				}
				if got := f.numCalls(); got != 1 {
					t.Fatalf("%d append calls while the first is held; want 1", got)
				}
				close(f.gate)
				errs := wait()

				for i, err := range errs {
					if err != nil {
						t.Fatalf("Record %d: %v", i, err)
					}
					if !f.isAppended(event(i).RequestID) {
						t.Fatalf("Record %d returned but its event was never appended", i)
					}
				}
				total, seen := 0, map[string]bool{}
				for k, ids := range f.calls {
					if len(ids) > tc.maxBatch {
						t.Errorf("call %d carried %d events, limit %d", k, len(ids), tc.maxBatch)
					}
					for _, id := range ids {
						if seen[id] {
							t.Errorf("event %s appended twice", id)
						}
						seen[id] = true
					}
					total += len(ids)
				}
				if total != tc.n {
					t.Fatalf("%d events appended, want %d", total, tc.n)
				}
				// One held call, then the queue in as few calls as the limit allows.
				if limit := 1 + (tc.n+tc.maxBatch-1)/tc.maxBatch; len(f.calls) > limit {
					t.Fatalf("%d append calls for %d events (batch %d); want at most %d", len(f.calls), tc.n, tc.maxBatch, limit)
				}
				t.Logf("%d events in %d append calls", tc.n, len(f.calls))
			})
		})
	}
}

// TestCommitterErrorReachesEveryWaiter: when a batch's append fails, every
// request in that batch gets the error (and must release no data), while
// requests in batches that committed succeed (R-C5).
func TestCommitterErrorReachesEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errDown := errors.New("audit store down")
		f := newFakeTrail()
		f.gate = make(chan struct{})
		f.fail = func(call int) error {
			if call%2 == 1 {
				return errDown
			}
			return nil
		}
		c := audit.NewCommitter(f.append, 40)
		defer c.Close()

		const n = 150
		wait, _ := recordAll(c, n)
		synctest.Wait()
		close(f.gate)
		errs := wait()

		// The held first call commits; the queue behind it goes in the failing second.
		if len(f.calls) < 2 || len(f.calls[1]) < 2 {
			t.Fatalf("append calls %v: the test needs a failing batch shared by several requests", f.calls)
		}
		var ok, failed int
		for i, err := range errs {
			id := event(i).RequestID
			want := f.results[f.callOf[id]]
			switch {
			case want == nil && err != nil:
				t.Errorf("Record %d: %v, but its batch committed", i, err)
			case want != nil && !errors.Is(err, errDown):
				t.Errorf("Record %d: %v, but its batch failed with %v", i, err, want)
			case want != nil && f.isAppended(id):
				t.Errorf("Record %d failed but its event is in the trail", i)
			}
			if err == nil {
				ok++
			} else {
				failed++
			}
		}
		if ok == 0 || failed == 0 {
			t.Fatalf("ok %d, failed %d: want both", ok, failed)
		}
	})
}

// TestCommitterCloseDrains: Close commits every event already accepted and
// waits for it; a Record still held back by a full queue when Close comes
// either commits or fails with ErrClosed, never both; afterwards Record
// refuses with ErrClosed and appends nothing (R-C5).
func TestCommitterCloseDrains(t *testing.T) {
	const maxBatch = 8 // the queue holds 4×8 events
	for _, n := range []int{30, 80} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeTrail()
				f.gate = make(chan struct{})
				c := audit.NewCommitter(f.append, maxBatch)

				wait, _ := recordAll(c, n)
				synctest.Wait() // the first event is held in append, up to 32 queued, the rest wait for room
				var closed atomic.Bool
				done := make(chan struct{})
				go func() {
					c.Close()
					closed.Store(true)
					close(done)
				}()
				synctest.Wait()
				if closed.Load() {
					t.Fatal("Close returned while accepted events were still uncommitted")
				}
				close(f.gate)
				committed := 0
				for i, err := range wait() {
					appended := f.isAppended(event(i).RequestID)
					switch {
					case err == nil && !appended:
						t.Errorf("Record %d succeeded but its event is not in the trail", i)
					case err != nil && appended:
						t.Errorf("Record %d failed (%v) but its event is in the trail", i, err)
					case err != nil && !errors.Is(err, audit.ErrClosed):
						t.Errorf("Record %d: %v, want ErrClosed", i, err)
					}
					if err == nil {
						committed++
					}
				}
				<-done
				// Every event that was in the queue or in flight when Close came is committed.
				if accepted := min(n, 4*maxBatch+1); committed < accepted {
					t.Fatalf("%d of %d events committed; the %d accepted before Close must all be", committed, n, accepted)
				}

				calls := f.numCalls()
				for i := range 50 {
					if err := c.Record(context.Background(), event(n+i)); !errors.Is(err, audit.ErrClosed) {
						t.Fatalf("Record after Close: %v, want ErrClosed", err)
					}
				}
				if f.numCalls() != calls {
					t.Fatal("Record after Close reached the trail")
				}
				c.Close() // a second Close is harmless
			})
		})
	}
}

// TestCommitterRealStore: 200 concurrent requests through the committer
// into the real store all land, once each, and the chain verifies (R-C5, R-D3).
func TestCommitterRealStore(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		keys, err := seal.CreateKeyring(t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		db.SetAuditSigner(keys.Signer, 50)
		var calls atomic.Int64
		c := audit.NewCommitter(func(ctx context.Context, evs []custos.AuditEvent) error {
			calls.Add(1)
			return db.AppendAuditBatch(ctx, evs)
		}, 64)

		const n = 200
		wait, _ := recordAll(c, n)
		for i, err := range wait() {
			if err != nil {
				t.Fatalf("Record %d: %v", i, err)
			}
		}
		c.Close()

		seen := map[string]int{}
		if err := db.ScanAudit(ctx, 1, n+1, func(e *custos.AuditEvent) error {
			seen[e.RequestID]++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if id := event(i).RequestID; seen[id] != 1 {
				t.Errorf("event %s stored %d times", id, seen[id])
			}
		}
		if len(seen) != n {
			t.Fatalf("%d distinct events stored, want %d", len(seen), n)
		}
		rep, err := audit.Verify(ctx, db, audit.Options{Keys: map[string]ed25519.PublicKey{keys.Signer.KeyID(): keys.Signer.PublicKey()}, Workers: 4})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Events != n || rep.Checkpoints == 0 {
			t.Fatalf("verify: %+v (broken %v)", rep, rep.Broken)
		}
		t.Logf("%d events in %d transactions", n, calls.Load())
	})
}
