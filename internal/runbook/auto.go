package runbook

import (
	"fmt"
	"time"
)

// Defaults of an automatic failover policy without its own values.
const (
	DefaultAutoThreshold   = 3 * time.Second
	DefaultAutoMinInterval = 10 * time.Minute
)

// AutoInput is what the leader knows when it considers an automatic failover.
type AutoInput struct {
	Enabled bool
	Active  string
	// Sites are the application's sites in the policy's order (active first, then the
	// stand-bys in preference order).
	Sites []string
	// Verdicts are the quorum's verdicts per site ("up", "down", "unknown").
	Verdicts map[string]string
	// Reached are the sites a majority of observers reached (an HTTP answer, even a
	// failing one). A pilot-light stand-by of a data-backed application answers 503
	// until its database is promoted, so "up" alone would never let it take over.
	Reached map[string]bool
	// Warm says the stand-bys run the application: they must be up, since a warm
	// stand-by that fails its check is broken, not waiting.
	Warm bool
	// DownSince is when the leader first saw the active site down by quorum (zero: not
	// down now).
	DownSince time.Time
	Now       time.Time
	Threshold time.Duration
	// LastAuto is the decision time of the last automatic failover (zero: none).
	LastAuto    time.Time
	MinInterval time.Duration
	// Open is true when a run of the application is open.
	Open bool
	// Served says the quorum found the application up at Active at least once since
	// it became active there.
	Served bool
}

// AutoDecide says whether to fail over automatically now, and to which site. reason
// says why not (for status and logs) when to is "".
func AutoDecide(in AutoInput) (to, reason string) {
	threshold, interval := in.Threshold, in.MinInterval
	if threshold <= 0 {
		threshold = DefaultAutoThreshold
	}
	if interval <= 0 {
		interval = DefaultAutoMinInterval
	}
	switch {
	case !in.Enabled:
		return "", "automatic failover is off"
	case in.Open:
		return "", "a run is open"
	case in.Verdicts[in.Active] != "down" || in.DownSince.IsZero():
		return "", fmt.Sprintf("active site %s is not down by quorum", in.Active)
	case !in.Served:
		return "", fmt.Sprintf("the application was never up at %s: nothing is served there to fail over", in.Active)
	case in.Now.Sub(in.DownSince) < threshold:
		return "", fmt.Sprintf("active site %s down for %s of %s", in.Active, in.Now.Sub(in.DownSince).Round(time.Millisecond), threshold)
	case !in.LastAuto.IsZero() && in.Now.Sub(in.LastAuto) < interval:
		return "", fmt.Sprintf("last automatic failover %s ago, within the %s flapping guard", in.Now.Sub(in.LastAuto).Round(time.Second), interval)
	}
	// A stand-by that is up is preferred; one that is only reachable comes next.
	for _, want := range []func(string) bool{
		func(s string) bool { return in.Verdicts[s] == "up" },
		func(s string) bool { return !in.Warm && in.Reached[s] },
	} {
		for _, s := range in.Sites {
			if s != in.Active && want(s) {
				return s, ""
			}
		}
	}
	return "", "no other site is up or reachable by quorum"
}

// LastAuto is the decision time of the automatic failover that the flapping guard
// counts in hist (zero: none). A person's completed run afterwards — a failback home,
// a switchover — ends the guard: the guard stops the system from moving an application
// back and forth on its own, not a person from deciding where it runs.
func LastAuto(hist []Record) time.Time {
	var auto, person time.Time
	for _, r := range hist {
		switch {
		case r.Who == "auto" && r.Decided.After(auto):
			auto = r.Decided
		case r.Who != "auto" && r.Status == StatusDone && r.Decided.After(person):
			person = r.Decided
		}
	}
	if person.After(auto) {
		return time.Time{}
	}
	return auto
}
