package app_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

const portalPassword = "Kehu-Mima-2026!"

// portalWorld: two onboarded customers of am_bj01, the first with an
// e-mail address, portal access and three transactions, the second with one.
type portalWorld struct {
	f                  *apptest.Fixture
	c, other           *custos.Customer
	idNumber, otherID  string
	email              string
	sender             *app.MemoryOTPSender
	own                []*custos.Transaction
	otherTxn           *custos.Transaction
	verifiedAt, period time.Time
}

func newPortalWorld(t *testing.T, db *sqlstore.DB) *portalWorld {
	t.Helper()
	f := apptest.New(t, db)
	w := &portalWorld{f: f, email: "kehu@example.com", sender: &app.MemoryOTPSender{}}
	p := apptest.Person("门户客户")
	p.Email = w.email
	w.idNumber = p.IDNumber
	w.c = f.Create(t, "am_bj01", p)
	o := apptest.Person("他人客户")
	w.otherID = o.IDNumber
	w.other = f.Create(t, "am_bj01", o)
	onboard(t, f, w.c, "inspector_bj", "mgr_bj")
	onboard(t, f, w.other, "inspector_bj", "mgr_bj")
	w.verifiedAt = f.Clock.Now()
	f.Clock.Advance(24 * time.Hour)
	at := func(h int) string {
		return w.verifiedAt.Add(time.Duration(h) * time.Hour).In(custos.TxnZone).Format("2006-01-02 15:04:05")
	}
	am := f.Actor("am_bj01")
	for _, in := range []custos.TransactionInput{
		{Source: "core", Reference: "P001", Account: "6222020200110000001", Time: at(1), Amount: "100.00", Currency: "CNY", Direction: "debit",
			Type: "transfer", Channel: "online", CounterpartyName: "房东王五", CounterpartyAccount: "6217000000000001", CounterpartyBank: "中国建设银行", Remarks: "房租"},
		{Source: "core", Reference: "P002", Account: "6222020200110000001", Time: at(2), Amount: "2500.50", Currency: "CNY", Direction: "credit",
			Type: "salary", Channel: "batch", CounterpartyName: "某某科技有限公司", Remarks: "工资"},
		{Source: "core", Reference: "P003", Account: "6222020200110000001", Time: at(3), Amount: "88.80", Currency: "USD", Direction: "debit",
			Type: "fx", Channel: "counter", Remarks: "购汇"},
	} {
		tx, _, err := f.App.RecordTransaction(ctx, am, w.c.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		w.own = append(w.own, tx)
	}
	tx, _, err := f.App.RecordTransaction(ctx, am, w.other.ID, custos.TransactionInput{Source: "core", Reference: "O001", Account: "6222020200110000009",
		Time: at(1), Amount: "777.00", Currency: "CNY", Direction: "debit", Type: "transfer", Channel: "online"})
	if err != nil {
		t.Fatal(err)
	}
	w.otherTxn = tx
	f.App.SetOTPSender(w.sender)
	if err := f.App.EnablePortal(ctx, am, w.c.ID, portalPassword); err != nil {
		t.Fatal(err)
	}
	w.period = w.verifiedAt.Add(-time.Hour)
	return w
}

func (w *portalWorld) login(t *testing.T) (*app.PortalSession, custos.Actor) {
	t.Helper()
	s, err := w.f.App.PortalLogin(ctx, app.PortalCredentials{IDNumber: w.idNumber, Password: portalPassword, ClientAddr: "198.51.100.1"})
	if err != nil {
		t.Fatalf("portal login: %v", err)
	}
	return s, w.f.App.PortalActor(s, "198.51.100.1", "req-portal")
}

// auditOf returns the audit events of an action on a customer.
func (w *portalWorld) auditOf(t *testing.T, customerID, action string) []custos.AuditEvent {
	t.Helper()
	evs, err := w.f.App.SearchAudit(ctx, w.f.Actor("auditor"), apptestQuery(customerID, action))
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// noPersonalData fails when an audit event holds the customers' ID
// numbers, names or e-mail address, or a one-time code.
func (w *portalWorld) noPersonalData(t *testing.T, secrets ...string) {
	t.Helper()
	evs, err := w.f.App.SearchAudit(ctx, w.f.Actor("auditor"), app.AuditQuery{AuditFilter: custos.AuditFilter{Limit: 10000}})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, w.idNumber, w.otherID, "门户客户", "他人客户", w.email)
	for _, e := range evs {
		text := fmt.Sprintf("%+v", e)
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Fatalf("audit event %d (%s) holds %q", e.Seq, e.Action, s)
			}
		}
	}
}

