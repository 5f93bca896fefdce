package compute

import (
	"fmt"
	"strings"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/replicate"
)

// maxListed bounds how many objects one line names; the rest are counted. The detail
// is stored in the run's record and shown one line per step.
const maxListed = 6

// listed returns items with those past maxListed folded into a count.
func listed(items []string) []string {
	if len(items) <= maxListed {
		return items
	}
	return append(items[:maxListed:maxListed], fmt.Sprintf("%d more", len(items)-maxListed))
}

// activationLine says what replicate.Activate did to one object.
func activationLine(a replicate.Activation) string {
	s := a.Action + " " + a.Object
	if a.Action == "scaled" || a.Replicas > 0 {
		s += fmt.Sprintf(" → %d", a.Replicas)
	}
	return s
}

// activateDetail is Activate's one line for the run's record: the capacity, what was
// scaled and applied, and how many workloads became ready in how long.
func activateDetail(caps []capacity, acts []replicate.Activation, restored []string, ws []readiness, elapsed time.Duration) string {
	var parts []string
	for _, c := range caps {
		parts = append(parts, c.String())
	}
	var items []string
	for _, a := range acts {
		items = append(items, activationLine(a))
	}
	items = append(items, restored...)
	parts = append(parts, listed(items)...)
	switch len(ws) {
	case 0:
		parts = append(parts, "no workloads")
	case 1:
		parts = append(parts, "1 workload ready in "+roughly(elapsed))
	default:
		parts = append(parts, fmt.Sprintf("%d workloads ready in %s", len(ws), roughly(elapsed)))
	}
	return strings.Join(parts, "; ")
}

// roughly rounds a duration for reading: tenths of a second, milliseconds below one.
func roughly(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// standByDetail is StandBy's one line: the style, what changed, how many workloads
// already stood by.
func standByDetail(style v1alpha1.StandbyStyle, done []standBy, unchanged int) string {
	var items []string
	for _, s := range done {
		items = append(items, s.String())
	}
	if unchanged > 0 {
		items = append(listed(items), fmt.Sprintf("%d already standing by", unchanged))
	} else {
		items = listed(items)
	}
	if len(items) == 0 {
		items = []string{"no workloads"}
	}
	return string(style) + " stand-by: " + strings.Join(items, "; ")
}

// notReady names what is not ready yet, for the error of a wait that timed out.
func notReady[T interface {
	OK() bool
	String() string
}](states []T) string {
	var items []string
	for _, s := range states {
		if !s.OK() {
			items = append(items, s.String())
		}
	}
	return strings.Join(listed(items), ", ")
}
