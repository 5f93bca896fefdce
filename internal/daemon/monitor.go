package daemon

import (
	"context"
	"log/slog"
	"time"

	"hadron.dev/hadron/internal/data/monitor"
	"hadron.dev/hadron/internal/fleet"
)

// monitorEvery is how often the leader's in-region monitor observes a mirror set.
const monitorEvery = time.Second

// dataMonitors is the leader loop that runs the in-region failover monitor of every mirror set while
// this daemon leads: a dead primary is replaced by its synchronous member (RPO 0)
// without a runbook. It stands aside while a runbook of an application using the set
// runs — the runbook fences, promotes and rejoins on its own, and two deciders would
// race — and it never promotes around a primary fenced on purpose (monitor.Decide).
// Its promotions and fences carry the leadership's token, which the members check.
type dataMonitors struct {
	fleet *fleet.Fleet
	data  *dataView
	repl  *replication
	log   *slog.Logger
}

func (dm *dataMonitors) lead(ctx context.Context, t *term) {
	tok := t.tok
	for name, drv := range dm.data.drivers {
		cfg := monitor.Config{FailAfter: 3, FencingToken: tok.Rev}
		for _, ms := range dm.fleet.MirrorSets {
			if r := ms.Spec.Replication; ms.Name == name && r != nil {
				if r.MaxLagOnFailover != nil {
					cfg.MaxLag = *r.MaxLagOnFailover
				}
				// A member in a pod comes back streaming by its start step's rewind,
				// without the driver's rejoin: the monitor makes it synchronous again.
				cfg.Synchronous = r.Synchronous != nil && *r.Synchronous
			}
		}
		m := &monitor.Monitor{Driver: drv, Config: cfg, Logger: dm.log.With("component", "data-monitor", "set", name),
			Hold: func() (func(), bool) {
				dm.data.actions.Lock()
				if dm.repl.setPaused(name) {
					dm.data.actions.Unlock()
					return nil, false
				}
				return dm.data.actions.Unlock, true
			}}
		if st := dm.data.healthySeen(name); st != nil {
			// Leadership can move while the primary is down (a better-placed daemon
			// takes over): start from what this daemon saw last, not from nothing.
			m.Initial, _ = monitor.Decide(monitor.Memory{}, st, cfg)
		}
		go func() {
			t := time.NewTicker(monitorEvery)
			defer t.Stop()
			for {
				dm.monitorStep(ctx, name, m)
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
func (dm *dataMonitors) monitorStep(ctx context.Context, set string, m *monitor.Monitor) {
	if dm.repl.setPaused(set) {
		return
	}
	m.Step(ctx, m.Logger)
}
