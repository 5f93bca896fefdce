package chaos

import "time"

// Bounds are the parts of the invariants' definitions that are durations. Their
// defaults suit the lab's fleet (TTL 10 s, probes every second, fall 3).
type Bounds struct {
	// TTL is the main name's TTL (invariant 4).
	TTL time.Duration `json:"ttl"`
	// Detection is how long finding a site dead may take: probes, quorum, the
	// decision (invariant 4). Default 10 s.
	Detection time.Duration `json:"detection"`
	// Recovery bounds the return to full health after the last repair (invariant 6).
	// Default 3 min: a restored region's members are rewound and catch up first.
	Recovery time.Duration `json:"recovery"`
	// MoveSlack widens a run's window when it explains a change of the writing site
	// or a loss: a write acknowledged just before the decision belongs to it (default
	// 5 s).
	MoveSlack time.Duration `json:"moveSlack"`
}

// DefaultBounds are the bounds when none are given.
func DefaultBounds() Bounds {
	return Bounds{TTL: 10 * time.Second, Detection: 10 * time.Second, Recovery: 3 * time.Minute, MoveSlack: 5 * time.Second}
}

// WithDefaults fills every bound left zero with DefaultBounds' value.
func (b Bounds) WithDefaults() Bounds {
	d := DefaultBounds()
	if b.TTL <= 0 {
		b.TTL = d.TTL
	}
	if b.Detection <= 0 {
		b.Detection = d.Detection
	}
	if b.Recovery <= 0 {
		b.Recovery = d.Recovery
	}
	if b.MoveSlack <= 0 {
		b.MoveSlack = d.MoveSlack
	}
	return b
}
