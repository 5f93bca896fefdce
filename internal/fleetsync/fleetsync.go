// Package fleetsync keeps the fleet the same in every site's cluster: the daemons
// themselves carry a person's edit of the custom resources in one cluster to the
// others, through etcd, so that every daemon reads the same fleet from its own cluster.
//
// One key (coord.Root + "fleet/spec") holds the published fleet: its canonical text
// (hadron fleet export's), its hash and the site it came from. A daemon whose
// cluster's fleet changes while it agreed with the published one publishes the new one
// (a person edited its cluster); a daemon whose cluster differs from a published fleet
// it has not agreed with yet adopts it, writing the objects' specs into its cluster.
// Loops stop on the hash: a cluster that holds the published fleet does nothing, and
// publishing is a compare-and-swap on the key's revision, so of two edits made at once
// in two clusters the first published wins and the other cluster adopts it.
package fleetsync

import (
	"encoding/json"
	"fmt"
	"time"

	"hadron.dev/hadron/internal/coord"
)

// Key is the etcd key of the published fleet.
const Key = coord.FleetSpecKey

// Published is the fleet as a daemon published it.
type Published struct {
	// Hash is fleetsource.Snapshot.Hash of Fleet.
	Hash string `json:"hash"`
	// Site is the site whose cluster the fleet was read from.
	Site string    `json:"site"`
	At   time.Time `json:"at"`
	// Fleet is the canonical fleet text: manifests, one document per object.
	Fleet string `json:"fleet"`

	// Revision is the key's etcd mod revision when read (not stored).
	Revision int64 `json:"-"`
}

func decode(b []byte, rev int64) (*Published, error) {
	var p Published
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("published fleet at %s: %w", Key, err)
	}
	p.Revision = rev
	return &p, nil
}

// Step is what a daemon does about the published fleet.
type Step int

const (
	// InSync: its cluster holds the published fleet.
	InSync Step = iota
	// Publish: its cluster's fleet is new (a person's edit here, or nothing published
	// yet): publish it.
	Publish
	// Adopt: another site published a fleet this cluster has not held yet: write it
	// into the cluster.
	Adopt
)

func (s Step) String() string { return [...]string{"in-sync", "publish", "adopt"}[s] }

// Decide says what to do given the hash of the fleet the cluster holds now, the hash
// this daemon last agreed with (the published fleet its cluster last held; "" at
// start) and the published fleet (nil when none is). A cluster that changed while it
// agreed with the published fleet publishes; one that differs otherwise adopts — at
// start, a cluster that was edited while its daemon was away is overwritten by what
// the others agreed meanwhile.
func Decide(cluster, agreed string, pub *Published) Step {
	switch {
	case pub == nil:
		return Publish
	case cluster == pub.Hash:
		return InSync
	case agreed != "" && pub.Hash == agreed:
		return Publish
	default:
		return Adopt
	}
}
