package importer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/importer"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

var ctx = context.Background()

// fixture is apptest's world plus a custom field for the retail category.
func fixture(t testing.TB, db *sqlstore.DB) *apptest.Fixture {
	t.Helper()
	f := apptest.New(t, db)
	def := &custos.CustomFieldDef{Category: "retail", Key: "annual_income", LabelZH: "年收入", Type: custos.FieldNumber}
	if err := f.App.PutCustomFieldDef(ctx, f.Actor("admin"), def); err != nil {
		t.Fatal(err)
	}
	return f
}

func count(t testing.TB, db *sqlstore.DB) int {
	t.Helper()
	n, err := db.Reader().CountCustomers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// wantErr is a row error a test expects: line, field, code.
type wantErr struct {
	line        int
	field, code string
}

func rowErrors(rep *importer.Report) []wantErr {
	var out []wantErr
	for _, e := range rep.Errors {
		out = append(out, wantErr{e.Line, e.Field, e.Code})
	}
	return out
}

// sample is ten good customers and four bad ones, the bad ones in between.
func sample() (rows []custos.CustomerInput) {
	person := func(i int, name string) custos.CustomerInput {
		return custos.CustomerInput{
			Type: custos.TypePerson, Name: name, IDType: "cn_resident_id",
			IDNumber: idcard.GenerateResidentID("110105", time.Date(1970+i, 3, 1+i, 0, 0, 0, 0, time.UTC), i, i%2 == 0),
			IDExpiry: "long_term", Phone: fmt.Sprintf("1391000%04d", i), Address: fmt.Sprintf("北京市朝阳区建国路%d号", i),
			Org: "BJ01", Owner: "am_bj01", Classifications: map[string]string{custos.TaxTier: "general"},
			Custom: map[string]any{"annual_income": fmt.Sprint(100000 * i)},
		}
	}
	institution := func(i int, name string) custos.CustomerInput {
		return custos.CustomerInput{
			Type: custos.TypeInstitution, Name: name, USCC: idcard.GenerateUSCC("110108", 500+i), Address: "北京市海淀区中关村大街1号",
			Phone: "010-6275" + fmt.Sprintf("%04d", i), Category: "corporate", Org: "BJ01", Owner: "am_bj01",
			LegalRepresentative: &custos.Party{Name: "王建国", IDType: "cn_resident_id",
				IDNumber: idcard.GenerateResidentID("310101", time.Date(1965, 5, 5, 0, 0, 0, 0, time.UTC), i, true)},
		}
	}
	good := []custos.CustomerInput{
		person(1, "张伟"), person(2, "王芳"), person(3, "李娜"), institution(4, "北京华信科技有限公司"), person(5, "刘洋"),
		person(6, "陈静"), institution(7, "北京恒通贸易有限公司"), person(8, "杨磊"), person(9, "赵敏"), person(10, "周杰"),
	}
	// A quoted cell spanning two lines keeps the line numbers honest.
	good[2].Address = "北京市朝阳区\n建国路3号"

	badChecksum := person(11, "孙强")
	check := "0"
	if strings.HasSuffix(badChecksum.IDNumber, "0") {
		check = "1"
	}
	badChecksum.IDNumber = badChecksum.IDNumber[:17] + check
	noName := person(12, "")
	badTier := person(13, "吴刚")
	badTier.Classifications[custos.TaxTier] = "vip"
	dup := person(2, "王芳芳") // the identity of good[1]

	rows = append(rows, good[:3]...)
	rows = append(rows, badChecksum)
	rows = append(rows, good[3:6]...)
	rows = append(rows, noName, badTier)
	rows = append(rows, good[6:]...)
	rows = append(rows, dup)
	return rows
}

var header = []string{"type", "name", "id_type", "id_number", "id_expiry", "phone", "address", "uscc", "category",
	"legal_rep_name", "legal_rep_id_type", "legal_rep_id_number", "org", "owner", "tier", "custom.annual_income"}

// writeCSV renders rows as CSV with a byte-order mark and a blank line in
// the middle, and returns the line each row starts on.
func writeCSV(t testing.TB, rows []custos.CustomerInput) ([]byte, []int) {
	var buf bytes.Buffer
	buf.Write([]byte{0xEF, 0xBB, 0xBF})
	w := csv.NewWriter(&buf)
	w.Write(header)
	var lines []int
	for i, in := range rows {
		w.Flush()
		if i == 5 {
			buf.WriteString("\n")
		}
		lines = append(lines, bytes.Count(buf.Bytes(), []byte("\n"))+1)
		var lr custos.Party
		if in.LegalRepresentative != nil {
			lr = *in.LegalRepresentative
		}
		income, _ := in.Custom["annual_income"].(string)
		w.Write([]string{string(in.Type), in.Name, in.IDType, in.IDNumber, in.IDExpiry, in.Phone, in.Address, in.USCC, in.Category,
			lr.Name, lr.IDType, lr.IDNumber, in.Org, in.Owner, in.Classifications[custos.TaxTier], income})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), lines
}

func writeJSONL(t testing.TB, rows []custos.CustomerInput) ([]byte, []int) {
	var buf bytes.Buffer
	var lines []int
	for i, in := range rows {
		if i == 5 {
			buf.WriteString("   \n")
		}
		lines = append(lines, bytes.Count(buf.Bytes(), []byte("\n"))+1)
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteString("\r\n")
	}
	return buf.Bytes(), lines
}

func TestImportKeepsGoodRowsAndReportsBadOnes(t *testing.T) { // R-A1 (bulk import), R-A4, R-A8
	for _, format := range []string{importer.CSV, importer.JSONL} {
		t.Run(format, func(t *testing.T) {
			sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				f := fixture(t, db)
				rows := sample()
				var data []byte
				var lines []int
				if format == importer.CSV {
					data, lines = writeCSV(t, rows)
				} else {
					data, lines = writeJSONL(t, rows)
				}
				field := func(csvName, jsonPath string) string {
					if format == importer.CSV {
						return csvName
					}
					return jsonPath
				}
				want := []wantErr{
					{lines[3], "id_number", custos.CodeInvalidChecksum},
					{lines[7], "name", custos.CodeRequired},
					{lines[8], field("tier", "classifications.tier"), custos.CodeNotAllowed},
					{lines[13], "id_number", importer.CodeDuplicate},
				}

				var calls, lastDone int
				var lastBytes int64
				rep, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), bytes.NewReader(data), importer.Options{Progress: func(done, failed int, n int64) {
					calls++
					lastDone, lastBytes = done, n
				}})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Format != format || rep.Imported != 10 || rep.Failed != 4 || !slices.Equal(rowErrors(rep), want) {
					t.Fatalf("format %s, imported %d, failed %d, errors %v; want 10, 4, %v", rep.Format, rep.Imported, rep.Failed, rowErrors(rep), want)
				}
				for _, e := range rep.Errors {
					if e.Message.ZH == "" || e.Message.EN == "" {
						t.Errorf("line %d: message %+v", e.Line, e.Message)
					}
				}
				if calls < 14 || lastDone != 14 || lastBytes != int64(len(data)) {
					t.Errorf("progress: %d calls, last done %d, bytes %d of %d", calls, lastDone, lastBytes, len(data))
				}
				if n := count(t, db); n != 10 {
					t.Fatalf("%d customers stored", n)
				}

				// The same file again adds nothing: every good row is now a duplicate.
				rep, err = importer.Import(ctx, f.App, f.Actor("mgr_bj"), bytes.NewReader(data), importer.Options{Format: format})
				if err != nil {
					t.Fatal(err)
				}
				dups := 0
				for _, e := range rep.Errors {
					if e.Code == importer.CodeDuplicate {
						dups++
					}
				}
				if rep.Imported != 0 || rep.Failed != 14 || dups != 11 {
					t.Fatalf("re-import: imported %d, failed %d, duplicates %d: %v", rep.Imported, rep.Failed, dups, rowErrors(rep))
				}
				if n := count(t, db); n != 10 {
					t.Fatalf("re-import changed the store: %d customers", n)
				}
			})
		})
	}
}

