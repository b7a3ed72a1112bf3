package jsonl

import (
	"io"
	"strings"
	"testing"
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
