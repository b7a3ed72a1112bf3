package httpapi

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestMergeOpenAPIRefusesDuplicates(t *testing.T) {
	base := `{"paths":{"/a":{}},"components":{"schemas":{"A":{}}}}`
	ok := fstest.MapFS{"openapi.json": {Data: []byte(base)}, "openapi.d/b.json": {Data: []byte(`{"paths":{"/b":{}},"components":{"schemas":{"B":{}}}}`)}}
	doc, err := mergeOpenAPI(ok)
	if err != nil || !strings.Contains(string(doc), `"/b"`) || !strings.Contains(string(doc), `"B"`) {
		t.Fatalf("merge: %v %s", err, doc)
	}
	for _, frag := range []string{`{"paths":{"/a":{}}}`, `{"components":{"schemas":{"A":{}}}}`} {
		bad := fstest.MapFS{"openapi.json": {Data: []byte(base)}, "openapi.d/x.json": {Data: []byte(frag)}}
		if _, err := mergeOpenAPI(bad); err == nil {
			t.Errorf("duplicate accepted: %s", frag)
		}
	}
}
