package httpapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
)

// The API description is openapi.json plus the fragments in openapi.d/,
// one per area of the API, merged at start-up: each fragment holds "paths"
// and "components"/"schemas" (and "parameters") to add. A name defined twice
// is a programming error and stops the program.

//go:embed openapi.json openapi.d
var openapiFS embed.FS

var openapiDoc = mustMergeOpenAPI()

func mustMergeOpenAPI() []byte {
	b, err := mergeOpenAPI(openapiFS)
	if err != nil {
		panic(err)
	}
	return b
}

func mergeOpenAPI(fsys fs.FS) ([]byte, error) {
	base, err := fs.ReadFile(fsys, "openapi.json")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	names, _ := fs.Glob(fsys, "openapi.d/*.json")
	sort.Strings(names)
	paths := doc["paths"].(map[string]any)
	comps := doc["components"].(map[string]any)
	for _, n := range names {
		raw, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		var frag struct {
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		if err := json.Unmarshal(raw, &frag); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		for p, v := range frag.Paths {
			if _, dup := paths[p]; dup {
				return nil, fmt.Errorf("%s: path %s is already described", n, p)
			}
			paths[p] = v
		}
		for kind, defs := range frag.Components {
			target, _ := comps[kind].(map[string]any)
			if target == nil {
				target = map[string]any{}
				comps[kind] = target
			}
			for name, v := range defs {
				if _, dup := target[name]; dup {
					return nil, fmt.Errorf("%s: components.%s.%s is already defined", n, kind, name)
				}
				target[name] = v
			}
		}
	}
	return json.MarshalIndent(doc, "", " ")
}