func TestPortalPasswordLoginAndLockout_RB5(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newPortalWorld(t, db)
		f := w.f
		// Enabling needs the permission to update the customer and a good password.
		if err := f.App.EnablePortal(ctx, f.Actor("am2_bj01"), w.other.ID, portalPassword); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("enable by a stranger: %v", err)
		}
		if err := f.App.EnablePortal(ctx, f.Actor("am_bj01"), w.other.ID, "short"); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("enable with a weak password: %v", err)
		}
		draft := f.Create(t, "am_bj01", apptest.Person("草稿客户"))
		if err := f.App.EnablePortal(ctx, f.Actor("am_bj01"), draft.ID, portalPassword); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("enable for a draft: %v", err)
		}
		if evs := w.auditOf(t, w.c.ID, "portal.enable"); len(evs) != 1 || evs[0].Actor != "am_bj01" {
			t.Fatalf("portal.enable audit: %+v", evs)
		}
		// The other customer has no portal access: its ID number logs in as little as an unknown one.
		login := func(id, pw, addr string) (*app.PortalSession, error) {
			return f.App.PortalLogin(ctx, app.PortalCredentials{IDNumber: id, Password: pw, ClientAddr: addr})
		}
		_, errUnknown := login(w.otherID, portalPassword, "203.0.113.1")
		_, errWrong := login(w.idNumber, "Wrong-Passw0rd!", "203.0.113.2")
		if custos.ErrorCodeOf(errUnknown) != custos.EUnauthenticated || custos.ErrorMessageOf(errUnknown) != custos.ErrorMessageOf(errWrong) {
			t.Fatalf("unknown %v / wrong %v: want the same answer", errUnknown, errWrong)
		}
		// Five failures in all lock the account; then even the right password is refused.
		for i := 0; i < f.App.Config().LockoutThreshold-1; i++ {
			if _, err := login(w.idNumber, "Wrong-Passw0rd!", fmt.Sprintf("203.0.113.%d", 10+i)); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
				t.Fatalf("failure %d: %v", i+2, err)
			}
		}
		if _, err := login(w.idNumber, portalPassword, "203.0.113.20"); custos.ErrorCodeOf(err) != custos.ELocked {
			t.Fatalf("locked account: %v", err)
		}
		reasons := map[string]int{}
		for _, e := range w.auditOf(t, w.c.ID, "portal.login") {
			reasons[string(e.Outcome)+"/"+e.Reason]++
			if !strings.HasPrefix(e.Actor, "customer:") || e.Via != app.PortalVia || e.ActorID != 0 {
				t.Fatalf("login event actor %q via %q id %d", e.Actor, e.Via, e.ActorID)
			}
		}
		if reasons["denied/bad_password"] != 4 || reasons["denied/bad_password_locked"] != 1 || reasons["denied/locked"] != 1 {
			t.Fatalf("login audit: %v", reasons)
		}
		f.Clock.Advance(f.App.Config().LockoutDuration + time.Second)
		s, err := login(w.idNumber, portalPassword, "203.0.113.21")
		if err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
		if s.CustomerID != w.c.ID || s.ArchiveNo != w.c.ArchiveNo || strings.Contains(s.Name, "门户客户") || !strings.Contains(s.Name, "*") {
			t.Fatalf("session %+v", s)
		}
		// The session follows the idle timeout (R-C9).
		if _, err := f.App.PortalSessionFor(ctx, s.Token); err != nil {
			t.Fatal(err)
		}
		f.Clock.Advance(f.App.Config().SessionIdle + time.Minute)
		if _, err := f.App.PortalSessionFor(ctx, s.Token); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("idle session: %v", err)
		}
		// Disabling ends access.
		s, _ = w.login(t)
		if err := f.App.DisablePortal(ctx, f.Actor("am_bj01"), w.c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.PortalSessionFor(ctx, s.Token); err == nil {
			t.Fatal("a session survived disabling the portal")
		}
		if _, err := login(w.idNumber, portalPassword, "203.0.113.30"); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("login after disabling: %v", err)
		}
		w.noPersonalData(t, portalPassword)
	})
}

