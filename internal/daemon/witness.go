package daemon

import (
	"context"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
)

// A leader acts on the mirror sets and clusters of other sites across the links, one
// round trip per statement; at a witness every action crosses a region (a promotion
// from the witness took 2.7 s in the lab, 0.2 s from the stand-by's own region). So a
// witness leads only when no workload site's daemon is alive, and hands over as soon
// as one is while no run is open. A workload daemon counts as alive while its probe
// results keep arriving through etcd, which needs the majority too.

// workloadAliveWithin is how fresh a workload daemon's latest observation must be.
const workloadAliveWithin = 3 * time.Second

// isWitness says whether this daemon runs at a witness site.
func (d *Daemon) isWitness() bool { return d.site.Spec.Role == v1alpha1.SiteRoleWitness }

// workloadDaemonAlive says whether a workload site's daemon published a probe result
// within workloadAliveWithin.
func (d *Daemon) workloadDaemonAlive(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, byObserver := range d.latest {
		for observer, sites := range byObserver {
			if s := d.opts.Fleet.Site(observer); s == nil || s.Spec.Role == v1alpha1.SiteRoleWitness {
				continue
			}
			for _, ob := range sites {
				if now.Sub(ob.At) <= workloadAliveWithin {
					return true
				}
			}
		}
	}
	return false
}

// deferToWorkload waits, at a witness, while a workload daemon is alive.
func (d *Daemon) deferToWorkload(ctx context.Context) {
	for d.isWitness() && ctx.Err() == nil && d.workloadDaemonAlive(time.Now()) {
		sleep(ctx, time.Second)
	}
}

// handOver ends a witness's leadership (cancel) once a workload daemon has been alive
// for a few seconds and no run is open.
func (d *Daemon) handOver(ctx context.Context, cancel context.CancelFunc) {
	if !d.isWitness() {
		return
	}
	var since time.Time
	for ctx.Err() == nil {
		sleep(ctx, time.Second)
		now := time.Now()
		if !d.workloadDaemonAlive(now) || d.anyRunning() {
			since = time.Time{}
			continue
		}
		if since.IsZero() {
			since = now
		}
		if now.Sub(since) >= 2*workloadAliveWithin {
			d.log.Info("handing leadership to a workload site's daemon")
			cancel()
			return
		}
	}
}

// anyRunning says whether this daemon executes a run now.
func (d *Daemon) anyRunning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.running) > 0
}
