// Package data is hadron's view of replicated databases: the Driver interface that a
// database engine implements (PostgreSQL first, in data/postgres), the status and
// promotion types it speaks, and the pure decisions about them — which member is the
// most advanced, how much data a promotion loses, what a monitor should do next.
package data

import (
	"context"
	"fmt"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
)

// Driver operates one mirror set. Every call takes a context whose deadline bounds all
// its network calls; none leaves the set worse than it found it when it fails early
// (checks come before changes).
type Driver interface {
	// Status observes every member concurrently. A member that cannot be reached is
	// reported with Reachable false and its error; Status fails only when it cannot
	// observe anything useful (for example a wrong password everywhere).
	Status(ctx context.Context) (*SetStatus, error)

	// Promote makes member a primary (accepting writes) after checking token against
	// the member: same system identifier, same timeline, replay position at least
	// token.Position, and a fencing token not lower than the highest the member has
	// stored (which it then raises to this one). A mismatch is a retry.PermanentError;
	// a member not yet at the position is a retry.RetryableError. Promote neither
	// fences the old primary nor repoints the others: callers do (see Failover).
	Promote(ctx context.Context, member string, token PromotionToken) (*PromoteResult, error)

	// Fence makes member refuse writes now: new and existing sessions are read-only or
	// terminated. When that cannot be done over SQL and the member runs locally, the
	// server is stopped. On success no write commits on member afterwards.
	//
	// fencingToken is the deciding leader's token. The member itself keeps the highest
	// token that has acted on it and refuses a lower one (ErrStaleFencing, permanent),
	// as Promote and Unfence do: a deposed leader in any process cannot act. Token 0 is
	// a fence decided without leadership (a daemon fencing its own cut-off region): it
	// is always carried out, since it only takes writes away, and raises nothing.
	Fence(ctx context.Context, member string, fencingToken int64) error

	// Rejoin makes member follow the current primary: a healthy standby is repointed;
	// a former primary or a diverged member is rewound (pg_rewind) or, when rewinding
	// fails, cloned afresh. It returns when member streams from the primary.
	Rejoin(ctx context.Context, member string) error

	// Verify writes a marker on the primary and reads it back on every member (or only
	// on the members named), with the time each took (seed 000's check). Members that
	// do not show the marker within ctx are reported, not failed. A failover verifies
	// the new site's members only: the fenced old primary never shows the marker, and
	// waiting for it would add to the RTO.
	Verify(ctx context.Context, members ...string) (*VerifyResult, error)
}

// Switchover is an optional capability (check by type assertion): a controlled
// change of primary that loses nothing. The old primary is fenced, target waits until
// it has replayed the old primary's last flushed position, is promoted, and the old
// primary rejoins as a member.
type Switchover interface {
	Switchover(ctx context.Context, target string, fencingToken int64) (*PromoteResult, error)
}

// LossCounter is an optional capability: it counts exactly what a promotion did not
// carry by reading the old primary's WAL between two positions.
type LossCounter interface {
	CountLoss(ctx context.Context, oldPrimary string, from, to LSN) (Loss, error)
}

// State is what a member is doing.
type State string

const (
	StatePrimary      State = "primary"      // accepts writes
	StateFenced       State = "fenced"       // a primary refusing writes
	StateStreaming    State = "streaming"    // a standby receiving WAL, caught up
	StateCatchingUp   State = "catching up"  // a standby receiving WAL, behind
	StateDisconnected State = "disconnected" // a standby with no WAL stream
	// StateDiverged is a standby that replayed WAL of an old timeline past the point
	// where the primary's timeline forked: it cannot follow without a rewind.
	StateDiverged    State = "diverged"
	StateUnreachable State = "unreachable" // could not be observed
	// StateRejoining is a stopped member whose rejoin (rewind or clone) was cut off —
	// its caretaker's context ended, its daemon died: its data directory may be half
	// rewritten, and only a new rejoin brings it back. The driver knows it from a
	// marker its rejoin leaves until it succeeds, so any later leader sees it.
	StateRejoining State = "rejoining"
)

