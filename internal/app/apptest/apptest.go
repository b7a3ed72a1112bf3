// Package apptest builds a ready App for tests: a real store (SQLite or
// PostgreSQL), a fresh keyring, an organisation tree and one user per role.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/auth"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Password is every fixture user's password.
const Password = "Test-Passw0rd!"

var (
	hashOnce sync.Once
	hash     string
)

func passwordHash() string {
	hashOnce.Do(func() { hash = auth.HashPassword(Password) })
	return hash
}

// Fixture is a running App with its world.
type Fixture struct {
	App   *app.App
	DB    *sqlstore.DB
	Keys  *seal.Keyring
	Clock *custos.FakeClock
	Orgs  map[string]*custos.Org  // by code: HQ, BJ, BJ01, SH
	Users map[string]*custos.User // by username
}

// Start is the fixture clock's starting time: the latest 09:00 UTC (17:00
// in China) at or before the real time the test binary started, moved
// ahead by CUSTOS_TEST_CLOCK_YEARS years when that is set. Tests take every
// date from it (Day, DayTime), never from a calendar, so that they pass on
// any day; CI runs the time-sensitive packages once more with the clock
// years ahead to prove it.
var Start = start(time.Now())

func start(now time.Time) time.Time {
	now = now.UTC()
	t := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC)
	if t.After(now) {
		t = t.AddDate(0, 0, -1)
	}
	if v := os.Getenv("CUSTOS_TEST_CLOCK_YEARS"); v != "" {
		years, err := strconv.Atoi(v)
		if err != nil {
			panic("apptest: CUSTOS_TEST_CLOCK_YEARS must be a whole number of years: " + v)
		}
		t = t.AddDate(years, 0, 0)
	}
	return t
}

// Day is the China-time calendar date of Start moved by days, as
// YYYY-MM-DD: Day(0) is the fixture's today, Day(-7) a week earlier.
func Day(days int) string {
	return Start.In(custos.TxnZone).AddDate(0, 0, days).Format(time.DateOnly)
}

// DayTime is Day(days) followed by a China-time clock time such as
// "10:00:00", in the form the transaction inputs take.
func DayTime(days int, clock string) string { return Day(days) + " " + clock }

// Year is the China-time calendar year of Start moved by years.
func Year(years int) string {
	return strconv.Itoa(Start.In(custos.TxnZone).Year() + years)
}

// The fixture's users: username → role and unit.
var People = []struct {
	Username string
	Role     custos.Role
	Org      string
}{
	{"admin", custos.RoleAdmin, "HQ"},
	{"gm", custos.RoleGeneralManager, "HQ"},
	{"mgr_bj", custos.RoleManager, "BJ"},
	{"mgr_sh", custos.RoleManager, "SH"},
	{"am_bj01", custos.RoleAccountManager, "BJ01"},
	{"am2_bj01", custos.RoleAccountManager, "BJ01"},
	{"butler_bj01", custos.RoleButler, "BJ01"},
	{"inspector_bj", custos.RoleInspector, "BJ"},
	{"compliance", custos.RoleCompliance, "HQ"},
	{"auditor", custos.RoleAuditor, "HQ"},
	{"custodian", custos.RoleCustodian, "HQ"},
	{"secadmin", custos.RoleSecurityAdmin, "HQ"},
}

// New builds a fixture on db with a fake clock.
func New(t testing.TB, db *sqlstore.DB) *Fixture {
	t.Helper()
	return NewWithConfig(t, db, app.DefaultConfig())
}

// NewWithConfig is New with a custom configuration.
func NewWithConfig(t testing.TB, db *sqlstore.DB, cfg app.Config) *Fixture {
	t.Helper()
	keys, err := seal.CreateKeyring(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	clock := custos.NewFakeClock(Start)
	a := app.New(cfg, db, keys, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(a.Close)
	f := &Fixture{App: a, DB: db, Keys: keys, Clock: clock, Orgs: map[string]*custos.Org{}, Users: map[string]*custos.User{}}
	ctx := context.Background()
	err = db.Write(ctx, func(tx *sqlstore.Tx) error {
		for _, o := range []struct {
			code, name, parent string
			kind               custos.OrgKind
		}{
			{"HQ", "总行", "", custos.HeadOffice},
			{"BJ", "北京分行", "HQ", custos.Branch},
			{"BJ01", "北京朝阳支行", "BJ", custos.SubBranch},
			{"SH", "上海分行", "HQ", custos.Branch},
		} {
			org := &custos.Org{Code: o.code, Name: o.name, Kind: o.kind}
			if o.parent != "" {
				org.ParentID = f.Orgs[o.parent].ID
			}
			if err := tx.CreateOrg(ctx, org); err != nil {
				return err
			}
			f.Orgs[o.code] = org
		}
		for _, p := range People {
			u := &custos.User{Username: p.Username, DisplayName: p.Username, OrgID: f.Orgs[p.Org].ID, Role: p.Role}
			if err := tx.CreateUser(ctx, u, passwordHash()); err != nil {
				return err
			}
			f.Users[p.Username] = u
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Actor returns the actor of a fixture user with a purpose.
func (f *Fixture) Actor(username string) custos.Actor {
	u := f.Users[username]
	var org *custos.Org
	for _, o := range f.Orgs {
		if o.ID == u.OrgID {
			org = o
		}
	}
	return app.ActorFor(u, org, "test", "127.0.0.1", "req-test", "service")
}

// Proof is a fixture user's own credentials, as they type them to sign
// in or to confirm an act (a destruction witness, a handover signature).
func (f *Fixture) Proof(username string) app.Credentials {
	return app.Credentials{Username: username, Password: Password, Via: "test", ClientAddr: "127.0.0.1"}
}

var seq int

// Person returns a valid person input with a fresh synthetic ID and phone.
func Person(name string) custos.CustomerInput {
	seq++
	return custos.CustomerInput{
		Type: custos.TypePerson, Name: name, Nationality: "CN", IDType: "cn_resident_id",
		// Born 1980–2012, one birthday per 12,000 customers and then the
		// next order code: unique for millions, never born in the future.
		IDNumber: idcard.GenerateResidentID("110105", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, seq%12000), seq/12000+1, seq%2 == 0),
		IDExpiry: Year(8) + "-01-01", Phone: "138" + pad8(seq), Address: "北京市朝阳区建国路" + itoa(seq) + "号",
	}
}

// Institution returns a valid institution input with a fresh synthetic USCC.
func Institution(name string) custos.CustomerInput {
	seq++
	return custos.CustomerInput{
		Type: custos.TypeInstitution, Name: name, USCC: idcard.GenerateUSCC("110105", seq), Address: "北京市海淀区中关村大街" + itoa(seq) + "号",
		BusinessScope: "技术开发", LegalRepresentative: &custos.Party{Name: "王法人", IDType: "cn_resident_id",
			IDNumber: idcard.GenerateResidentID("310101", time.Date(1970, 5, 5, 0, 0, 0, 0, time.UTC), seq%999+1, true), IDExpiry: "long_term"},
	}
}

// Create creates a customer as a user, failing the test on error.
func (f *Fixture) Create(t testing.TB, username string, in custos.CustomerInput) *custos.Customer {
	t.Helper()
	c, err := f.App.CreateCustomer(context.Background(), f.Actor(username), in)
	if err != nil {
		t.Fatalf("create customer as %s: %v", username, err)
	}
	return c
}

func pad8(n int) string {
	s := itoa(n)
	for len(s) < 8 {
		s = "0" + s
	}
	return s
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
