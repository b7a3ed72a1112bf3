package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// eachStore runs fn on SQLite and on PostgreSQL like sqltest.Each, and also
// hands it a raw connection to the same database (the file for SQLite, the
// test schema for PostgreSQL), for looking at what is really stored and for
// breaking things underneath the services. sqltest.Each does not expose the
// schema URL, hence the copy.
func eachStore(t *testing.T, fn func(t *testing.T, db *sqlstore.DB, raw *sql.DB)) {
	t.Helper()
	open := func(t *testing.T, driver, dsn string) *sql.DB {
		raw, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return raw
	}
	t.Run("sqlite", func(t *testing.T) {
		db := sqltest.OpenSQLite(t)
		fn(t, db, open(t, "sqlite", "file:"+(&url.URL{Path: db.Path()}).EscapedPath()+"?_pragma=busy_timeout(10000)"))
	})
	t.Run("postgres", func(t *testing.T) {
		db, u := sqltest.OpenPostgresURL(t)
		fn(t, db, open(t, "pgx", u))
	})
}

// syncBuffer is a log sink the App may write to from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// loggedApp builds, next to the fixture's App, a second App over the same
// store and keys whose log (debug level and up) goes to a buffer, as
// apptest.NewWithConfig would with a real handler.
func loggedApp(t *testing.T, f *apptest.Fixture) (*app.App, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	a := app.New(app.DefaultConfig(), f.DB, f.Keys, f.Clock, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(a.Close)
	return a, logs
}

// encodings are the byte forms a plaintext could take on disk.
func encodings(s string) map[string][]byte {
	u := utf16.Encode([]rune(s))
	le := make([]byte, 0, 2*len(u))
	for _, c := range u {
		le = binary.LittleEndian.AppendUint16(le, c)
	}
	return map[string][]byte{"utf-8": []byte(s), "utf-16le": le}
}

// leaks lists the secrets found in data, in any of their encodings.
func leaks(data []byte, secrets []string) []string {
	var out []string
	for _, s := range secrets {
		for enc, b := range encodings(s) {
			if bytes.Contains(data, b) {
				out = append(out, fmt.Sprintf("%q (%s)", s, enc))
			}
		}
	}
	return out
}

// world is what the plaintext scan looks for.
type world struct {
	secrets   []string // personal data: must never be stored or logged in clear
	public    []string // institution names: stored in clear by design (display_name)
	customers []string // customer ids: the audit trail refers to them only by HMAC
}

// populate creates persons and institutions with distinctive personal data,
// an attachment and a timeline entry, and reads, searches, reveals and
// updates them, all through the services.
func populate(t *testing.T, f *apptest.Fixture, a *app.App) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{}
	am, mgr := f.Actor("am_bj01"), f.Actor("mgr_bj")
	persons := []string{"司马青云", "欧阳子墨", "上官婉清", "诸葛明远", "慕容雪川", "令狐晓岚", "东方既白", "皇甫嘉禾", "尉迟景行", "公孙念慈", "长孙若水", "端木思齐"}
	var first *custos.Customer
	for i, name := range persons {
		in := apptest.Person(name)
		in.Email = fmt.Sprintf("custos.secret.%02d@example-bank.cn", i)
		in.Address = fmt.Sprintf("北京市朝阳区机密胡同%d号院%d单元", 100+i, i+1)
		in.Employer = fmt.Sprintf("雇主保密单位第%d号", i)
		c, err := a.CreateCustomer(ctx, am, in)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if first == nil {
			first = c
		}
		w.secrets = append(w.secrets, name, in.IDNumber, in.Phone, in.Email, in.Address, in.Employer)
		w.customers = append(w.customers, c.ID)
	}
	reps := []string{"夏侯知远", "宇文清和", "轩辕书棋", "独孤长风", "钟离未央", "闻人望舒", "澹台明镜", "百里听涛"}
	for i, rep := range reps {
		name := fmt.Sprintf("北京星河第%d数据科技有限公司", i+1)
		in := apptest.Institution(name)
		in.Address = fmt.Sprintf("北京市海淀区保密大街%d号楼", 200+i)
		in.LegalRepresentative.Name = rep
		c, err := a.CreateCustomer(ctx, mgr, in)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		w.secrets = append(w.secrets, in.USCC, in.Address, rep, in.LegalRepresentative.IDNumber)
		w.public = append(w.public, name)
		w.customers = append(w.customers, c.ID)
	}

	content := []byte("扫描件正文 CUSTOS-ATTACHMENT-PLAINTEXT-5d1c7e 护照号码 E99887766")
	filename := "护照扫描件-机密-5d1c7e.txt"
	at, err := a.AddAttachment(ctx, am, first.ID, custos.AttachIDScan, filename, "", content)
	if err != nil {
		t.Fatal(err)
	}
	title, body := "机密会谈纪要 TL-TITLE-9c2e", "客户透露其在离岸信托的安排 TL-BODY-4b7f，请勿外传"
	if _, err := a.AddTimeline(ctx, am, first.ID, custos.TimelineEntry{Kind: custos.TimelineContact, OccurredOn: apptest.Day(-7), Title: title, Body: body}); err != nil {
		t.Fatal(err)
	}
	w.secrets = append(w.secrets, string(content), "CUSTOS-ATTACHMENT-PLAINTEXT-5d1c7e", filename, title, body, "TL-TITLE-9c2e", "TL-BODY-4b7f")

	// Reads and searches carry plaintext in their arguments; none of it may
	// reach the audit trail or the log.
	if _, err := a.GetCustomer(ctx, am, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RevealCustomer(ctx, am, first.ID, custos.RevealFields); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Attachment(ctx, am, first.ID, at.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Timeline(ctx, am, first.ID); err != nil {
		t.Fatal(err)
	}
	fp := first.Person
	for _, flt := range []custos.CustomerFilter{
		{IDNumber: fp.IDDocuments[0].Number}, {Phone: fp.Phones[0]}, {Name: fp.Name, Type: custos.TypePerson},
	} {
		page, err := a.SearchCustomers(ctx, am, flt)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 1 {
			t.Fatalf("search %+v found %d", flt, page.Total)
		}
	}
	if _, err := a.SearchCustomers(ctx, mgr, custos.CustomerFilter{USCC: "91110105MA0000000X"}); err != nil {
		t.Fatal(err)
	}
	newAddr := "上海市静安区更新后的机密地址88弄"
	if _, err := a.UpdateCustomer(ctx, am, first.ID, 0, func(in *custos.CustomerInput) error { in.Address = newAddr; return nil }); err != nil {
		t.Fatal(err)
	}
	w.secrets = append(w.secrets, newAddr, "91110105MA0000000X")
	return w
}

// storedBytes returns everything the database holds, as the bytes an
// attacker with a copy of it would see.
func storedBytes(t *testing.T, db *sqlstore.DB, raw *sql.DB) []byte {
	t.Helper()
	if db.Dialect() == sqlstore.SQLite {
		return sqliteFiles(t, db)
	}
	return postgresDump(t, raw)
}

// sqliteFiles reads every file of the data directory: the database and its
// write-ahead log as they are, without a checkpoint first.
func sqliteFiles(t *testing.T, db *sqlstore.DB) []byte {
	t.Helper()
	dir := filepath.Dir(db.Path())
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	sawWAL := false
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sawWAL = sawWAL || (filepath.Join(dir, e.Name()) == db.Path()+"-wal" && len(b) > 0)
		all = append(all, b...)
	}
	if !sawWAL {
		t.Fatalf("no write-ahead log at %s-wal: the scan would miss the newest pages", db.Path())
	}
	return all
}

// postgresDump renders every row of every table of the test schema twice:
// as row_to_json text (bytea as \x hex) and as the raw column values
// (bytea as bytes).
func postgresDump(t *testing.T, raw *sql.DB) []byte {
	t.Helper()
	rows, err := raw.Query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var tb string
		if err := rows.Scan(&tb); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tb)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("only %d tables in the test schema: %v", len(tables), tables)
	}
	var out bytes.Buffer
	for _, tb := range tables {
		js, err := raw.Query(`SELECT row_to_json(t)::text FROM "` + tb + `" t`)
		if err != nil {
			t.Fatal(err)
		}
		for js.Next() {
			var s string
			if err := js.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out.WriteString(s)
			out.WriteByte('\n')
		}
		js.Close()

		vs, err := raw.Query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := vs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for vs.Next() {
			if err := vs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					out.Write(v)
				case string:
					out.WriteString(v)
				default:
					fmt.Fprint(&out, v)
				}
				out.WriteByte(0)
			}
		}
		vs.Close()
	}
	return out.Bytes()
}