// MemberStatus is one member's observed state. Positions are zero when unknown.
type MemberStatus struct {
	Member string              `json:"member"`
	Site   string              `json:"site"`
	Zone   string              `json:"zone,omitempty"`
	Region string              `json:"region,omitempty"`
	Role   v1alpha1.MemberRole `json:"role"` // configured role in the fleet
	// Primary is true when the member is out of recovery (it was promoted or is the
	// original primary), fenced or not.
	Primary   bool   `json:"primary"`
	State     State  `json:"state"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	SystemID  uint64 `json:"systemID,omitempty"`
	Timeline  uint32 `json:"timeline,omitempty"`
	// FlushLSN is the WAL flushed locally: the primary's current flush position, a
	// standby's received-and-flushed position.
	FlushLSN  LSN `json:"flushLSN"`
	ReplayLSN LSN `json:"replayLSN"`
	// LagBytes is the primary's flush position minus this member's replay position.
	LagBytes int64 `json:"lagBytes"`
	// LagSeconds is how old the newest replayed transaction is while lag remains.
	LagSeconds float64 `json:"lagSeconds"`
	// Upstream is the address this standby streams from, or "".
	Upstream string `json:"upstream,omitempty"`
	// FollowsNobody marks a standby with no upstream configured at all (an empty
	// primary_conninfo): a member in a pod that held at its start, named primary on a
	// primary's volume while another may have been promoted. It streams only once
	// rejoined, so there is nothing to wait for.
	FollowsNobody bool `json:"followsNobody,omitempty"`
	// Sync is true when the primary waits for this member's flush before committing.
	Sync bool `json:"sync"`
	// LastReplay is the commit time of the newest replayed transaction (standbys).
	LastReplay *time.Time `json:"lastReplay,omitempty"`
}

// SetStatus is one observation of a whole mirror set.
type SetStatus struct {
	Set string `json:"set"`
	// Primary names the member accepting writes ("" when none; see ErrSplitBrain).
	Primary string         `json:"primary,omitempty"`
	At      time.Time      `json:"at"`
	Members []MemberStatus `json:"members"`
	// Promise is how the primary keeps the set's data-loss mode now; nil when no
	// primary could be read.
	Promise *Promise `json:"promise,omitempty"`
}

// Promise is a mirror set's data-loss mode across regions (the applications' policy)
// and how its primary keeps it at one observation.
type Promise struct {
	Mode v1alpha1.DataLossMode `json:"mode"`
	// Bound is mode bounded's bound.
	Bound time.Duration `json:"bound,omitempty"`
	// Setting is the primary's synchronous_standby_names.
	Setting string `json:"setting"`
	// InForce says the setting carries the mode's cross-region requirement: the bound
	// keeper (bounded) or a member outside the primary's region (synchronous). A
	// promise not in force was released, or waits for a DR member to catch up.
	InForce bool `json:"inForce"`
	// DR is the member the promise is about: the most advanced member outside the
	// primary's region.
	DR string `json:"dr,omitempty"`
	// ConfirmedLag is how far behind the DR member is, in seconds (its LagSeconds).
	ConfirmedLag float64 `json:"confirmedLag"`
	// Keeper says the bound keeper streams from the primary (bounded).
	Keeper bool `json:"keeper,omitempty"`
	// Holding says commits wait for the promise: the keeper holds or is absent
	// (bounded), or the member named outside the region does not stream (synchronous).
	Holding bool `json:"holding,omitempty"`
	// Restorable says a promise not in force could be put back now: a DR member
	// streams within it (the monitor then resynchronises).
	Restorable bool `json:"restorable,omitempty"`
	// Holders are the members known to hold every acknowledged commit while the
	// promise is in force: those mode synchronous makes every commit wait for. A
	// failover promotes one of them, or is a person's decision.
	Holders []string `json:"holders,omitempty"`
}

// Holds reports whether member is known to hold every commit p's primary acknowledged.
func (p *Promise) Holds(member string) bool {
	if p == nil || !p.InForce {
		return false
	}
	for _, h := range p.Holders {
		if h == member {
			return true
		}
	}
	return false
}

// String is the promise as status prints it, for example "bounded 200ms: in force,
// west-0 confirmed 80ms behind".
func (p *Promise) String() string {
	if p == nil {
		return "unknown (no primary)"
	}
	mode := string(p.Mode)
	if p.Mode == v1alpha1.DataLossBounded {
		mode += " " + p.Bound.String()
	}
	lag := ""
	if p.DR != "" {
		lag = fmt.Sprintf(", %s %s behind", p.DR, (time.Duration(p.ConfirmedLag * float64(time.Second))).Round(time.Millisecond))
	}
	switch {
	case p.Mode == v1alpha1.DataLossAsync || p.Mode == "":
		return mode + lag
	case !p.InForce && p.Restorable:
		return mode + ": not in force, being restored" + lag
	case !p.InForce:
		return mode + ": not in force (released or waiting for the DR member to catch up)" + lag
	case p.Holding && p.Mode == v1alpha1.DataLossBounded && !p.Keeper:
		return mode + ": commits wait: no bound keeper streams from the primary" + lag
	case p.Holding && p.Mode == v1alpha1.DataLossBounded:
		return mode + ": commits wait: the DR member is behind the bound" + lag
	case p.Holding:
		return mode + ": commits wait for the DR member" + lag
	}
	return mode + ": in force" + lag
}

// Member returns the status of the named member, or nil.
func (s *SetStatus) Member(name string) *MemberStatus {
	for i := range s.Members {
		if s.Members[i].Member == name {
			return &s.Members[i]
		}
	}
	return nil
}

// PromotionToken is what a promoter believes about a member; the driver checks it
// against the member before promoting, so a stale or misdirected decision cannot
// promote the wrong server.
type PromotionToken struct {
	SystemID uint64 `json:"systemID"`
	Timeline uint32 `json:"timeline"`
	// Position is the WAL position the member must have replayed (0: no requirement;
	// a forced promotion sets the member's own position and accepts the loss).
	Position LSN `json:"position"`
	// FencingToken is the deciding leader's token (the etcd revision of its
	// leadership); 0 means a person or a local monitor decided.
	FencingToken int64 `json:"fencingToken"`
}

// TokenFor builds the token that promotes m at its current position.
func TokenFor(m MemberStatus, fencingToken int64) PromotionToken {
	return PromotionToken{SystemID: m.SystemID, Timeline: m.Timeline, Position: m.ReplayLSN, FencingToken: fencingToken}
}

// PromoteResult says what a promotion did.
type PromoteResult struct {
	Member string `json:"member"`
	// ReplayLSN is the last position the member replayed before it was promoted: the
	// end of the data it carries over.
	ReplayLSN LSN `json:"replayLSN"`
	// Timeline is the member's new timeline.
	Timeline uint32        `json:"timeline"`
	Took     time.Duration `json:"took"`
	Loss     *Loss         `json:"loss,omitempty"`
}

// VerifyResult is one marker round trip.
type VerifyResult struct {
	Primary string         `json:"primary"`
	Marker  string         `json:"marker"`
	Write   time.Duration  `json:"write"`
	Members []VerifyMember `json:"members"`
}

// VerifyMember is where and when a member showed the marker.
type VerifyMember struct {
	Member string        `json:"member"`
	Seen   bool          `json:"seen"`
	After  time.Duration `json:"after"` // from the primary's commit
	Error  string        `json:"error,omitempty"`
}

// OK reports whether every member showed the marker.
func (v *VerifyResult) OK() bool {
	for _, m := range v.Members {
		if !m.Seen {
			return false
		}
	}
	return true
}
