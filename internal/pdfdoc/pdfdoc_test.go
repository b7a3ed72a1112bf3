package pdfdoc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequirePDFTools skips a test without the font or pdftotext, except under
// CI=true, where their absence is a failure.
func requireTools(t *testing.T, r *Renderer) {
	t.Helper()
	_, perr := exec.LookPath("pdftotext")
	ferr := r.Available()
	if perr == nil && ferr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but PDF tools are missing: pdftotext: %v, font: %v", perr, ferr)
	}
	t.Skipf("PDF tools missing: pdftotext: %v, font: %v", perr, ferr)
}

func TestRenderChineseText(t *testing.T) {
	r := New(os.Getenv("CUSTOS_PDF_FONT"))
	requireTools(t, r)
	rows := make([][]string, 80)
	for i := range rows {
		rows[i] = []string{"BJ01-P-2026-0000" + string(rune('0'+i%10)), "张三", "已移交"}
	}
	pdf, err := r.Render(Doc{
		Title: "员工离岗交接证明书", Subtitle: "Handover certificate",
		Blocks: []Block{
			Fields{{"离岗人员 Leaver", "王芳 (am_wang)"}, {"接收人员 Successor", "李娜 (am_li)"}},
			Heading("客户档案 Customers"),
			Table{Header: []string{"档案编号", "姓名", "状态"}, Rows: rows},
			Para("以上档案已全部移交。All archives above were handed over."),
			Signatures{{"离岗人员签字", "2026-11-27 10:00"}},
		},
		Footer: "Custos",
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.pdf")
	os.WriteFile(path, pdf, 0o600)
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"员工离岗交接证明书", "Handover certificate", "王芳 (am_wang)", "以上档案已全部移交", "离岗人员签字", "1/"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext output lacks %q:\n%s", want, text)
		}
	}
}

func TestMissingFont(t *testing.T) {
	if _, err := New("/nonexistent.ttf").Render(Doc{Title: "x"}); err == nil || !strings.Contains(err.Error(), "font") {
		t.Fatalf("missing font: %v", err)
	}
}
