// Package drill proves a failover: it writes through the application's main name as a
// client would, injects a fault (or asks for a planned move), waits for the runbook
// the daemons run, and reports what it measured — system RTO, client RTO, the writes
// lost by sequence number and the loss the data driver measured — and then, when
// asked, fails back home under the same load and measures that too.
package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/load"
	"hadron.dev/hadron/internal/runbook"
)

// API is what a drill asks the daemons (any of them; the CLI's client tries each).
type API interface {
	StartRun(ctx context.Context, req api.RunRequest) (*runbook.Record, error)
	History(ctx context.Context, app string) ([]runbook.Record, error)
	Status(ctx context.Context) (api.Status, error)
}

// Triggers: how the drill's run starts.
const (
	// TriggerAuto waits for the daemons' automatic failover after the fault.
	TriggerAuto = "auto"
	// TriggerFailover asks for a forced failover right after the fault (a person's
	// decision, for applications without automatic failover).
	TriggerFailover = "failover"
	// TriggerSwitchover injects no fault and asks for a planned switchover.
	TriggerSwitchover = "switchover"
)

// ErrDrill is a drill that could not measure what it set out to.
var ErrDrill = errors.New("drill failed")

// loadWorkers is the drill client's concurrent writers: at most this many writes are
// in flight when a fault strikes.
const loadWorkers = 8

// Config is one drill.
type Config struct {
	App string
	// URL is the application's main name as a client uses it (http://name:port).
	URL      string
	Resolver *Resolver
	Rate     float64
	// Fault and Repair are shell commands (e.g. `hadron lab fail site east`); Repair
	// runs after the failover is measured, before a failback.
	Fault, Repair string
	Trigger       string
	// From is the active site now; To the site to move to.
	From, To string
	// Failback moves the application home afterwards, under load, and measures it.
	Failback bool
	// Warmup is how long writes run before the fault (default 3 s).
	Warmup time.Duration
	// Timeout bounds each wait: for the run to close, for the client to recover
	// (default 3 min).
	Timeout time.Duration
	API     API
	// Progress receives one line per event (nil: none).
	Progress io.Writer
	Log      *slog.Logger
}