func TestImportRejectsUnknownColumns(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := fixture(t, db)
		rows := sample()
		data, _ := writeCSV(t, rows)
		data = bytes.Replace(data, []byte("custom.annual_income"), []byte("favourite_colour,custom.annual_income"), 1)
		rep, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), bytes.NewReader(data), importer.Options{Format: importer.CSV})
		var ce *custos.Error
		if !errors.As(err, &ce) || ce.Code != custos.EInvalid || !strings.Contains(ce.Message.EN, "favourite_colour") || !strings.Contains(ce.Message.ZH, "favourite_colour") {
			t.Fatalf("unknown column: %v", err)
		}
		if len(ce.Fields) != 1 || ce.Fields[0].Field != "favourite_colour" || ce.Fields[0].Code != custos.CodeUnknown {
			t.Errorf("fields %+v", ce.Fields)
		}
		if rep.Imported != 0 || rep.Failed != 0 || count(t, db) != 0 {
			t.Fatalf("rows were read after a bad header: %+v", rep)
		}

		for _, h := range []string{"type,name,name", "name,id_number", "type,tier,class.tier"} {
			if _, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), strings.NewReader(h+"\n"), importer.Options{}); custos.ErrorCodeOf(err) != custos.EInvalid {
				t.Errorf("header %q: %v", h, err)
			}
		}
	})
}

