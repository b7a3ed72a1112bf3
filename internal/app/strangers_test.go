package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// newEvents returns the events appended since seq and the bytes their
// stored payloads take.
func newEvents(t *testing.T, db *sqlstore.DB, seq int64) ([]custos.AuditEvent, int) {
	t.Helper()
	ctx := context.Background()
	head, _, err := db.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var evs []custos.AuditEvent
	if err := db.ScanAudit(ctx, seq+1, head, func(e *custos.AuditEvent) error { evs = append(evs, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	size := 0
	if err := db.ScanEvents(ctx, seq+1, head, func(_ int64, p, _ []byte) error { size += len(p); return nil }); err != nil {
		t.Fatal(err)
	}
	return evs, size
}

func headSeq(t *testing.T, db *sqlstore.DB) int64 {
	t.Helper()
	seq, _, err := db.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// attempts adds up the refused attempts the rate-limit events stand for.
func attempts(t *testing.T, evs []custos.AuditEvent) (events, n int) {
	t.Helper()
	for _, e := range evs {
		if !strings.HasPrefix(e.Reason, "rate_limited") {
			continue
		}
		var d struct{ Attempts int }
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil || d.Attempts < 1 {
			t.Fatalf("rate-limit event without a count: %+v", e)
		}
		events++
		n += d.Attempts
	}
	return events, n
}

// TestLoginStrangerBounded_RD4: a megabyte typed as a user name reaches the
// audit trail as a short keyed reference, never in clear, on the staff
// login and the portal's.
func TestLoginStrangerBounded_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		ctx := context.Background()
		huge := "Zhang-" + strings.Repeat("x", 1<<20)
		seq := headSeq(t, db)
		if _, err := f.App.Login(ctx, app.Credentials{Username: huge, Password: "whatever", ClientAddr: "203.0.113.7", Via: "web"}); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("login with a huge name: %v", err)
		}
		if _, err := f.App.Login(ctx, app.Credentials{Username: "no-such-person", Password: "whatever", ClientAddr: "203.0.113.7", Via: "web"}); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("login with an unknown name: %v", err)
		}
		if _, err := f.App.PortalLogin(ctx, app.PortalCredentials{IDNumber: huge, Password: "whatever", ClientAddr: "203.0.113.7"}); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("portal login with a huge ID number: %v", err)
		}
		evs, size := newEvents(t, db, seq)
		if len(evs) != 3 || size > 3*2048 {
			t.Fatalf("%d events of %d bytes for three failed logins", len(evs), size)
		}
		for _, e := range evs {
			if strings.Contains(e.Actor, "xxxx") || strings.Contains(e.Actor, "no-such-person") || len(e.Actor) > 64 || e.Reason != "unknown_user" && e.Reason != "unknown_customer" {
				t.Errorf("stored for a stranger: actor %q, reason %q", e.Actor, e.Reason)
			}
		}
		if evs[0].Actor == evs[1].Actor || !strings.HasPrefix(evs[0].Actor, "unknown:") {
			t.Errorf("unknown names should be told apart by a keyed reference: %q, %q", evs[0].Actor, evs[1].Actor)
		}
		// A known name is kept as it is.
		seq = headSeq(t, db)
		f.App.Login(ctx, app.Credentials{Username: "AM_BJ01", Password: "wrong", ClientAddr: "203.0.113.8", Via: "web"})
		if evs, _ := newEvents(t, db, seq); len(evs) != 1 || evs[0].Actor != "am_bj01" {
			t.Errorf("a known user's failure: %+v", evs)
		}
	})
}

// TestLoginFloodCounted_RD4: a thousand rate-limited attempts write a
// handful of events whose counts add up to the thousand, on the staff
// login and the portal; the trail still verifies.
func TestLoginFloodCounted_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		ctx := context.Background()
		const flood = 1000
		for _, door := range []struct {
			name string
			try  func(addr string) error
		}{
			{"staff", func(addr string) error {
				_, err := f.App.Login(ctx, app.Credentials{Username: "gm", Password: "wrong", ClientAddr: addr, Via: "web"})
				return err
			}},
			{"portal", func(addr string) error {
				_, err := f.App.PortalLogin(ctx, app.PortalCredentials{IDNumber: "110105198001010011", Password: "wrong", ClientAddr: addr})
				return err
			}},
		} {
			addr := "198.51.100." + map[string]string{"staff": "1", "portal": "2"}[door.name]
			// Spend the burst, then flood.
			for i := 0; ; i++ {
				if custos.ErrorCodeOf(door.try(addr)) == custos.ERateLimited {
					break
				}
				if i > 100 {
					t.Fatalf("%s: never rate-limited", door.name)
				}
			}
			seq := headSeq(t, db)
			for i := 1; i < flood; i++ {
				if err := door.try(addr); custos.ErrorCodeOf(err) != custos.ERateLimited {
					t.Fatalf("%s: attempt %d: %v", door.name, i, err)
				}
			}
			evs, _ := newEvents(t, db, seq)
			if len(evs) > 2 {
				t.Fatalf("%s: %d events for %d rate-limited attempts", door.name, len(evs), flood-1)
			}
			// After the window the count is written: by the next attempt
			// (here from elsewhere) or the next trip.
			f.Clock.Advance(2 * time.Minute)
			door.try("198.51.100.99")
			all, _ := newEvents(t, db, seq-1)
			n, total := attempts(t, all)
			if total != flood || n > 3 {
				t.Fatalf("%s: %d rate-limit events count %d attempts, want %d", door.name, n, total, flood)
			}
		}
		rep, err := f.App.VerifyAudit(ctx, 1)
		if err != nil || !rep.OK() {
			t.Fatalf("audit verify: %v %+v", err, rep)
		}
	})
}
