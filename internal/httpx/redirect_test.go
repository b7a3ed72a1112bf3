package httpx

import "testing"

// TestLocalRedirect_RD4 holds the redirect targets a client may choose to
// this site: whatever a browser would read as another host falls back.
func TestLocalRedirect_RD4(t *testing.T) {
	const fb = "/home"
	for _, c := range []struct {
		in, within, want string
	}{
		{"/customers/1", "/", "/customers/1"},
		{"/customers?q=1&page=2#top", "/", "/customers?q=1&page=2#top"},
		{"/", "/", "/"},
		{"", "/", fb},
		{"customers", "/", fb},
		{"//evil.example", "/", fb},
		{"///evil.example", "/", fb},
		{"/\t/evil.example", "/", fb},
		{"\t//evil.example", "/", fb},
		{"/\n/evil.example", "/", fb},
		{"/\r/evil.example", "/", fb},
		{"/\r\n/evil.example", "/", fb},
		{`/\evil.example`, "/", fb},
		{`\\evil.example`, "/", fb},
		{`\/evil.example`, "/", fb},
		{`/\/evil.example`, "/", fb},
		{"https://evil.example", "/", fb},
		{"https:evil.example", "/", fb},
		{"https:/evil.example", "/", fb},
		{"javascript:alert(1)", "/", fb},
		{"HTTP://evil.example", "/", fb},
		{" //evil.example", "/", fb},
		{"/ /evil.example", "/", fb},
		{"\x00//evil.example", "/", fb},
		{"/\x00/evil.example", "/", fb},
		{"/\x0b/evil.example", "/", fb},
		{"/\x7f/evil.example", "/", fb},
		{"/%2F/evil.example", "/", fb},
		{"/%2f%2fevil.example", "/", fb},
		{"/%09/evil.example", "/", fb},
		{"/%5Cevil.example", "/", fb},
		{"/%0d%0a/evil.example", "/", fb},
		{"/x\r\nSet-Cookie: a=b", "/", fb},
		// What a browser drops is dropped from the answer too.
		{"/custo\tmers/1", "/", "/customers/1"},
		{`/customers\1`, "/", "/customers/1"},
		// A prefix bounds the answer, dot segments resolved as browsers do.
		{"/portal/transactions?page=2", "/portal/", "/portal/transactions?page=2"},
		{"/portal/", "/portal/", "/portal/"},
		{"/portal", "/portal/", "/portal"},
		{"/portalx", "/portal/", fb},
		{"/customers", "/portal/", fb},
		{"/portal/../customers", "/portal/", fb},
		{"/portal/%2e%2e/customers", "/portal/", fb},
		{"/portal/%2E%2E/customers", "/portal/", fb},
		{"/portal/.%2e/customers", "/portal/", fb},
		{`/portal\..\customers`, "/portal/", fb},
		{"/portal//evil.example", "/portal/", "/portal//evil.example"},
	} {
		if got := LocalRedirect(c.in, fb, c.within); got != c.want {
			t.Errorf("LocalRedirect(%q, within %q) = %q, want %q", c.in, c.within, got, c.want)
		}
	}
}

func FuzzLocalRedirect(f *testing.F) {
	for _, s := range []string{"/a", "//a", "/\t/a", `/\a`, "https://a", "/%2F/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := LocalRedirect(s, "/home", "/")
		if got == "/home" {
			return
		}
		if len(got) == 0 || got[0] != '/' || (len(got) > 1 && (got[1] == '/' || got[1] == '\\')) {
			t.Fatalf("LocalRedirect(%q) = %q leaves the site", s, got)
		}
		for _, r := range got {
			if r == '\t' || r == '\n' || r == '\r' || r == '\\' {
				t.Fatalf("LocalRedirect(%q) = %q keeps %q", s, got, r)
			}
		}
	})
}