func TestImportRowSyntaxErrors(t *testing.T) {
	f := fixture(t, sqltest.OpenSQLite(t))
	good := `{"type":"person","name":"张伟","id_type":"cn_resident_id","id_number":"11010519491231002X","org":"BJ01","owner":"am_bj01"}`
	jsonl := good + "\n" +
		`{"type":"person","name":"李四","colour":"red"}` + "\n" +
		`{"type":"person","name":` + "\n" +
		`{"type":"person","name":42}` + "\n" +
		`{"type":"person"} {"type":"person"}` + "\n" +
		strings.Repeat(" ", importer.MaxLineBytes+10) + "x\n"
	rep, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), strings.NewReader(jsonl), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []wantErr{{2, "colour", custos.CodeUnknown}, {3, "", importer.CodeInvalidJSON}, {4, "name", custos.CodeInvalidFormat},
		{5, "", importer.CodeInvalidJSON}, {6, "", importer.CodeLineTooLong}}
	if rep.Format != importer.JSONL || rep.Imported != 1 || !slices.Equal(rowErrors(rep), want) {
		t.Fatalf("JSONL: %s imported %d, errors %v, want %v", rep.Format, rep.Imported, rowErrors(rep), want)
	}

	ids := make([]string, 3)
	for i := range ids {
		ids[i] = idcard.GenerateResidentID("110108", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), i, false)
	}
	csvData := "type,name,id_type,id_number,org,owner,phone\n" +
		"person,李娜,cn_resident_id," + ids[0] + ",BJ01,am_bj01,'+86 139 1000 0001\n" +
		"person,王芳\n" +
		",,,,,,\n" +
		`person,"bad"quote,cn_resident_id,` + ids[1] + `,BJ01,am_bj01,` + "\n" +
		"person,赵敏,cn_resident_id," + ids[2] + ",BJ01,nobody,\n"
	rep, err = importer.Import(ctx, f.App, f.Actor("mgr_bj"), strings.NewReader(csvData), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want = []wantErr{{3, "", importer.CodeFieldCount}, {5, "", importer.CodeInvalidCSV}, {6, "owner", custos.CodeUnknown}}
	if rep.Format != importer.CSV || rep.Imported != 1 || !slices.Equal(rowErrors(rep), want) {
		t.Fatalf("CSV: %s imported %d, errors %v, want %v", rep.Format, rep.Imported, rowErrors(rep), want)
	}

	// A CSV line longer than the bound is an error of its row, read past
	// without being kept; the rows after it are imported.
	long := io.MultiReader(strings.NewReader("type,name\nperson,"), io.LimitReader(neverEnding('x'), importer.MaxLineBytes+10),
		strings.NewReader("\nperson,孙七\n"))
	rep, err = importer.Import(ctx, f.App, f.Actor("mgr_bj"), long, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want = []wantErr{{2, "", importer.CodeLineTooLong}, {3, "id_type", custos.CodeRequired}}; !slices.Equal(rowErrors(rep)[:2], want) {
		t.Fatalf("long line: errors %v, want %v first", rowErrors(rep), want)
	}
}

// TestImportCSVAfterBrokenQuote_RA1: row 3 opens a quote it never closes.
// encoding/csv took rows 4 to 6 into that one field and lost them; now row
// 3 is reported by its line and rows 4 to 6 are imported. A row with bytes
// that are not UTF-8 is reported by line and column, never stored with
// replacement characters.
func TestImportCSVAfterBrokenQuote_RA1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := fixture(t, db)
		ids := make([]string, 7)
		for i := range ids {
			ids[i] = idcard.GenerateResidentID("110108", time.Date(1981, 2, 3, 0, 0, 0, 0, time.UTC), i+1, true)
		}
		row := func(name string, i int) string {
			return "person," + name + ",cn_resident_id," + ids[i] + ",BJ01,am_bj01\n"
		}
		data := "type,name,id_type,id_number,org,owner\n" +
			row("李一", 0) +
			`person,"李二,cn_resident_id,` + ids[1] + ",BJ01,am_bj01\n" +
			row("李三", 2) + row("李四", 3) + row("李五", 4) +
			row("李\xff六", 5) +
			row("李\u202e七", 6)
		rep, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), strings.NewReader(data), importer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := []wantErr{{3, "", importer.CodeInvalidCSV}, {7, "name", custos.CodeInvalidEncoding}, {8, "name", custos.CodeControlChar}}
		if rep.Imported != 4 || rep.Failed != 3 || !slices.Equal(rowErrors(rep), want) {
			t.Fatalf("imported %d, failed %d, errors %v, want 4, 3, %v", rep.Imported, rep.Failed, rowErrors(rep), want)
		}
		if m := rep.Errors[0].Message; m.ZH == "" || m.EN == "" {
			t.Errorf("the broken row's error has no message: %+v", rep.Errors[0])
		}
		for _, i := range []int{0, 2, 3, 4} {
			res, err := f.App.SearchCustomers(ctx, f.Actor("mgr_bj"), custos.CustomerFilter{IDNumber: ids[i]})
			if err != nil || len(res.Items) != 1 {
				t.Errorf("row with ID %d not imported: %v %v", i, res, err)
			}
		}
	})
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestImportActorMayOnlyCreateInItsScope(t *testing.T) { // R-C1
	f := fixture(t, sqltest.OpenSQLite(t))
	data := "type,name,id_type,id_number,org,owner\n" +
		"person,张伟,cn_resident_id,11010519491231002X,SH,mgr_sh\n" +
		"person,李娜,cn_resident_id," + idcard.GenerateResidentID("110108", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), 7, false) + ",,\n"
	rep, err := importer.Import(ctx, f.App, f.Actor("am_bj01"), strings.NewReader(data), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 || !slices.Equal(rowErrors(rep), []wantErr{{2, "owner", importer.CodeForbidden}}) {
		t.Fatalf("imported %d, errors %v", rep.Imported, rowErrors(rep))
	}
}

