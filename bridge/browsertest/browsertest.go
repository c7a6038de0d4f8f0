// Package browsertest starts the real headless Chromium that the project's browser tests drive with chromedp.
// One browser per test binary; each test gets its own browser context (fresh cookies) in a new tab.
//
// A missing Chromium fails the test: scripts/test installs Debian's chromium. Set FUYUN_BRIDGE_SKIP_BROWSER=1
// to skip browser tests on a machine that cannot have one (docs/development.md says so); CI never sets it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// SkipEnv names the variable that lets browser tests skip where no Chromium can be installed.
const SkipEnv = "FUYUN_BRIDGE_SKIP_BROWSER"

// Browser is one running Chromium.
type Browser struct {
	ctx    context.Context
	cancel func()
	dir    string
}

// Start launches headless Chromium with flags measured to work headless on loopback-only machines. The caller
// closes it (usually in TestMain). extra adds flags, e.g. host-resolver-rules.
func Start(extra ...chromedp.ExecAllocatorOption) (*Browser, error) {
	path, err := Find()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fuyun-bridge-chromium-")
	if err != nil {
		return nil, err
	}
	// Our own option list, not chromedp's defaults: those add --disable-popup-blocking, which would hide
	// the popup-blocker behaviour the embedded login must handle.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	}
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// No timeout on the first Run's context: cancelling it would kill the browser.
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &Browser{ctx: ctx, cancel: func() { cancelCtx(); cancelAlloc() }, dir: dir}, nil
}

// Find returns the Chromium binary's path.
func Find() (string, error) {
	var firstErr error
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		p, err := exec.LookPath(name)
		if err == nil {
			return p, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", firstErr
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	_ = os.RemoveAll(b.dir)
}

// Tab opens a new tab in a fresh browser context (its own cookie jar), bounded by timeout, closed at the
// end of the test.
func (b *Browser) Tab(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

// Shared starts one browser for a whole test binary on first use. Call it from tests; call the returned
// stop function from TestMain after m.Run. Without Chromium the test fails, or skips when SkipEnv is set.
type Shared struct {
	once    sync.Once
	browser *Browser
	err     error
	extra   []chromedp.ExecAllocatorOption
}

// NewShared prepares a shared browser with extra flags; nothing starts until Get.
func NewShared(extra ...chromedp.ExecAllocatorOption) *Shared { return &Shared{extra: extra} }

// Get returns the running browser, starting it on first use.
func (s *Shared) Get(t testing.TB) *Browser {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: browser tests skipped", SkipEnv)
	}
	s.once.Do(func() { s.browser, s.err = Start(s.extra...) })
	if s.err != nil {
		t.Fatalf("headless Chromium is required for this test (run scripts/test, which installs Debian's chromium, or set %s=1): %v", SkipEnv, s.err)
	}
	return s.browser
}

// Close stops the browser if it was started.
func (s *Shared) Close() {
	if s.browser != nil {
		s.browser.Close()
	}
}
