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
	case in.Now.Sub(in.DownSince) < threshold:
		return "", fmt.Sprintf("active site %s down for %s of %s", in.Active, in.Now.Sub(in.DownSince).Round(time.Millisecond), threshold)
	case !in.LastAuto.IsZero() && in.Now.Sub(in.LastAuto) < interval:
		return "", fmt.Sprintf("last automatic failover %s ago, within the %s flapping guard", in.Now.Sub(in.LastAuto).Round(time.Second), interval)
	}
	for _, s := range in.Sites {
		if s != in.Active && in.Verdicts[s] == "up" {
			return s, ""
		}
	}
	return "", "no other site is up by quorum"
}
