package custos

import "testing"

func TestNameProblem_RA2_RD4(t *testing.T) {
	for s, want := range map[string][2]string{ // name, free text
		"张三":               {"", ""},
		"阿不都·热合曼":          {"", ""},
		"O'Brien Ltd.":     {"", ""},
		"北京市\n朝阳区\t1号\r":   {CodeControlChar, ""},
		"张\x00三":           {CodeControlChar, CodeControlChar},
		"张\x1b[31m三":       {CodeControlChar, CodeControlChar},
		"张\u007f三":         {CodeControlChar, CodeControlChar},
		"张\u0085三":         {CodeControlChar, CodeControlChar},
		"张\u009b三":         {CodeControlChar, CodeControlChar},
		"\u202a张三\u202c":   {CodeControlChar, CodeControlChar},
		"张三\u202eCBA":      {CodeControlChar, CodeControlChar},
		"\u2066张三\u2069":   {CodeControlChar, CodeControlChar},
		"张\u2068三":         {CodeControlChar, CodeControlChar},
		"张三\u200e":         {CodeControlChar, CodeControlChar},
		"张三\u200f":         {CodeControlChar, CodeControlChar},
		"张三\u061c":         {CodeControlChar, CodeControlChar},
		"张\u2028三":         {CodeControlChar, CodeControlChar},
		"张\xff三":           {CodeInvalidEncoding, CodeInvalidEncoding},
		"张\xe5\xbc":        {CodeInvalidEncoding, CodeInvalidEncoding},
		"\xed\xa0\x80":     {CodeInvalidEncoding, CodeInvalidEncoding}, // a surrogate encoded as UTF-8
		"张\u202d三\u202c李四": {CodeControlChar, CodeControlChar},
	} {
		if got := NameProblem(s); got != want[0] {
			t.Errorf("NameProblem(%q) = %q, want %q", s, got, want[0])
		}
		if got := TextProblem(s); got != want[1] {
			t.Errorf("TextProblem(%q) = %q, want %q", s, got, want[1])
		}
	}
	var v Validation
	if !v.CheckName("name", "张三") || v.CheckName("legal_representative.name", "张\u202e三") || v.CheckText("remarks", "a\x00") {
		t.Fatal("CheckName/CheckText disagree with NameProblem/TextProblem")
	}
	if len(v.Fields) != 2 || v.Fields[0].Field != "legal_representative.name" || v.Fields[0].Message.ZH == "" || v.Fields[0].Message.EN == "" {
		t.Fatalf("field errors %+v", v.Fields)
	}
}