func TestPortalOneTimeCode_RB5(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newPortalWorld(t, db)
		f := w.f
		addr := 0
		next := func() string { addr++; return fmt.Sprintf("192.0.2.%d", addr) }
		otp := func(code string) (*app.PortalSession, error) {
			return f.App.PortalLogin(ctx, app.PortalCredentials{IDNumber: w.idNumber, Code: code, ClientAddr: next()})
		}
		send := func() string {
			t.Helper()
			before := w.sender.Sent()
			if err := f.App.RequestPortalCode(ctx, w.idNumber, next()); err != nil {
				t.Fatal(err)
			}
			code, ok := w.sender.Last(w.email)
			if !ok || w.sender.Sent() != before+1 || len(code) != 6 {
				t.Fatalf("code %q sent %d", code, w.sender.Sent())
			}
			return code
		}
		// Unknown ID numbers and customers without portal access get the same answer and no code.
		for _, id := range []string{w.otherID, "110105194912310021"} {
			if err := f.App.RequestPortalCode(ctx, id, next()); err != nil || w.sender.Sent() != 0 {
				t.Fatalf("code for %s: %v, sent %d", id, err, w.sender.Sent())
			}
		}
		var codes []string
		c1 := send()
		codes = append(codes, c1)
		wrong := fmt.Sprintf("%06d", (mustAtoi(c1)+1)%1_000_000)
		if _, err := otp(wrong); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("wrong code: %v", err)
		}
		s, err := otp(c1)
		if err != nil || s.CustomerID != w.c.ID {
			t.Fatalf("code login: %v", err)
		}
		if _, err := otp(c1); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("a code worked twice: %v", err)
		}
		c2 := send()
		codes = append(codes, c2)
		f.Clock.Advance(app.PortalOTPTTL + time.Second)
		if _, err := otp(c2); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("expired code: %v", err)
		}
		// A new code voids the old one.
		c3 := send()
		c4 := send()
		codes = append(codes, c3, c4)
		if c3 != c4 {
			if _, err := otp(c3); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
				t.Fatalf("voided code: %v", err)
			}
		}
		if _, err := otp(c4); err != nil {
			t.Fatalf("newest code: %v", err)
		}
		// Five wrong tries use a code up (and lock the account).
		c5 := send()
		codes = append(codes, c5)
		bad := fmt.Sprintf("%06d", (mustAtoi(c5)+7)%1_000_000)
		for i := 0; i < app.PortalOTPAttempts; i++ {
			otp(bad)
		}
		if _, err := otp(c5); err == nil {
			t.Fatal("a code survived five wrong tries")
		}
		// At most five codes an hour.
		f.Clock.Advance(f.App.Config().LockoutDuration + time.Second)
		if err := f.App.RequestPortalCode(ctx, w.idNumber, next()); err != nil || w.sender.Sent() != 5 {
			t.Fatalf("sixth code within the hour: %v, sent %d", err, w.sender.Sent())
		}
		if n := len(w.auditOf(t, w.c.ID, "portal.otp_send")); n != 6 {
			t.Fatalf("otp_send events: %d", n)
		}
		if n := len(w.auditOf(t, w.c.ID, "portal.login_otp")); n < 8 {
			t.Fatalf("login_otp events: %d", n)
		}
		w.noPersonalData(t, codes...)
		// No sender, no codes.
		f.App.SetOTPSender(nil)
		if err := f.App.RequestPortalCode(ctx, w.idNumber, next()); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("without a sender: %v", err)
		}
	})
}

func mustAtoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestPortalOwnDataOnly_RB5_RE3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newPortalWorld(t, db)
		f := w.f
		_, me := w.login(t)
		prof, err := f.App.PortalProfile(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		if prof.ID != w.c.ID || prof.Person == nil || prof.Person.IDDocuments[0].Number == w.idNumber || !strings.Contains(prof.Person.IDDocuments[0].Number, "*") ||
			prof.Person.Email == w.email {
			t.Fatalf("profile not masked: %+v", prof.Person)
		}
		// Own transactions only, whatever customer the filter names; totals per currency.
		page, err := f.App.PortalTransactions(ctx, me, custos.TxnFilter{CustomerID: w.other.ID})
		if err != nil {
			t.Fatal(err)
		}
		refs := refsOf(page)
		slices.Sort(refs)
		if !slices.Equal(refs, []string{"P001", "P002", "P003"}) {
			t.Fatalf("own transactions: %v", refs)
		}
		var cny custos.TxnTotal
		for _, tt := range page.Totals {
			if tt.Currency == "CNY" {
				cny = tt
			}
		}
		if cny.Count != 2 || cny.Debit != "100.00" || cny.Credit != "2500.50" {
			t.Fatalf("totals %+v", page.Totals)
		}
		for _, it := range page.Items {
			if it.Account == "6222020200110000001" {
				t.Fatal("account number not masked")
			}
		}
		min, _ := custos.ParseAmount("1000")
		page, err = f.App.PortalTransactions(ctx, me, custos.TxnFilter{MinAmount: min})
		if err != nil || !slices.Equal(refsOf(page), []string{"P002"}) {
			t.Fatalf("search by amount: %v %v", refsOf(page), err)
		}
		// Another customer's transaction answers like a missing one.
		if _, err := f.App.PortalTransaction(ctx, me, w.otherTxn.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("another customer's transaction: %v", err)
		}
		if _, err := f.App.PortalTransaction(ctx, me, "no-such-id"); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("a missing transaction: %v", err)
		}
		got, err := f.App.PortalTransaction(ctx, me, w.own[1].ID)
		if err != nil || got.Reference != "P002" || got.Amount.String() != "2500.50" {
			t.Fatalf("own transaction: %+v %v", got, err)
		}
		// The staff services give a customer actor nothing beyond the own record.
		if _, err := f.App.GetCustomer(ctx, me, w.other.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("staff read of another customer: %v", err)
		}
		if _, err := f.App.SearchCustomers(ctx, me, custos.CustomerFilter{}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("customer search: %v", err)
		}
		if _, err := f.App.RevealCustomer(ctx, me, w.c.ID, []string{"id_number"}); err == nil {
			t.Fatal("a customer revealed their full ID number")
		}
		if _, err := f.App.SearchTransactions(ctx, me, custos.TxnFilter{}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("unscoped transaction search: %v", err)
		}
		if _, err := f.App.Inbox(ctx, me); err != nil {
			t.Fatal(err)
		}
		// Audited, with the customer as the actor by reference only.
		for _, action := range []string{"customer.read", "transaction.read"} {
			evs := w.auditOf(t, w.c.ID, action)
			portal := 0
			for _, e := range evs {
				if e.Via == app.PortalVia {
					portal++
					if !strings.HasPrefix(e.Actor, "customer:") || len(e.Actor) != len("customer:")+64 {
						t.Fatalf("%s actor %q", action, e.Actor)
					}
				}
			}
			if portal == 0 {
				t.Fatalf("no portal %s event", action)
			}
		}
		for _, action := range []string{"transaction.read", "customer.read"} {
			denied := 0
			for _, e := range w.auditOf(t, w.other.ID, action) {
				if e.Outcome == custos.OutcomeDenied && e.Via == app.PortalVia && e.Reason == custos.DenyNotSelf {
					denied++
				}
			}
			if denied == 0 {
				t.Fatalf("the refused %s of another customer's records is not audited", action)
			}
		}
		w.noPersonalData(t)
	})
}

