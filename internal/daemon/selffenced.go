package daemon

import (
	"slices"
	"sort"
	"time"

	"hadron.dev/hadron/internal/data"
)

// The self-fence list is what status shows as "fenced (read-only) by self-fencing".
// This daemon adds a member when it fences it and removes it when it lifts the fence
// itself, but anyone may change the member meanwhile: a failback's run promotes or
// rejoins it, a person unfences it. So every data observation taken after the fence
// re-derives the entry from the member (SelfFenceHolds): status says what is true,
// not what this daemon last did.

// selfFence is a local primary this daemon made read-only when it lost the majority.
type selfFence struct {
	set, member string
	// at is when the fence was done: only an observation begun later can clear it.
	at time.Time
}

func (f selfFence) String() string { return f.set + "/" + f.member }

// SelfFenceHolds says whether member, which this daemon fenced, is still a fenced
// primary in st. A reachable member in any other state — a writable primary again, a
// standby after a rejoin — no longer is, whoever changed it; one that cannot be seen
// is presumed to stand as it was left.
func SelfFenceHolds(st *data.SetStatus, member string) bool {
	m := st.Member(member)
	if m == nil || !m.Reachable || m.State == data.StateUnreachable {
		return true
	}
	return m.State == data.StateFenced
}

// addSelfFences records fresh self-fences, replacing older entries of the same members.
func (v *dataView) addSelfFences(fs ...selfFence) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, f := range fs {
		v.fenced = slices.DeleteFunc(v.fenced, func(x selfFence) bool { return x.set == f.set && x.member == f.member })
		v.fenced = append(v.fenced, f)
	}
}

// removeSelfFences forgets the entries this daemon lifted itself; an entry renewed
// meanwhile (another fence, a later time) stays.
func (v *dataView) removeSelfFences(lifted []selfFence) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.fenced = slices.DeleteFunc(v.fenced, func(x selfFence) bool { return slices.Contains(lifted, x) })
}

// reviewSelfFences drops the entries of set that st, an observation begun at from,
// shows no longer fenced.
func (v *dataView) reviewSelfFences(set string, st *data.SetStatus, from time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.fenced = slices.DeleteFunc(v.fenced, func(f selfFence) bool {
		if f.set != set || !f.at.Before(from) || SelfFenceHolds(st, f.member) {
			return false
		}
		state := data.StateUnreachable
		if m := st.Member(f.member); m != nil {
			state = m.State
		}
		v.log.Info("self-fence no longer holds: the member was changed since", "set", set, "member", f.member, "state", state)
		return true
	})
}

// selfFenced is the self-fence list for status: set/member, sorted.
func (v *dataView) selfFenced() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, f := range v.fenced {
		out = append(out, f.String())
	}
	sort.Strings(out)
	return out
}
