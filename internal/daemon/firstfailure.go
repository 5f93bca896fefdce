package daemon

import (
	"time"

	"hadron.dev/hadron/internal/probe"
)

// failKey names one observer's view of one site of one application.
type failKey struct{ app, site, observer string }

// siteKey names one site of one application.
type siteKey struct{ app, site string }

// noteHealthy remembers when the quorum last saw ob's site healthy: the start of an
// OK probe recorded while the site's verdict is up. A probe that started then found
// the site serving, so a failure seen before it belongs to another fault (an
// observer cut off alone, or one that died failing the site and said nothing since).
func (o *observed) noteHealthy(ob probe.Observation) {
	if !ob.OK || o.tracker.Verdicts(ob.App)[ob.Site] != probe.Up {
		return
	}
	seen := ob.At.Add(-ob.Latency)
	o.mu.Lock()
	defer o.mu.Unlock()
	if k := (siteKey{ob.App, ob.Site}); seen.After(o.healthy[k]) {
		o.healthy[k] = seen
	}
}

// firstFailure is when the current fault at site was first seen (firstFailureOf over
// the failing streaks of the observers that fail it now); zero when none does. It
// starts the system RTO, which the verdict alone would understate by fall × interval.
func (o *observed) firstFailure(app, site string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	var streaks []time.Time
	for k, at := range o.failing {
		if k.app == app && k.site == site {
			streaks = append(streaks, at)
		}
	}
	return firstFailureOf(streaks, o.healthy[siteKey{app, site}])
}

// firstFailureOf is the first failed probe of this outage: the earliest start among
// the observers' failing streaks that began at or after the quorum last saw the site
// healthy (zero: never seen). A streak that began before that is not this outage's,
// however long it lasts: an observer that died failing the site keeps its streak
// forever, and would date a later outage back to its death. Zero when no streak counts.
func firstFailureOf(streaks []time.Time, healthy time.Time) time.Time {
	var first time.Time
	for _, at := range streaks {
		if at.Before(healthy) {
			continue
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first
}
