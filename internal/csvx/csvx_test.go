package csvx

import "testing"

func TestCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": "abc", "=SUM(A1)": "'=SUM(A1)", "+86": "'+86", "-1": "'-1", "@x": "'@x", "张三": "张三"} {
		if got := Cell(in); got != want || Uncell(got) != in {
			t.Errorf("Cell(%q) = %q, Uncell → %q", in, got, Uncell(got))
		}
	}
}