func TestPortalCorrectionNeedsApproval_RB5(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newPortalWorld(t, db)
		f := w.f
		_, me := w.login(t)
		if _, err := f.App.PortalRequestCorrection(ctx, me, app.CorrectionInput{Phone: "13912345678"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("without a note: %v", err)
		}
		if _, err := f.App.PortalRequestCorrection(ctx, me, app.CorrectionInput{Phone: "12345", Note: "电话号码已更换"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("invalid phone: %v", err)
		}
		if _, err := f.App.PortalRequestCorrection(ctx, me, app.CorrectionInput{Note: "没有新内容"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("nothing to change: %v", err)
		}
		req, err := f.App.PortalRequestCorrection(ctx, me, app.CorrectionInput{Phone: "13912345678", Occupation: "教师", Note: "电话号码已更换"})
		if err != nil {
			t.Fatal(err)
		}
		if req.Kind != custos.KindCorrection || req.State != custos.RequestPending || req.CustomerID != w.c.ID {
			t.Fatalf("request %+v", req)
		}
		// Nothing changes before approval.
		phone := func() string {
			c, err := f.App.RevealCustomer(ctx, f.Actor("am_bj01"), w.c.ID, []string{custos.RevealPhone})
			if err != nil {
				t.Fatal(err)
			}
			return c.Person.Phones[0]
		}
		before := phone()
		if before == "13912345678" {
			t.Fatal("the correction applied before approval")
		}
		inbox, err := f.App.Inbox(ctx, f.Actor("mgr_bj"))
		if err != nil || !slices.ContainsFunc(inbox, func(r *custos.Request) bool { return r.ID == req.ID }) {
			t.Fatalf("mgr_bj inbox: %v", err)
		}
		view, err := f.App.Request(ctx, f.Actor("mgr_bj"), req.ID)
		if err != nil || len(view.Changes) != 2 {
			t.Fatalf("request view: %+v %v", view, err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_sh"), req.ID, true, ""); err == nil {
			t.Fatal("a manager of another branch approved")
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("am_bj01"), req.ID, true, ""); err == nil {
			t.Fatal("the account manager of record approved")
		}
		if got := phone(); got != before {
			t.Fatalf("phone %s after refused decisions", got)
		}
		done, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, "已电话核实")
		if err != nil || done.State != custos.RequestApplied {
			t.Fatalf("approve: %+v %v", done, err)
		}
		if got := phone(); got != "13912345678" {
			t.Fatalf("phone after approval: %s", got)
		}
		vs, err := f.App.Versions(ctx, f.Actor("am_bj01"), w.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := vs[len(vs)-1]
		for _, v := range vs {
			if v.Version > last.Version {
				last = v
			}
		}
		if last.RequestID != req.ID || last.ApprovedBy != f.Users["mgr_bj"].ID || !slices.Contains(last.Fields, "phone") || !slices.Contains(last.Fields, "occupation") {
			t.Fatalf("new version %+v", last)
		}
		mine, err := f.App.PortalRequests(ctx, me)
		if err != nil || len(mine) != 1 || mine[0].State != custos.RequestApplied {
			t.Fatalf("portal requests: %v %v", mine, err)
		}
		created := w.auditOf(t, w.c.ID, "request.create")
		if !slices.ContainsFunc(created, func(e custos.AuditEvent) bool {
			return e.Via == app.PortalVia && strings.HasPrefix(e.Actor, "customer:")
		}) {
			t.Fatalf("request.create not audited as the customer: %+v", created)
		}
		w.noPersonalData(t, "13912345678")
	})
}

func TestPortalStatements_RE3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newPortalWorld(t, db)
		f := w.f
		_, me := w.login(t)
		from, to := w.period, w.period.Add(48*time.Hour)
		if _, err := f.App.PortalStatement(ctx, me, from, to, "doc"); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("unknown format: %v", err)
		}
		if _, err := f.App.PortalStatement(ctx, me, to, from, app.StatementCSV); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("reversed period: %v", err)
		}
		// CSV: the own rows, masked accounts, exact amounts.
		st, err := f.App.PortalStatement(ctx, me, from, to, app.StatementCSV)
		if err != nil {
			t.Fatal(err)
		}
		body := bytes.TrimPrefix(st.Body, []byte("\ufeff"))
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rows[0], app.StatementColumns) || len(rows) != 4 || st.Rows != 3 {
			t.Fatalf("csv: %d rows, header %v", len(rows), rows[0])
		}
		amounts := map[string]string{}
		for _, r := range rows[1:] {
			amounts[r[1]] = r[4]
			if r[2] == "6222020200110000001" {
				t.Fatal("csv account not masked")
			}
		}
		if amounts["P001"] != "100.00" || amounts["P002"] != "2500.50" || amounts["P003"] != "88.80" || amounts["O001"] != "" {
			t.Fatalf("csv amounts %v", amounts)
		}
		// XLSX: opened with excelize.
		st, err = f.App.PortalStatement(ctx, me, from, to, app.StatementXLSX)
		if err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(bytes.NewReader(st.Body))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		xr, err := x.GetRows(app.StatementSheet)
		if err != nil || len(xr) != 4 {
			t.Fatalf("xlsx rows %d: %v", len(xr), err)
		}
		if !strings.Contains(xr[0][4], "金额") || xr[1][1] != "P001" || xr[2][4] != "2500.50" || xr[2][12] != "工资" {
			t.Fatalf("xlsx %v", xr)
		}
		tr, err := x.GetRows(app.TotalsSheet)
		if err != nil || len(tr) != 3 {
			t.Fatalf("xlsx totals %v %v", tr, err)
		}
		// A period without the transactions gives an empty statement.
		st, err = f.App.PortalStatement(ctx, me, from.AddDate(-1, 0, 0), from.AddDate(0, -6, 0), app.StatementCSV)
		if err != nil || st.Rows != 0 {
			t.Fatalf("empty period: %v %d", err, st.Rows)
		}
		// PDF: Chinese text and the amounts, read back with pdftotext.
		font := os.Getenv("CUSTOS_PDF_FONT")
		if font == "" {
			font = pdfdoc.DefaultFont
		}
		f.App.SetPDF(pdfdoc.New(font))
		text := func() string {
			st, err := f.App.PortalStatement(ctx, me, from, to, app.StatementPDF)
			if errors.Is(err, pdfdoc.ErrNoFont) || custos.ErrorCodeOf(err) == custos.EConflict {
				if os.Getenv("CI") == "true" {
					t.Fatalf("CI=true but the PDF font is missing: %v", err)
				}
				t.Skipf("PDF font missing: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			return pdfText(t, st.Body)
		}()
		for _, want := range []string{"交易对账单", "房租", "工资", "100.00", "2500.50", "88.80", w.c.ArchiveNo} {
			if !strings.Contains(text, want) {
				t.Fatalf("PDF text lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "777.00") || strings.Contains(text, "6222020200110000001") {
			t.Fatal("PDF shows another customer's record or an unmasked account")
		}
		prints := 0
		for _, e := range w.auditOf(t, w.c.ID, "customer.print") {
			if e.Via == app.PortalVia && strings.Contains(e.Detail, "statement") {
				prints++
			}
		}
		if prints != 4 {
			t.Fatalf("statement events: %d", prints)
		}
	})
}

// pdfText extracts a PDF's text with poppler's pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but pdftotext is missing: apt-get install -y poppler-utils")
		}
		t.Skip("pdftotext missing")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "s.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", in, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestPortalChangePassword_RB5(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newPortalWorld(t, db)
		f := w.f
		_, me := w.login(t)
		const next = "Neue-Kennung-77#"
		if err := f.App.PortalChangePassword(ctx, me, "Wrong-Passw0rd!", next); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("wrong current password: %v", err)
		}
		if err := f.App.PortalChangePassword(ctx, me, portalPassword, "short"); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("weak password: %v", err)
		}
		if err := f.App.PortalChangePassword(ctx, me, portalPassword, next); err != nil {
			t.Fatal(err)
		}
		login := func(pw string) error {
			_, err := f.App.PortalLogin(ctx, app.PortalCredentials{IDNumber: w.idNumber, Password: pw, ClientAddr: "198.51.100.9"})
			return err
		}
		if login(portalPassword) == nil || login(next) != nil {
			t.Fatal("the old password still works or the new one does not")
		}
		outcomes := map[custos.Outcome]int{}
		for _, e := range w.auditOf(t, w.c.ID, "portal.password") {
			outcomes[e.Outcome]++
		}
		if outcomes[custos.OutcomeOK] != 1 || outcomes[custos.OutcomeDenied] != 1 {
			t.Fatalf("portal.password events: %v", outcomes)
		}
		// A staff actor cannot use it.
		if err := f.App.PortalChangePassword(ctx, f.Actor("am_bj01"), "", next); err == nil {
			t.Fatal("a staff actor changed a portal password")
		}
		w.noPersonalData(t, next, portalPassword)
	})
}

