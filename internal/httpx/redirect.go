package httpx

import (
	"net/url"
	"path"
	"strings"
)

// LocalRedirect returns target if, read the way a browser reads a
// Location header, it stays on this site below within (a path prefix such
// as "/" or "/portal/"); otherwise it returns fallback. Every redirect
// whose target comes from the client (next=, return to) goes through it.
//
// Browsers drop tabs, line feeds and carriage returns anywhere in a URL and
// read a backslash as a slash, so "/\t/evil.example" and "/\evil.example"
// both lead to evil.example. The target is first rewritten the same way,
// and only a path that then has no scheme, no host and does not start
// with two slashes is accepted. The rewritten form is what is returned, so
// the Location header says exactly what was checked.
func LocalRedirect(target, fallback, within string) string {
	s, ok := localPath(target)
	if !ok || !under(s, within) {
		return fallback
	}
	return s
}

func localPath(s string) (string, bool) {
	s = browserForm(s)
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ' ' {
			// Browsers strip leading controls and spaces too; a
			// path of ours has neither, so refuse rather than guess.
			return "", false
		}
	}
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	// Browsers do not decode the path before finding the host, so
	// "/%2F/evil" and "/%09/evil" stay on this site; but a proxy or
	// client that decodes once would leave it, and nothing of ours looks
	// like that: refuse them as well.
	if p := browserForm(u.Path); !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "", false
	}
	return s, true
}

// browserForm drops what browsers drop from a URL and reads a backslash
// as a slash.
func browserForm(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, s)
}

// under reports whether the path of a local target, with dot segments
// resolved as a browser resolves them (also when percent-encoded), lies
// below within.
func under(s, within string) bool {
	if within == "" || within == "/" {
		return true
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	p := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && p != "/" {
		p += "/"
	}
	return p == strings.TrimSuffix(within, "/") || strings.HasPrefix(p, strings.TrimSuffix(within, "/")+"/")
}