// generated streams n valid person rows as CSV without holding them.
type generated struct {
	n, i int
	buf  bytes.Buffer
}

var genSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗"}
var genGiven = []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华"}

// genRegions multiply the distinct identities: each region and birth date
// gives 499 order codes.
var genRegions = []string{"110105", "110108", "310115", "440305"}

func newGenerated(n int) *generated {
	g := &generated{n: n}
	g.buf.WriteString("type,name,id_type,id_number,id_expiry,phone,address,org,owner,tier,lifecycle\n")
	return g
}

func (g *generated) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && g.i < g.n {
		i := g.i
		g.i++
		birth := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%25000)
		id := idcard.GenerateResidentID(genRegions[(i/25000)%len(genRegions)], birth, i/(25000*len(genRegions)), i%2 == 0)
		fmt.Fprintf(&g.buf, "person,%s%s,cn_resident_id,%s,long_term,139%08d,北京市朝阳区建国路%d号,BJ01,am_bj01,general,new\n",
			genSurnames[i%len(genSurnames)], genGiven[(i/len(genSurnames))%len(genGiven)], id, i, i%500+1)
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

func TestImportCancellation(t *testing.T) {
	for _, workers := range []int{1, importer.DefaultWorkers} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				f := fixture(t, db)
				var data bytes.Buffer
				io.Copy(&data, newGenerated(40))
				c, cancel := context.WithCancel(ctx)
				defer cancel()
				rep, err := importer.Import(c, f.App, f.Actor("mgr_bj"), bytes.NewReader(data.Bytes()), importer.Options{Workers: workers,
					Progress: func(done, failed int, n int64) {
						if done == 5 {
							cancel() // the rows in flight finish; nothing after them starts
						}
					}})
				if !errors.Is(err, context.Canceled) || rep.Failed != 0 || rep.Imported < 5 || rep.Imported > 5+workers-1 {
					t.Fatalf("cancelled import: %v, %+v", err, rep)
				}
				if workers == 1 && rep.Imported != 5 {
					t.Fatalf("one row at a time, cancelled after row 5: %d imported", rep.Imported)
				}
				// The report tells exactly what was stored.
				if n := count(t, db); n != rep.Imported {
					t.Fatalf("%d customers stored, %d reported", n, rep.Imported)
				}
				// Running the whole file again completes it without doubling anything.
				first := rep.Imported
				rep, err = importer.Import(ctx, f.App, f.Actor("mgr_bj"), bytes.NewReader(data.Bytes()), importer.Options{Workers: workers})
				if err != nil || rep.Imported != 40-first || rep.Failed != first {
					t.Fatalf("rerun: %v, imported %d, failed %d", err, rep.Imported, rep.Failed)
				}
				for _, e := range rep.Errors {
					if e.Code != importer.CodeDuplicate || e.Line > first+1 {
						t.Errorf("rerun error %+v", e)
					}
				}
				if n := count(t, db); n != 40 {
					t.Fatalf("%d customers after the rerun", n)
				}
			})
		})
	}
}

