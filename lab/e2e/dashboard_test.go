package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hadron.dev/hadron/internal/testenv"
	"hadron.dev/hadron/internal/testenv/chromium"
)

// dashboardConfig is the dashboard test's lab: regions 21, 22 and 23, apart from every
// other test's.
var dashboardConfig = labYAML(21, "35ms")

// TestDashboardInChromiumAgainstTheLab opens the dashboard in headless Chromium at the
// witness's daemon of a real lab (the page must outlive the region that is lost) and
// follows a region-loss drill on it: without a token there is no page; with a read
// token the page draws the failover's timeline as its steps end, turns east red in
// the health matrix, and shows the daemon's refusal of the read token's Abort, which
// the API gives as 403 to a plain request too.
func TestDashboardInChromiumAgainstTheLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	testenv.LookPath(t, "chromium", "chromium-browser", "google-chrome") // before the lab starts: skip or fail at once
	cp := startControlPlaneLab(t, dashboardConfig)
	f := labFleet(t, cp.h.fleet)
	witness := f.Site("witness")
	if witness == nil || witness.Spec.Daemon == nil {
		t.Fatalf("the lab's fleet has no witness daemon: %s", cp.h.fleet)
	}
	base := "https://" + witness.Spec.Daemon.API.Address
	viewer, _, err := cp.h.daemons(30*time.Second, "token", "create", "dash-viewer", "--role", "read")
	if err != nil {
		t.Fatalf("creating a read token: %v", err)
	}
	viewer = strings.TrimSpace(viewer)

	ctx := chromium.Start(t, 1280, 800)

	// No token: the login, and the view refused.
	bdo(t, ctx, time.Minute, "the page without a token",
		chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.ID("token")))
	loc := bget(t, ctx, "location", chromedp.Location())
	code := bget(t, ctx, "the view without a token",
		chromedp.Evaluate[string](`fetch('/ui/view').then(r => String(r.status))`, chromedp.EvalAwaitPromise))
	if !strings.HasSuffix(loc, "/ui/login") || code != "401" {
		t.Fatalf("without a token: at %s, the view %s; want the login and 401", loc, code)
	}

	// A read token: the page, with east up and active.
	bdo(t, ctx, time.Minute, "login with the read token",
		chromedp.SendKeys(chromedp.ID("token"), viewer), chromedp.Submit(chromedp.ID("token")))
	bdo(t, ctx, 2*time.Minute, "east up on the map and in the matrix",
		chromedp.WaitVisible(chromedp.CSS(`[data-site="east"][data-health="up"]`)),
		chromedp.WaitVisible(chromedp.CSS(`td[data-verdict-site="east"].v-up`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-site="witness"][data-health="witness"]`)))

	// The leader's readiness check of the stand-by and its object parity, per
	// application, with their screen-reader labels. The leader checks every 30 s; the
	// replicator copies shop's objects to west within the first seconds, so a check
	// finds west in parity soon (an earlier one may have found them missing).
	bdo(t, ctx, 2*time.Minute, "shop's readiness and west in parity on the page",
		chromedp.WaitVisible(chromedp.CSS(`[data-readiness="shop"] ul[aria-label="readiness findings for shop"] li[data-level]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul[aria-label="object parity for shop"] li[data-parity-site="west"][data-level="ok"]`)))
	ready := bget(t, ctx, "the readiness section", chromedp.Text(chromedp.CSS(`[data-readiness="shop"]`)))
	t.Logf("the page's readiness of shop:\n%s", ready)
	labShot(t, ctx, "lab-overview")
	if !strings.Contains(ready, "against east") || !strings.Contains(ready, "in-sync") {
		t.Errorf("shop's readiness on the page: %q, want a check against east with objects in sync", ready)
	}

	// The page's own record of every state an open run's article goes through: what a
	// person watching would have seen, kept in the page (a MutationObserver) because
	// the states can follow each other faster than a test's round trips.
	bdo(t, ctx, 30*time.Second, "watching the runs", chromedp.Evaluate[chromedp.Void](runRecorder))

	// The drill: east is lost, the daemons fail shop over to west on their own; east
	// is restored and shop moves home under load (a failback: a planned move, with more
	// steps than the failover's 1.5 s, for the page to follow).
	type drillResult struct {
		rep      drillReport
		progress string
		err      error
	}
	drilled := make(chan drillResult, 1)
	go func() {
		rep, progress, err := cp.h.drill(8*time.Minute, demoApp, "--fault", "hadron lab fail site east",
			"--repair", "hadron lab restore site east", "--failback")
		drilled <- drillResult{rep, progress, err}
	}()

	// The read token's Abort, pressed as soon as the failover's run is on the page: the
	// dialog asks for a reason, the daemon refuses, the page says so.
	runKey := bget(t, ctx, "the failover's run on the page", chromedp.Evaluate[string](pressAbortWhenShown, chromedp.EvalAwaitPromise))
	bdo(t, ctx, 30*time.Second, "the abort's reason",
		chromedp.WaitVisible(chromedp.ID("decide-reason")),
		chromedp.SendKeys(chromedp.ID("decide-reason"), "a viewer tries"),
		chromedp.Click(chromedp.ID("decide-ok")),
		chromedp.WaitVisible(chromedp.CSS("#decide-error:not(:empty)")))
	refusal := bget(t, ctx, "the refusal", chromedp.Text(chromedp.ID("decide-error")))
	if !strings.Contains(refusal, "403") || !strings.Contains(refusal, "needs role operate") {
		t.Errorf("the read token's Abort on the page: %q, want the daemon's 403 naming operate", refusal)
	}
	bdo(t, ctx, 30*time.Second, "closing the dialog", chromedp.Click(chromedp.ID("decide-cancel")))

	// East is down: red in the matrix and on the map (the failover's run starts once
	// the quorum has found it down, and the repair waits for the run's end).
	bdo(t, ctx, 3*time.Minute, "east red in the matrix and on the map",
		chromedp.WaitVisible(chromedp.CSS(`td[data-verdict-site="east"].v-down`)),
		chromedp.WaitVisible(chromedp.CSS(`td[data-site="east"].cell-failed`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-site="east"][data-health="down"]`)))
	labShot(t, ctx, "lab-east-down")

	var res drillResult
	select {
	case res = <-drilled:
	case <-time.After(9 * time.Minute):
		t.Fatal("the drill did not end")
	}
	if res.err != nil {
		t.Fatalf("region-loss drill: %v\n%s", res.err, res.progress)
	}
	run := res.rep.Drill.Run
	if run == nil || run.Kind != "failover" || run.To != "west" || run.Status != "done" {
		t.Fatalf("the drill's run %v: want a failover to west, done\n%s", run, res.progress)
	}
	t.Logf("%s", res.rep.Drill.figures())
	if runKey != demoApp+"/"+run.ID {
		t.Errorf("the page's first open run was %s, the drill's failover %s/%s", runKey, demoApp, run.ID)
	}
	// The aborted-by-a-viewer attempt reached nothing: the run went on to its end.
	if run.Status != "done" {
		t.Errorf("the failover after the refused abort: %s", run.Status)
	}

	fb := res.rep.Failback
	if fb == nil || fb.Run == nil || fb.Run.Kind != "failback" || fb.Run.To != "east" || fb.Run.Status != "done" {
		t.Fatalf("the drill's failback %+v: want a failback to east, done\n%s", fb, res.progress)
	}
	t.Logf("%s", fb.figures())
	backKey := demoApp + "/" + fb.Run.ID

	// The timelines advanced on the page step by step: the page drew an open run of
	// the drill in at least two different states (steps done, status). Both runs are
	// short (the failover about 1.5 s, the failback a few seconds) against a view
	// every 0.3-1 s, so the page is asked to have followed either of them.
	bdo(t, ctx, 2*time.Minute, "both runs closed into the ledger",
		chromedp.WaitNotPresent(chromedp.CSS(`[data-run]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ledgerlist a[href="/ui/runs/`+runKey+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ledgerlist a[href="/ui/runs/`+backKey+`"]`)))
	seen := bget(t, ctx, "the run states the page drew", chromedp.Evaluate[[]string](`window.hadronRunStates || []`))
	t.Logf("the page drew the drill's runs as: %s", strings.Join(seen, " | "))
	if a, b := statesOf(seen, runKey), statesOf(seen, backKey); len(a) < 2 && len(b) < 2 {
		t.Errorf("the page drew the failover in %v and the failback in %v: want one of them advancing through at least two states", a, b)
	}

	// The API itself refuses the read token's abort, whatever the page does.
	for _, path := range []string{"/ui/runs/" + runKey + "/abort", "/v1/runbooks/" + runKey + "/abort"} {
		status, body := postAs(t, cp.h.pki, base+path, viewer)
		if status != http.StatusForbidden || !strings.Contains(body, "needs role operate") {
			t.Errorf("POST %s with the read token: %d %q, want 403 naming operate", path, status, body)
		}
	}
}

// statesOf are the different states the page drew the run key in, in order.
func statesOf(seen []string, key string) []string {
	var out []string
	for _, s := range seen {
		k, state, _ := strings.Cut(s, " ")
		if k == key && !slices.Contains(out, state) {
			out = append(out, state)
		}
	}
	return out
}

// runRecorder keeps, in window.hadronRunStates, each new "APP/ID done=N status" of the
// page's open-run articles as the page draws them.
const runRecorder = `(() => {
  window.hadronRunStates = [];
  const note = () => {
    for (const a of document.querySelectorAll('[data-run]')) {
      const s = a.dataset.run + ' done=' + a.dataset.done + ' ' + a.dataset.status;
      if (!window.hadronRunStates.includes(s)) window.hadronRunStates.push(s);
    }
  };
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-done', 'data-status']});
  note();
})()`

// pressAbortWhenShown waits in the page for an open run's Abort button, presses it as
// soon as it is drawn (a run of the lab lasts seconds) and returns the run's key.
const pressAbortWhenShown = `new Promise((resolve) => {
  const press = () => {
    const b = document.querySelector('[data-run] button[data-verb="abort"]');
    if (!b) return false;
    b.click();
    resolve(b.closest('[data-run]').dataset.run);
    return true;
  };
  if (press()) return;
  const o = new MutationObserver(() => { if (press()) o.disconnect(); });
  o.observe(document.body, {subtree: true, childList: true});
})`

// labShot saves a screenshot of the whole page to $HADRON_SCREENSHOTS/name.png when
// asked (make screenshots); runs without the variable take none.
func labShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HADRON_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := bget(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// bdo runs actions in the browser within d, failing t with what the page says.
func bdo(t *testing.T, parent context.Context, d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(parent, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\npage:\n%s", what, err, labPageText(parent))
	}
}

// bget runs one action that returns a value, within 5 minutes (the abort waits for
// the drill's fault to be detected).
func bget[T any](t *testing.T, parent context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(parent, 5*time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v\npage:\n%s", what, err, labPageText(parent))
	}
	return v
}

func labPageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return err.Error()
	}
	return s
}

// postAs POSTs an empty decision to url with secret as the bearer token, over the
// lab's CA.
func postAs(t *testing.T, pki, url, secret string) (int, string) {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		t.Fatalf("the lab's CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("no certificate in %s", filepath.Join(pki, "ca.crt"))
	}
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"reason":"a viewer tries"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
