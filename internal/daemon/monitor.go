package daemon

import (
	"context"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/data/monitor"
)

// monitorEvery is how often the leader's in-region monitor observes a mirror set.
const monitorEvery = time.Second

// monitorWhileLeading runs the in-region failover monitor of every mirror set while
// this daemon leads: a dead primary is replaced by its synchronous member (RPO 0)
// without a runbook. It stands aside while a runbook of an application using the set
// runs — the runbook fences, promotes and rejoins on its own, and two deciders would
// race — and it never promotes around a primary fenced on purpose (monitor.Decide).
// Its promotions and fences carry the leadership's token, which the members check.
func (d *Daemon) monitorWhileLeading(ctx context.Context, tok coord.Token) {
	for name, drv := range d.drivers {
		cfg := monitor.Config{FailAfter: 3, FencingToken: tok.Rev}
		for _, ms := range d.opts.Fleet.MirrorSets {
			if ms.Name == name && ms.Spec.Replication != nil && ms.Spec.Replication.MaxLagOnFailover != nil {
				cfg.MaxLag = *ms.Spec.Replication.MaxLagOnFailover
			}
		}
		m := &monitor.Monitor{Driver: drv, Config: cfg, Logger: d.log.With("component", "data-monitor", "set", name),
			Hold: func() (func(), bool) {
				d.runbookData.Lock()
				if d.setPaused(name) {
					d.runbookData.Unlock()
					return nil, false
				}
				return d.runbookData.Unlock, true
			}}
		go func() {
			t := time.NewTicker(monitorEvery)
			defer t.Stop()
			for {
				d.monitorStep(ctx, name, m)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
}

// monitorStep observes once unless a runbook holds the set. The observation runs
// free; its actions hold runbookData (Monitor.Hold), so that a runbook that starts
// waits only for actions in flight, never for an observation.
func (d *Daemon) monitorStep(ctx context.Context, set string, m *monitor.Monitor) {
	if d.setPaused(set) {
		return
	}
	m.Step(ctx, m.Logger)
}

// setPaused says whether a runbook runs for an application using set.
func (d *Daemon) setPaused(set string) bool {
	d.repl.mu.Lock()
	defer d.repl.mu.Unlock()
	for _, a := range d.opts.Fleet.Applications {
		if a.Spec.Data != nil && a.Spec.Data.MirrorSet == set && d.repl.paused[a.Name] > 0 {
			return true
		}
	}
	return false
}