func TestExport(t *testing.T) { // R-C10, R-C5
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := fixture(t, db)
		rows := sample()
		data, _ := writeCSV(t, rows)
		if _, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), bytes.NewReader(data), importer.Options{}); err != nil {
			t.Fatal(err)
		}
		f.Create(t, "mgr_sh", apptest.Person("上海客户")) // outside mgr_bj's unit

		var out bytes.Buffer
		n, err := importer.Export(ctx, f.App, f.Actor("mgr_bj"), &out, importer.CSV, custos.CustomerFilter{})
		if err != nil || n != 10 {
			t.Fatalf("export: %d, %v", n, err)
		}
		recs, err := csv.NewReader(bytes.NewReader(out.Bytes())).ReadAll()
		if err != nil || len(recs) != 11 {
			t.Fatalf("export CSV: %d records, %v", len(recs), err)
		}
		hdr := recs[0]
		if hdr[0] != "archive_no" || hdr[1] != "type" || hdr[2] != "name" || !slices.Contains(hdr, "custom.annual_income") || !slices.Contains(hdr, "legal_rep_id_number") {
			t.Fatalf("header %v", hdr)
		}
		col := func(rec []string, name string) string { return rec[slices.Index(hdr, name)] }
		persons := 0
		for _, rec := range recs[1:] {
			if !strings.HasPrefix(col(rec, "archive_no"), "BJ01-") || col(rec, "org") != "BJ01" || col(rec, "owner") != "am_bj01" {
				t.Errorf("row %v", rec)
			}
			if col(rec, "type") == "person" {
				persons++
				if !strings.Contains(col(rec, "id_number"), "*") || !strings.Contains(col(rec, "phone"), "*") {
					t.Errorf("person exported unmasked: %s %s", col(rec, "id_number"), col(rec, "phone"))
				}
			} else if !strings.Contains(col(rec, "legal_rep_id_number"), "*") || col(rec, "uscc") == "" {
				t.Errorf("institution: legal representative %s, uscc %s", col(rec, "legal_rep_id_number"), col(rec, "uscc"))
			}
		}
		if persons != 8 {
			t.Errorf("%d persons exported", persons)
		}

		// The export reads back with the same layout, but its masked values fail validation.
		rep, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), bytes.NewReader(out.Bytes()), importer.Options{})
		if err != nil || rep.Imported != 0 || rep.Failed != 10 {
			t.Fatalf("re-import of an export: %v, %+v", err, rep)
		}

		out.Reset()
		n, err = importer.Export(ctx, f.App, f.Actor("mgr_bj"), &out, importer.JSONL, custos.CustomerFilter{Type: custos.TypeInstitution})
		if err != nil || n != 2 {
			t.Fatalf("JSONL export: %d, %v", n, err)
		}
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			var rec struct {
				ArchiveNo string `json:"archive_no"`
				custos.CustomerInput
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.ArchiveNo == "" || rec.Type != custos.TypeInstitution || rec.Owner != "am_bj01" || rec.OrgID != 0 {
				t.Errorf("JSONL line %s: %v", sc.Bytes(), err)
			}
		}

		// Account managers may search their customers but not export them.
		if _, err := importer.Export(ctx, f.App, f.Actor("am_bj01"), io.Discard, importer.CSV, custos.CustomerFilter{}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("export by an account manager: %v", err)
		}
		// Reads state their purpose (R-C6).
		if _, err := importer.Export(ctx, f.App, f.Actor("mgr_bj").WithPurpose(""), io.Discard, importer.CSV, custos.CustomerFilter{}); custos.ErrorCodeOf(err) != custos.EPurposeRequired {
			t.Fatalf("export without purpose: %v", err)
		}
	})
}