// auditBytes returns everything stored of every audit event: its columns as
// stored (seq, the payload's JSON text and the hash; the searchable columns
// are generated from the payload) and its fields as decoded from the payload,
// so that an escape in the JSON cannot hide a plaintext from the scan.
func auditBytes(t *testing.T, db *sqlstore.DB) []byte {
	t.Helper()
	head, _, err := db.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = db.ScanEvents(context.Background(), 1, head, func(seq int64, payload, hash []byte) error {
		fmt.Fprintf(&out, "%d|", seq)
		out.Write(payload)
		out.Write(hash)
		out.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.ScanAudit(context.Background(), 1, head, func(e *custos.AuditEvent) error {
		fmt.Fprintf(&out, "%d|%s|%d|%s|%s|%d|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n", e.Seq, e.At, e.ActorID, e.Actor, e.Role, e.OrgID, e.Action,
			e.TargetType, e.TargetRef, e.Purpose, e.Outcome, e.Reason, e.ClientAddr, e.RequestID, e.Via, e.Detail)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestNoPlaintextAtRest: personal data is encrypted at rest (R-D1). Neither
// the SQLite files (database and WAL, as they are) nor a dump of every
// PostgreSQL table holds any identity number, phone, e-mail, person name,
// address, USCC, attachment or timeline text; the audit trail (R-C5) and the
// log hold none either, nor customer ids in clear. Institution names are
// the one documented exception (customers.display_name) and serve as the
// control that the scan sees stored text at all.
func TestNoPlaintextAtRest(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, raw *sql.DB) {
		f := apptest.New(t, db)
		a, logs := loggedApp(t, f)
		w := populate(t, f, a)

		stored := storedBytes(t, db, raw)
		for _, name := range w.public {
			if !bytes.Contains(stored, []byte(name)) {
				t.Fatalf("control: institution name %q not found in the stored bytes; the scan does not see the data", name)
			}
		}
		if l := leaks(stored, w.secrets); len(l) > 0 {
			t.Errorf("plaintext personal data in the database: %s", strings.Join(l, ", "))
		}
		if db.Dialect() == sqlstore.Postgres {
			// bytea rendered as hex text: plaintext stored in a bytea column.
			var hexed []string
			for _, s := range w.secrets {
				hexed = append(hexed, hex.EncodeToString([]byte(s)))
			}
			if l := leaks(stored, hexed); len(l) > 0 {
				t.Errorf("plaintext personal data in a bytea column: %s", strings.Join(l, ", "))
			}
		}

		trail := auditBytes(t, db)
		if !bytes.Contains(trail, []byte("customer.read")) {
			t.Fatal("control: no customer.read event in the audit trail")
		}
		if l := leaks(trail, append(append([]string(nil), w.secrets...), w.customers...)); len(l) > 0 {
			t.Errorf("plaintext in audit_events: %s", strings.Join(l, ", "))
		}
		if l := leaks(logs.Bytes(), w.secrets); len(l) > 0 {
			t.Errorf("plaintext in the log: %s", strings.Join(l, ", "))
		}
	})
}

// auditFault makes every insert into audit_events fail inside the database,
// the way a full disk or a revoked grant would; the returned function
// removes the fault.
func auditFault(t *testing.T, db *sqlstore.DB, raw *sql.DB) (heal func()) {
	t.Helper()
	exec := func(q string) {
		t.Helper()
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if db.Dialect() == sqlstore.Postgres {
		exec(`CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$`)
		exec(`CREATE TRIGGER audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_down()`)
		return func() {
			exec(`DROP TRIGGER audit_down ON audit_events`)
			exec(`DROP FUNCTION audit_down()`)
		}
	}
	exec(`CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit down'); END`)
	return func() { exec(`DROP TRIGGER audit_down`) }
}

// TestAuditFailureFailsClosed: when the audit trail cannot be written,
// reads return no data, writes commit nothing, and every refusal says
// EAuditUnavailable; once the trail is back, everything works again (R-C5).
func TestAuditFailureFailsClosed(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, raw *sql.DB) {
		ctx := context.Background()
		f := apptest.New(t, db)
		a, logs := loggedApp(t, f)
		am := f.Actor("am_bj01")
		c, err := a.CreateCustomer(ctx, am, apptest.Person("闻人听雨"))
		if err != nil {
			t.Fatal(err)
		}
		at, err := a.AddAttachment(ctx, am, c.ID, custos.AttachIDScan, "scan.txt", "", []byte("ATTACHMENT-BODY-71c0"))
		if err != nil {
			t.Fatal(err)
		}
		fresh := apptest.Person("南宫问天")
		rd := db.Reader()
		before, err := rd.Customer(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		customers0, _ := rd.CountCustomers(ctx)
		events0, _ := db.AuditCount(ctx)

		heal := auditFault(t, db, raw)
		unavailable := func(what string, err error) {
			t.Helper()
			if custos.ErrorCodeOf(err) != custos.EAuditUnavailable {
				t.Errorf("%s with the audit trail down: %v (code %q), want %s", what, err, custos.ErrorCodeOf(err), custos.EAuditUnavailable)
			}
		}

		got, err := a.GetCustomer(ctx, am, c.ID)
		unavailable("GetCustomer", err)
		if got != nil {
			t.Errorf("GetCustomer released the customer without an audit record")
		}
		page, err := a.SearchCustomers(ctx, am, custos.CustomerFilter{})
		unavailable("SearchCustomers", err)
		if page != nil {
			t.Errorf("SearchCustomers released %d customers without an audit record", len(page.Items))
		}
		revealed, err := a.RevealCustomer(ctx, am, c.ID, []string{custos.RevealIDNumber})
		unavailable("RevealCustomer", err)
		if revealed != nil {
			t.Errorf("RevealCustomer released the customer without an audit record")
		}
		_, content, err := a.Attachment(ctx, am, c.ID, at.ID)
		unavailable("Attachment", err)
		if content != nil {
			t.Errorf("Attachment released the file without an audit record")
		}
		tl, err := a.Timeline(ctx, am, c.ID)
		unavailable("Timeline", err)
		atts, err := a.Attachments(ctx, am, c.ID)
		unavailable("Attachments", err)
		checklist, _, err := a.ChecklistStatus(ctx, am, c.ID)
		unavailable("ChecklistStatus", err)
		cat, err := a.Catalogue(ctx, am)
		unavailable("Catalogue", err)
		events, err := a.SearchAudit(ctx, f.Actor("auditor"), app.AuditQuery{})
		unavailable("SearchAudit", err)
		var csv bytes.Buffer
		_, err = a.ExportAudit(ctx, f.Actor("auditor"), app.AuditQuery{}, &csv)
		unavailable("ExportAudit", err)
		if tl != nil || atts != nil || checklist != nil || cat != nil || events != nil || csv.Len() > 0 {
			t.Errorf("data released without an audit record: timeline %v, attachments %v, checklist %v, catalogue %v, audit events %d, export %d bytes",
				tl != nil, atts != nil, checklist != nil, cat != nil, len(events), csv.Len())
		}
		created, err := a.CreateCustomer(ctx, am, fresh)
		unavailable("CreateCustomer", err)
		if created != nil {
			t.Errorf("CreateCustomer returned a customer")
		}
		_, err = a.UpdateCustomer(ctx, am, c.ID, 0, func(in *custos.CustomerInput) error { in.Address = "不应保存的地址"; return nil })
		unavailable("UpdateCustomer", err)
		_, err = a.AddTimeline(ctx, am, c.ID, custos.TimelineEntry{Kind: custos.TimelineNote, OccurredOn: apptest.Day(-1), Title: "不应保存"})
		unavailable("AddTimeline", err)

		if n, _ := rd.CountCustomers(ctx); n != customers0 {
			t.Errorf("customers: %d after a refused create, want %d", n, customers0)
		}
		after, err := rd.Customer(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Version != before.Version || !bytes.Equal(after.ProfileCT, before.ProfileCT) {
			t.Errorf("refused update changed the customer: version %d → %d", before.Version, after.Version)
		}
		if tl, _ := rd.Timeline(ctx, c.ID); len(tl) != 0 {
			t.Errorf("refused timeline entry stored: %d entries", len(tl))
		}
		if n, _ := db.AuditCount(ctx); n != events0 {
			t.Errorf("audit events: %d with the trail down, want %d", n, events0)
		}

		heal()
		if _, err := a.GetCustomer(ctx, am, c.ID); err != nil {
			t.Fatalf("GetCustomer after recovery: %v", err)
		}
		page, err = a.SearchCustomers(ctx, am, custos.CustomerFilter{})
		if err != nil || page.Total != 1 {
			t.Fatalf("SearchCustomers after recovery: %v (page %+v), want the one customer", err, page)
		}
		// The refused create left nothing behind, not even its identity.
		if _, err := a.CreateCustomer(ctx, am, fresh); err != nil {
			t.Fatalf("CreateCustomer after recovery: %v", err)
		}
		upd, err := a.UpdateCustomer(ctx, am, c.ID, before.Version, func(in *custos.CustomerInput) error { in.Address = "北京市东城区恢复后地址1号"; return nil })
		if err != nil || upd.Version != before.Version+1 {
			t.Fatalf("UpdateCustomer after recovery: %v", err)
		}
		rep, err := a.VerifyAudit(ctx, 1)
		if err != nil || !rep.OK() {
			t.Fatalf("audit chain after recovery: %+v %v", rep, err)
		}

		lg := logs.Bytes()
		if !bytes.Contains(lg, []byte("audit write failed")) {
			t.Errorf("the audit failure was not logged:\n%s", lg)
		}
		secrets := []string{"闻人听雨", "南宫问天", fresh.IDNumber, fresh.Phone, fresh.Address, "不应保存的地址", "ATTACHMENT-BODY-71c0"}
		if l := leaks(lg, secrets); len(l) > 0 {
			t.Errorf("plaintext in the log: %s", strings.Join(l, ", "))
		}
	})
}
