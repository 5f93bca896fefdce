package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/testenv/chromium"
)

// browserNet is this file's loopback network (127.0.189.x) for daemontest.
const browserNet = 189

// do runs actions within d, failing t with what was being done.
func do(t *testing.T, parent context.Context, d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(parent, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\npage:\n%s", what, err, pageText(parent))
	}
}

// pageText is where the page is and what it says, for a failure's message.
func pageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return err.Error()
	}
	return s
}

// get runs one action that returns a value within d.
func get[T any](t *testing.T, ctx context.Context, d time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// shot saves a screenshot of the whole page to $HADRON_SCREENSHOTS/name.png when
// asked (make screenshots); tests without the variable take none.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HADRON_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := get(t, ctx, 30*time.Second, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// phoneBrowser is a Chromium that presents itself as a phone 390 × 844 CSS pixels wide
// (a mobile viewport: the page's viewport meta applies, as on a phone). It draws at
// one device pixel per CSS pixel, and at two only for screenshots: the test runs
// beside three daemons on a loaded machine, where drawing costs their leases.
func phoneBrowser(t *testing.T) context.Context {
	t.Helper()
	ctx := chromium.Start(t, 390, 844)
	scale := 1.0
	if os.Getenv("HADRON_SCREENSHOTS") != "" {
		scale = 2
	}
	do(t, ctx, 30*time.Second, "a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(scale)))
	return ctx
}

// fitsPhone checks that the page as it is now needs no sideways scrolling on the
// phone (wide tables and pictures scroll inside their own boxes) and that its main
// sections are there.
func fitsPhone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	got := get(t, ctx, 10*time.Second, "the page's width on the phone", chromedp.Evaluate[[]int](
		`[document.documentElement.scrollWidth, window.innerWidth, document.documentElement.clientWidth]`))
	if len(got) != 3 || got[1] != 390 || got[0] > got[1] || got[2] > got[1] {
		t.Errorf("%s on a 390 px phone: scroll width, inner width, client width %v; want no overflow of 390", what, got)
	}
	for _, id := range []string{"map", "runs", "health", "apps", "data", "coord", "ledger"} {
		h := get(t, ctx, 10*time.Second, "section "+id, chromedp.Evaluate[int](
			`(() => { const s = document.getElementById('`+id+`'); return s ? Math.round(s.getBoundingClientRect().width) : -1 })()`))
		if h <= 0 || h > 390 {
			t.Errorf("%s on a 390 px phone: section #%s is %d px wide; want it there and within the screen", what, id, h)
		}
	}
}

func login(t *testing.T, ctx context.Context, base, secret string) {
	t.Helper()
	do(t, ctx, 30*time.Second, "login",
		chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), secret),
		chromedp.Submit(chromedp.ID("token")),
	)
}

// ledgerRun is a run written in etcd under the leader's token the way the leader's
// engine writes it, one step at a time, so that the test decides when each step
// starts and ends and waits for the page to show it: a run the daemons execute takes a
// few milliseconds per step here, faster than a person (or a test) could watch.
type ledgerRun struct {
	t   *testing.T
	w   *daemontest.World
	tok coord.Token
	rec *runbook.Record
}

func launchRun(t *testing.T, w *daemontest.World) *ledgerRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok, err := coord.Leader(ctx, w.Daemons["witness"].Client())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := runbook.Launch(ctx, w.Daemons["witness"].Client(), tok, runbook.Switchover, daemontest.App, "east", "west", "alice", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &ledgerRun{t: t, w: w, tok: tok, rec: rec}
}

// step changes the run with f and saves it.
func (l *ledgerRun) step(f func(r *runbook.Record)) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f(l.rec)
	if err := runbook.Save(ctx, l.w.Daemons["witness"].Client(), l.tok, l.rec); err != nil {
		l.t.Fatal(err)
	}
}