func TestExportEscapesFormulas(t *testing.T) {
	f := fixture(t, sqltest.OpenSQLite(t))
	in := apptest.Institution("=HYPERLINK(\"http://example.com\")")
	in.Org, in.Owner = "BJ01", "am_bj01"
	f.Create(t, "mgr_bj", in)
	var out bytes.Buffer
	if _, err := importer.Export(ctx, f.App, f.Actor("mgr_bj"), &out, importer.CSV, custos.CustomerFilter{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `'=HYPERLINK`) {
		t.Fatalf("formula not escaped:\n%s", out.String())
	}
}

// TestImportMemoryIsFlat imports 20,000 rows while sampling the heap: a
// streaming import must not hold the file, the rows or the report's
// successes. It fails on memory only, never on time: when the heap in use
// grows more than 64 MiB above the start, or when the live heap after a
// collection grows more than 8 MiB between a quarter of the rows and the end
// (a leak of more than ~500 bytes a row).
//
// The Sealer's cache of data keys (65,536 keys of ~0.9 KiB by default) would
// grow by design during the first 65,536 rows and hide the importer's own
// figure, so this test runs with a 1,024-key cache.
func TestImportMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 20,000 rows")
	}
	const rows = 20_000
	const peakBound, slopeBound = 64 << 20, 8 << 20
	f := fixture(t, sqltest.OpenSQLite(t))
	f.Keys.Sealer = seal.NewSealer(f.Keys.KEK, 1024)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	var mu sync.Mutex
	peak := base
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var liveQuarter, liveEnd uint64
	start := time.Now()
	rep, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), newGenerated(rows), importer.Options{Format: importer.CSV,
		Progress: func(done, failed int, n int64) {
			switch done {
			case rows / 4:
				liveQuarter = live()
			case rows:
				liveEnd = live()
			}
		}})
	elapsed := time.Since(start)
	close(stop)
	<-done
	sample()
	if err != nil || rep.Imported != rows {
		t.Fatalf("imported %d of %d: %v %v", rep.Imported, rows, err, rowErrors(rep)[:min(5, len(rep.Errors))])
	}
	t.Logf("%d rows in %v (%.0f rows/s); heap in use %.1f MiB at start, peak %.1f MiB (+%.1f MiB); live heap %.1f MiB at %d rows, %.1f MiB at the end",
		rows, elapsed.Round(time.Millisecond), rows/elapsed.Seconds(), mib(base), mib(peak), mib(peak-base), mib(liveQuarter), rows/4, mib(liveEnd))
	if peak > base+peakBound {
		t.Errorf("heap in use grew by %.1f MiB importing %d rows; the bound is %d MiB", mib(peak-base), rows, peakBound>>20)
	}
	if liveEnd > liveQuarter+slopeBound {
		t.Errorf("live heap grew by %.1f MiB over the last %d rows: something keeps rows", mib(liveEnd-liveQuarter), rows*3/4)
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkImportCSV imports b.N generated rows into SQLite, one row after
// the other and with the default number of rows in flight: one op is one row.
func BenchmarkImportCSV(b *testing.B) {
	for _, workers := range []int{1, 4, importer.DefaultWorkers} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			f := fixture(b, sqltest.OpenSQLite(b))
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			rep, err := importer.Import(ctx, f.App, f.Actor("mgr_bj"), newGenerated(b.N), importer.Options{Format: importer.CSV, Workers: workers})
			b.StopTimer()
			runtime.ReadMemStats(&after)
			if err != nil || rep.Imported != b.N {
				b.Fatalf("imported %d of %d: %v", rep.Imported, b.N, err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "alloc-B/row")
		})
	}
}
