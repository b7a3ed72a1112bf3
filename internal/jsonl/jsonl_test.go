package jsonl

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNext(t *testing.T) {
	in := `{"a":1}` + "\r\n\n  \n" + `{"b":` + strings.Repeat("9", 40) + "}\n" + `{"c":3}`
	r := NewReader(strings.NewReader(in), 20)
	type got struct {
		line    string
		n       int
		tooLong bool
	}
	var out []got
	for {
		line, n, tooLong, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got{string(line), n, tooLong})
	}
	want := []got{{`{"a":1}`, 1, false}, {"", 4, true}, {`{"c":3}`, 5, false}}
	if len(out) != len(want) {
		t.Fatalf("got %+v, want %+v", out, want)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, out[i], want[i])
		}
	}
}

func TestInvalidText_RA1(t *testing.T) {
	for in, want := range map[string]int{
		`{"name":"张三"}`:                -1,
		`{"name":"\u5f20\u4e09"}`:      -1,
		`{"name":"\ud83d\ude00"}`:      -1, // a pair: 😀
		`{"name":"\\ud800"}`:           -1, // an escaped backslash, then text
		`{"name":"a\ud800"}`:           10, // a lone high surrogate
		`{"name":"\udc00x"}`:           9,  // a lone low surrogate
		`{"name":"\ud800\u0041"}`:      9,  // high then no low
		"{\"name\":\"\xff\"}":          9,  // not UTF-8
		"{\"name\":\"\xe5\xbc\"}":      9,  // a truncated sequence
		`{"name":"ok"} \u0041`:         -1, // outside a string: the decoder's business
		`{"n\u00e4me":"x","b":"\"\\"}`: -1,
	} {
		if got := InvalidText([]byte(in)); got != want {
			t.Errorf("InvalidText(%q) = %d, want %d", in, got, want)
		}
	}
}

// FuzzInvalidText holds the promise of InvalidText: a JSON string it lets
// through decodes without replacement characters that were not sent.
func FuzzInvalidText(f *testing.F) {
	for _, s := range []string{`"张三"`, `"\ud800"`, `"\ud83d\ude00"`, "\"\xff\"", `"\\ud800"`, `"\ufffd"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s string
		if InvalidText(b) >= 0 || json.Unmarshal(b, &s) != nil {
			return
		}
		sent := bytes.Contains(b, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(b), []byte(`\ufffd`))
		if strings.ContainsRune(s, utf8.RuneError) && !sent {
			t.Errorf("%q decoded to %q with a replacement character", b, s)
		}
	})
}
