// Package browsertest starts the headless Chromium that the browser tests
// drive — Debian's chromium, which .ci/run installs — and keeps their
// screenshots. Only tests import it.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian installs Chromium.
const ChromiumPath = "/usr/bin/chromium"

// Need skips the test when the file at path, from the Debian package pkg,
// is missing — or fails it under CI=true, where nothing may be skipped.
func Need(t testing.TB, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing: apt-get install -y %s", path, pkg)
		}
		t.Skipf("%s missing: browser test skipped", path)
	}
}

// NeedChromium is Need for Chromium.
func NeedChromium(t testing.TB) { t.Helper(); Need(t, ChromiumPath, "chromium") }

// Start starts a headless Chromium with a profile of its own and returns
// the context chromedp runs in; it ends after timeout, and the browser
// with the test.
func Start(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() {
		cancel()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

// Shots keeps a full-page screenshot of each step when CUSTOS_SCREENSHOTS
// names a directory, as <prefix><test>-<step>-<name>.png.
type Shots struct {
	t      testing.TB
	dir    string
	prefix string
	step   int
}

// NewShots returns the screenshots of a test.
func NewShots(t testing.TB, prefix string) *Shots {
	return &Shots{t: t, dir: os.Getenv("CUSTOS_SCREENSHOTS"), prefix: prefix}
}

// Take keeps a screenshot of the page in ctx.
func (s *Shots) Take(ctx context.Context, name string) {
	if s.dir == "" {
		return
	}
	s.step++
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot: %v", err)
	}
	base := s.t.Name()[strings.LastIndex(s.t.Name(), "/")+1:]
	if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%s%s-%02d-%s.png", s.prefix, base, s.step, name)), png, 0o644); err != nil {
		s.t.Fatalf("screenshot: %v", err)
	}
}