// Run runs the drill and returns its report.
func Run(ctx context.Context, c Config) (*Report, error) {
	if c.Warmup <= 0 {
		c.Warmup = 3 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Minute
	}
	if c.Rate <= 0 {
		c.Rate = 50
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Trigger == "" {
		c.Trigger = TriggerAuto
	}
	rep := &Report{App: c.App, Fault: c.Fault, Trigger: c.Trigger, Rate: c.Rate, Workers: loadWorkers}
	kind := runbook.Failover
	start := func(ctx context.Context) (time.Time, *runbook.Record, error) {
		if c.Trigger == TriggerSwitchover {
			return c.request(ctx, runbook.Switchover, c.To)
		}
		at := time.Now()
		c.say("fault: %s", c.Fault)
		if err := shell(ctx, c.Fault); err != nil {
			return at, nil, fmt.Errorf("%w: fault %q: %w", ErrDrill, c.Fault, err)
		}
		if c.Trigger == TriggerFailover {
			_, rec, err := c.request(ctx, runbook.Failover, c.To)
			return at, rec, err
		}
		return at, nil, nil
	}
	if c.Trigger == TriggerSwitchover {
		kind = runbook.Switchover
	}
	// A phase that did not get as far as its fault (or its request) measured
	// nothing: the report then holds the error and no figure.
	failed := func(err error) (*Report, error) {
		rep.Error = err.Error()
		return rep, err
	}
	if err := c.ready(ctx); err != nil {
		return failed(err)
	}
	p, err := c.phase(ctx, kind, start)
	rep.Drill = p
	if err != nil {
		return failed(err)
	}
	if c.Repair != "" {
		c.say("repair: %s", c.Repair)
		if err := shell(ctx, c.Repair); err != nil {
			return failed(fmt.Errorf("%w: repair %q: %w", ErrDrill, c.Repair, err))
		}
		c.awaitCount(ctx, rep.Drill)
	}
	if !c.Failback {
		return rep, nil
	}
	fb, err := c.phase(ctx, runbook.Failback, func(ctx context.Context) (time.Time, *runbook.Record, error) {
		return c.request(ctx, runbook.Failback, c.From)
	})
	rep.Failback = fb
	if err != nil {
		return failed(err)
	}
	return rep, nil
}

// phase runs load, starts the run (begin), waits for it to close and for the client
// to get through to the new site, then reads the client's writes back. It returns no
// phase when it failed before its start (begin) took effect: nothing was measured.
func (c *Config) phase(ctx context.Context, kind runbook.Kind, begin func(context.Context) (time.Time, *runbook.Record, error)) (*Phase, error) {
	hc := c.Resolver.HTTPClient(2 * time.Second)
	var mu sync.Mutex
	var lastAck load.Attempt
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	type result struct {
		res *load.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := load.Run(lctx, load.Config{URL: c.URL, Rate: c.Rate, Duration: load.MaxDuration, HTTPClient: hc,
			Workers: loadWorkers, Timeout: 2 * time.Second, Log: c.Log, OnAttempt: func(a load.Attempt) {
				if a.OK {
					mu.Lock()
					if a.Sent.After(lastAck.Sent) {
						lastAck = a
					}
					mu.Unlock()
				}
			}})
		done <- result{res, err}
	}()
	acked := func() load.Attempt {
		mu.Lock()
		defer mu.Unlock()
		return lastAck
	}
	finish := func() (*load.Result, error) {
		stopLoad()
		r := <-done
		return r.res, r.err
	}
	c.say("writing to %s at %.0f/s", c.URL, c.Rate)
	if !sleep(ctx, c.Warmup) || acked().Sent.IsZero() {
		_, lerr := finish()
		return nil, fmt.Errorf("%w: no write acknowledged through %s in %s (is the application serving?): %v", ErrDrill, c.URL, c.Warmup, lerr)
	}
	startAt, rec, err := begin(ctx)
	if err != nil {
		finish()
		return nil, err
	}
	run, err := c.waitClosed(ctx, kind, startAt, rec)
	if err != nil {
		res, _ := finish()
		p := Measure(kind, startAt, run, res, nil)
		return &p, err
	}
	c.say("%s closed: %s", kind, run.Status)
	// The client keeps its cached answer for up to the TTL; wait for its first write
	// acknowledged by the new site.
	deadline := time.Now().Add(c.Timeout)
	for acked().Sent.Before(*run.Verified) && time.Now().Before(deadline) && sleep(ctx, 100*time.Millisecond) {
	}
	sleep(ctx, time.Second)
	res, err := finish()
	if err != nil {
		return nil, fmt.Errorf("%w: load: %w", ErrDrill, err)
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ver, verr := load.Verify(vctx, hc, res)
	cancel()
	p := Measure(kind, startAt, run, res, ver)
	if verr != nil {
		return &p, fmt.Errorf("%w: reading the writes back: %w", ErrDrill, verr)
	}
	return &p, nil
}

// awaitCount waits a little for the daemons to count the failover's loss exactly once
// the old primary is back (its rewind counts what it discards), and takes the count.
func (c *Config) awaitCount(ctx context.Context, p *Phase) {
	if p.Run == nil || !runbook.NeedsCount(p.Run) {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && sleep(ctx, time.Second) {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		hist, err := c.API.History(hctx, c.App)
		cancel()
		if err != nil {
			continue
		}
		if r := pick(hist, p.Kind, p.Start, p.Run); r != nil && !runbook.NeedsCount(r) {
			p.Run = r
			p.RPOBytes, p.RPOTransactions = r.RPO.Bytes, r.RPO.Transactions
			c.say("loss counted on the returned old primary: %d transactions (%s)", r.RPO.Transactions, r.RPO.Method)
			return
		}
	}
	c.say("the loss was not counted within 30 s of the repair; the report keeps the lower bound")
}

// ready refuses to start a drill the daemons are not ready for: a run of the
// application still open (an automatic failover that began before the fault would
// be taken for the drill's, or the drill's would wait for one that never comes), or
// the application away from the site the drill moves it from.
func (c *Config) ready(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := c.API.Status(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("%w: status before the drill: %w", ErrDrill, err)
	}
	return readyIn(st, c.App, c.From)
}

// readyIn is ready's decision on one status.
func readyIn(st api.Status, app, from string) error {
	for _, a := range st.Apps {
		if a.Name != app {
			continue
		}
		if a.Run != nil {
			return fmt.Errorf("%w: not ready: run %s (%s of %s) is %s at step %s; wait for it to close, or resume or abort it", ErrDrill, a.Run.ID, a.Run.Kind, app, a.Run.Status, a.Run.StepName)
		}
		if from != "" && a.Active != "" && a.Active != from {
			return fmt.Errorf("%w: not ready: %s is active at %s, not %s", ErrDrill, app, a.Active, from)
		}
	}
	return nil
}

// request asks the leader for a run and returns when it was asked.
func (c *Config) request(ctx context.Context, kind runbook.Kind, to string) (time.Time, *runbook.Record, error) {
	at := time.Now()
	req := api.RunRequest{App: c.App, Kind: kind, To: to, Who: "drill", Force: kind == runbook.Failover}
	deadline := time.Now().Add(c.Timeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rec, err := c.API.StartRun(rctx, req)
		cancel()
		if err == nil {
			c.say("%s of %s to %s requested: run %s", kind, c.App, to, rec.ID)
			return at, rec, nil
		}
		// A leader may be being elected, or the previous run closing.
		if time.Now().After(deadline) || !sleep(ctx, time.Second) {
			return at, nil, fmt.Errorf("%w: %s of %s: %w", ErrDrill, kind, c.App, err)
		}
	}
}

// waitClosed waits for the run to close in the ledger: rec's, or the first run of
// kind decided at or after since (the daemons' automatic failover). A run that stops
// in failed ends the wait with its error.
func (c *Config) waitClosed(ctx context.Context, kind runbook.Kind, since time.Time, rec *runbook.Record) (*runbook.Record, error) {
	deadline := time.Now().Add(c.Timeout)
	said := ""
	for {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		hist, err := c.API.History(hctx, c.App)
		cancel()
		if err == nil {
			if r := pick(hist, kind, since, rec); r != nil {
				if r.Status != runbook.StatusDone || r.Verified == nil {
					return r, fmt.Errorf("%w: run %s closed %s: %s", ErrDrill, r.ID, r.Status, r.Error)
				}
				return r, nil
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, serr := c.API.Status(sctx)
		cancel()
		if serr == nil {
			for _, a := range st.Apps {
				if a.Name != c.App || a.Run == nil {
					continue
				}
				if line := fmt.Sprintf("run %s: step %d/%d %s (%s)", a.Run.ID, a.Run.Step, a.Run.Steps, a.Run.StepName, a.Run.Status); line != said {
					c.say("%s", line)
					said = line
				}
				if a.Run.Status == string(runbook.StatusFailed) {
					return nil, fmt.Errorf("%w: run %s failed at %s: %s", ErrDrill, a.Run.ID, a.Run.StepName, a.Run.Error)
				}
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: no %s of %s closed within %s of the start", ErrDrill, kind, c.App, c.Timeout)
		}
		if !sleep(ctx, 250*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
}

// pick finds the drill's run in the ledger.
func pick(hist []runbook.Record, kind runbook.Kind, since time.Time, rec *runbook.Record) *runbook.Record {
	for i := range hist {
		r := &hist[i]
		if rec != nil && r.ID == rec.ID {
			return r
		}
		if rec == nil && r.Kind == kind && !r.Decided.Before(since) {
			return r
		}
	}
	return nil
}

func (c *Config) say(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

func shell(ctx context.Context, command string) error {
	if command == "" {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(cctx, "sh", "-c", command).CombinedOutput()
	if msg := strings.TrimSpace(string(out)); err != nil && msg != "" {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