// TestPortalCorrectionBelongsToTheCustomer_RB5 is issue 12's seventh hole:
// a portal correction was filed under the account manager, who could cancel
// it unseen. It is the customer's: the customer is its requester, only the
// customer withdraws it (an approver ends it by deciding), the account
// manager neither sees it as theirs nor cancels it, and another customer
// cannot touch it.
func TestPortalCorrectionBelongsToTheCustomer_RB5(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newPortalWorld(t, db)
		f := w.f
		_, me := w.login(t)
		req, err := f.App.PortalRequestCorrection(ctx, me, app.CorrectionInput{Phone: "13912345678", Note: "电话号码已更换"})
		if err != nil {
			t.Fatal(err)
		}
		if !req.RequestedByCustomer || req.RequestedBy != 0 {
			t.Fatalf("the correction is not the customer's: %+v", req)
		}
		am := f.Actor("am_bj01")
		if err := f.App.CancelRequest(ctx, am, req.ID); !errors.Is(err, app.ErrRequestNotFound) {
			t.Fatalf("the account manager cancelled the customer's correction: %v", err)
		}
		if _, err := f.App.Request(ctx, am, req.ID); !errors.Is(err, app.ErrRequestNotFound) {
			t.Fatalf("the account manager sees the correction as theirs: %v", err)
		}
		if mine, err := f.App.Requests(ctx, am, custos.RequestFilter{}); err != nil || slices.ContainsFunc(mine, func(r *custos.Request) bool { return r.ID == req.ID }) {
			t.Fatalf("the correction is listed among the account manager's requests: %v", err)
		}
		stranger := custos.Actor{Kind: custos.ActorCustomer, CustomerID: "0190f0f0-0000-7000-8000-000000000000", Username: "customer:x", Via: app.PortalVia}
		if err := f.App.PortalCancelCorrection(ctx, stranger, req.ID); !errors.Is(err, app.ErrRequestNotFound) {
			t.Fatalf("another customer cancelled it: %v", err)
		}
		view, err := f.App.Request(ctx, f.Actor("compliance"), req.ID)
		if err != nil || !view.RequestedByCustomer || view.CanCancel {
			t.Fatalf("compliance's view: %+v %v", view, err)
		}
		if err := f.App.PortalCancelCorrection(ctx, me, req.ID); err != nil {
			t.Fatalf("the customer withdraws their correction: %v", err)
		}
		mine, err := f.App.PortalRequests(ctx, me)
		if err != nil || len(mine) != 1 || mine[0].State != custos.RequestCancelled {
			t.Fatalf("after withdrawal: %+v %v", mine, err)
		}
		// The other way to end it: an approver decides.
		second, err := f.App.PortalRequestCorrection(ctx, me, app.CorrectionInput{Phone: "13912345679", Note: "再次更换"})
		if err != nil {
			t.Fatal(err)
		}
		if done, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), second.ID, false, "无法电话核实"); err != nil || done.State != custos.RequestRejected {
			t.Fatalf("an approver rejects: %+v %v", done, err)
		}
		if err := f.App.PortalCancelCorrection(ctx, me, second.ID); !errors.Is(err, custos.ErrNotPending) {
			t.Fatalf("withdrawing a decided correction: %v", err)
		}
	})
}
