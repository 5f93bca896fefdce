package replicate

import "hadron.dev/hadron/internal/objects"

// State is one object's parity between the active site and a stand-by.
type State string

const (
	StateInSync   State = "in-sync"
	StateDrifted  State = "drifted"
	StateMissing  State = "missing"
	StateNotOwned State = "not-owned"
	StateExtra    State = "extra"
	StateDeferred State = "deferred"
	StateError    State = "error"
)

// Parity is one line of `hadron check parity`.
type Parity struct {
	Site   string   `json:"site"`
	Object string   `json:"object"`
	State  State    `json:"state"`
	Reason string   `json:"reason,omitempty"`
	Diff   []string `json:"diff,omitempty"`
}

// OK says whether the state needs no action: in sync, or deliberately kept off the
// stand-by until failover.
func (p Parity) OK() bool { return p.State == StateInSync || p.State == StateDeferred }

// ParityOf turns a plan into parity lines: the plan is the difference between the
// two sites, read as a state instead of as actions.
func ParityOf(cs []objects.Change) []Parity {
	out := make([]Parity, 0, len(cs))
	for _, c := range cs {
		p := Parity{Site: c.Site, Object: c.Ref.String(), Reason: c.Reason, Diff: c.Diff}
		switch c.Action {
		case objects.ActionInSync:
			p.State = StateInSync
		case objects.ActionUpdate:
			p.State = StateDrifted
			if len(p.Diff) == 0 {
				p.Diff = []string{"content hash differs from the source's (a field was removed or changed on the active site)"}
			}
		case objects.ActionCreate:
			p.State = StateMissing
		case objects.ActionConflict:
			p.State = StateNotOwned
		case objects.ActionDelete:
			p.State = StateExtra
		case objects.ActionDeferred:
			p.State = StateDeferred
		default:
			p.State = StateError
		}
		out = append(out, p)
	}
	return out
}