// The dashboard in a real browser against three real daemons: no page without a
// token; with a read token the sites, the matrix and the runs; a read token's Abort is
// refused by the daemon and an operate token's is carried out; an open run's timeline
// advances on the page step by step as the run's record does in etcd; a failed site
// turns red in the matrix and on the map, the automatic failover runs and lands in the
// ledger with its report.
func TestDashboardInChromium(t *testing.T) {
	// Both browsers start before the daemons: starting Chromium is the test's most
	// costly moment, and the daemons' leases are what a loaded machine takes it from.
	ctx := chromium.Start(t, 1280, 800)
	phone := phoneBrowser(t)
	w := daemontest.Start(t, browserNet, daemontest.Options{Edit: func(f *fleet.Fleet, _ string) {
		f.Applications[0].Spec.Policy.AutomaticFailover = &v1alpha1.AutomaticFailover{Enabled: true,
			Threshold: &metav1.Duration{Duration: 500 * time.Millisecond}}
	}})
	leader, _ := w.WaitLeader(t, "east", "west", "witness")
	coordtest.Eventually(t, 30*time.Second, "both sites up by quorum", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	base := "https://" + w.Daemons[leader].APIAddr()
	viewer := w.ClientAs(t, leader, "viewer", apitoken.Read).Token
	ops := w.ClientAs(t, leader, "ops", apitoken.Operate).Token

	// No token: the page is the login, and the view is refused.
	do(t, ctx, 30*time.Second, "the page without a token",
		chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible(chromedp.ID("token")))
	loc := get(t, ctx, 10*time.Second, "location", chromedp.Location())
	body := get(t, ctx, 10*time.Second, "the view without a token",
		chromedp.Evaluate[string](`fetch('/ui/view').then(r => String(r.status))`, chromedp.EvalAwaitPromise))
	if !strings.HasSuffix(loc, "/ui/login") || body != "401" {
		t.Fatalf("without a token: at %s, view %s; want the login and 401", loc, body)
	}
	shot(t, ctx, "login")
	login(t, ctx, base, "not-a-token")
	do(t, ctx, 30*time.Second, "a wrong token is denied", chromedp.WaitVisible(chromedp.ID("denied")))

	// A read token: the map and the matrix, live.
	login(t, ctx, base, viewer)
	do(t, ctx, 60*time.Second, "the map with both sites up",
		chromedp.WaitVisible(chromedp.CSS(`[data-site="east"][data-health="up"]`)),
		chromedp.WaitVisible(chromedp.CSS(`td[data-verdict-site="west"].v-up`)),
	)
	shot(t, ctx, "overview")
	// The same page on a phone (a second browser, kept to the end, signed in: it
	// looks at the run and the failover too). Between looks it rests on a blank page,
	// so that it holds no event stream and draws nothing while the daemons work.
	login(t, phone, base, viewer)
	do(t, phone, 60*time.Second, "the page on a phone", chromedp.WaitVisible(chromedp.CSS(`[data-site="east"][data-health="up"]`)))
	fitsPhone(t, phone, "the overview")
	rest := func() { do(t, phone, 30*time.Second, "the phone resting", chromedp.Navigate("about:blank")) }
	rest()

	// A run advancing: the page draws each step as it starts and ends.
	run := launchRun(t, w)
	sel := `[data-run="` + daemontest.App + `/` + run.rec.ID + `"]`
	for i := range 2 {
		run.step(func(r *runbook.Record) { runbook.Begin(r, i, run.tok.Rev, time.Now()) })
		do(t, ctx, 30*time.Second, fmt.Sprintf("step %d running", i+1),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`%s[data-done="%d"][data-status="running"]`, sel, i))))
		if i == 0 {
			shot(t, ctx, "run-live")
			do(t, phone, 30*time.Second, "the run on the phone", chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS(sel)))
			fitsPhone(t, phone, "an open run")
			shot(t, phone, "phone-run")
			rest()
		}
		run.step(func(r *runbook.Record) {
			runbook.End(r, i, run.tok.Rev, time.Now(), "step "+r.Steps[i].Name+" done", false)
		})
		do(t, ctx, 30*time.Second, fmt.Sprintf("step %d done", i+1),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`%s[data-done="%d"]`, sel, i+1))))
	}
	// Its third step fails: the run waits for a person.
	run.step(func(r *runbook.Record) {
		runbook.Begin(r, 2, run.tok.Rev, time.Now())
		runbook.Fail(r, 2, errors.New("budget ran out"))
	})
	do(t, ctx, 30*time.Second, "the run failed", chromedp.WaitVisible(chromedp.CSS(sel+`[data-status="failed"]`)))
	failed := run.rec

	// A read token's Abort is refused by the daemon, and the run stays.
	abort := func(ctx context.Context, who, reason string) {
		do(t, ctx, 60*time.Second, "abort as "+who,
			chromedp.WaitVisible(chromedp.CSS(sel+` button[data-verb="abort"]`)),
			chromedp.Focus(chromedp.CSS(sel+` button[data-verb="abort"]`)),
			chromedp.KeyEvent("\r"),
			chromedp.WaitVisible(chromedp.ID("decide-reason")),
			chromedp.SendKeys(chromedp.ID("decide-reason"), reason),
			chromedp.Focus(chromedp.ID("decide-ok")),
			chromedp.KeyEvent("\r"),
		)
	}
	abort(ctx, "viewer", "testing the refusal")
	do(t, ctx, 30*time.Second, "the refusal shown", chromedp.WaitVisible(chromedp.CSS("#decide-error:not(:empty)")))
	refusal := get(t, ctx, 10*time.Second, "the refusal", chromedp.Text(chromedp.ID("decide-error")))
	if !strings.Contains(refusal, "403") || !strings.Contains(refusal, "needs role operate") {
		t.Errorf("a read token's abort: %q, want the daemon's 403 naming operate", refusal)
	}
	shot(t, ctx, "failed-run")
	// Nothing of the refused abort reached the run. (Whether it is still open is not
	// the page's to say: a new leader sets a failed run going again when it can act
	// where the old one could not, as internal/daemon's tests show.)
	if rec, err := w.Client(t, leader).Run(context.Background(), daemontest.App, failed.ID); err != nil || rec.Aborted != nil {
		t.Fatalf("the run after a refused abort: %+v %v, want it not aborted", rec, err)
	}

	// An operate token (another browser) aborts it; the viewer's page sees it go.
	// A daemon that newly leads resumes the open runs (internal/daemon), this one
	// too: on a machine so loaded that the leadership moved meanwhile, the run may
	// have gone on to its end, and there is nothing left to abort.
	if st := w.Status(t, leader).Apps[0].Run; st != nil && st.ID == failed.ID && st.Status == string(runbook.StatusFailed) {
		opsCtx := chromium.Start(t, 1280, 800)
		login(t, opsCtx, base, ops)
		// Once the ops page has drawn its first view, is the run still there to abort?
		// A new leader may have resumed and closed it meanwhile (see above).
		do(t, opsCtx, 60*time.Second, "the ops page drawn", chromedp.WaitVisible(chromedp.CSS(`[data-site="east"]`)))
		if n := get(t, opsCtx, 10*time.Second, "the run on the ops page", chromedp.Evaluate[int](
			`document.querySelectorAll('`+sel+`[data-status="failed"]').length`)); n == 1 {
			abort(opsCtx, "ops", "drill over")
			do(t, opsCtx, 60*time.Second, "the run closed for ops", chromedp.WaitNotPresent(chromedp.CSS(sel)))
		} else {
			t.Logf("the failed run was resumed by a new leader before the ops page drew it (%d drawn failed; leader's status %+v): the operate token's abort not exercised this time\n%s",
				n, w.Status(t, leader).Apps[0].Run, pageText(opsCtx))
		}
	} else {
		t.Logf("the failed run was resumed by a new leader before the operate token's abort (%+v): not exercised this time", st)
	}
	do(t, ctx, 30*time.Second, "the viewer sees the run closed",
		chromedp.Focus(chromedp.ID("decide-cancel")),
		chromedp.KeyEvent("\r"),
		chromedp.WaitNotPresent(chromedp.CSS(sel)),
		chromedp.WaitVisible(chromedp.CSS(`#ledgerlist a[href="/ui/runs/`+daemontest.App+`/`+failed.ID+`"]`)),
	)

	// East fails: its cells and its verdict turn red, the automatic failover runs.
	w.LBs["east"].Stop()
	do(t, ctx, 60*time.Second, "east red in the matrix and on the map",
		chromedp.WaitVisible(chromedp.CSS(`td[data-verdict-site="east"].v-down`)),
		chromedp.WaitVisible(chromedp.CSS(`td[data-observer="witness"][data-site="east"].cell-failed`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-site="east"][data-health="down"]`)),
	)
	shot(t, ctx, "east-down")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("status at the leader: %+v", w.Status(t, leader).Apps[0])
		}
	})
	do(t, ctx, 2*time.Minute, "the failover in the ledger",
		chromedp.WaitVisible(chromedp.Search(`//table//td[text()="east → west"]/following-sibling::td[text()="done"]`)),
	)
	shot(t, ctx, "ledger")
	do(t, phone, time.Minute, "the failover in the phone's ledger", chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible(chromedp.Search(`//table//td[text()="east → west"]/following-sibling::td[text()="done"]`)))
	fitsPhone(t, phone, "the ledger and its chart")
	shot(t, phone, "phone")

	// The ledger's report of the failover: its timeline, no script.
	do(t, ctx, 90*time.Second, "the run's report",
		chromedp.Click(chromedp.Search(`//table//td[text()="east → west"]/preceding-sibling::td/a[starts-with(text(),"failover")]`)),
		chromedp.WaitVisible(chromedp.CSS("svg")),
	)
	report := get(t, ctx, 10*time.Second, "the report's HTML", chromedp.OuterHTML(chromedp.CSS("html")))
	if !strings.Contains(report, "DNS answers west") || strings.Contains(report, "<script") {
		t.Errorf("the run's report lacks its timeline or runs a script")
	}
	shot(t, ctx, "run-report")
}
