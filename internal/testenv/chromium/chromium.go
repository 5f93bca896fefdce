// Package chromium starts the headless Chromium (Debian's package) that the dashboard's
// browser tests drive with chromedp, in the daemons' tests and in the lab's alike.
package chromium

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"hadron.dev/hadron/internal/testenv"
)

// Start runs a headless Chromium with its own profile and a w×h window and returns the
// context its actions run in; it stops with t. The daemons' certificates come from a
// test's own CA, which Chromium's store does not hold; the page is still a secure
// context (https), so the dashboard's Secure cookie behaves as in production.
func Start(t testing.TB, w, h int) context.Context {
	t.Helper()
	exe := testenv.LookPath(t, "chromium", "chromium-browser", "google-chrome")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(w, h), chromedp.UserDataDir(t.TempDir()), chromedp.IgnoreCertErrors)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}
