// Package monitor drives automatic in-region failover of one mirror set: it observes
// the set, decides with a pure function of the observations (Decide), and carries the
// decision out through a data.Driver. The control plane will later make the same
// decision on its elected leader; only the caller of Decide changes.
package monitor

import (
	"fmt"

	"hadron.dev/hadron/internal/data"
)

// Memory is what the monitor remembers between observations.
type Memory struct {
	// Primary is the last member seen accepting writes, with its position and timeline.
	Primary      string
	PrimaryFlush data.LSN
	Timeline     uint32
	SystemID     uint64
	Region       string
	// Sync is the in-region standby that was synchronous and streaming at the last
	// observation of a healthy primary: it holds every acknowledged commit, so it is the
	// only member promoted without a person (RPO 0).
	Sync string
	// Down counts consecutive observations without a primary accepting writes.
	Down int
	// Stalled counts, per member, consecutive observations of a reachable standby with
	// no WAL stream while the primary was up. Not every stall heals itself: a standby
	// whose WAL receiver is stopped by a reconfiguration can stay "waiting for WAL"
	// with nothing that restarts the receiver.
	Stalled map[string]int
}

// DefaultStalledAfter is how many observations a standby may go without a WAL stream
// before it is rejoined (Config.StalledAfter): long enough for a receiver to restart
// (wal_retrieve_retry_interval, 5 s) and for a short cut to heal.
const DefaultStalledAfter = 30

// Kind is what an action does.
type Kind string

const (
	Promote Kind = "promote"
	Fence   Kind = "fence"
	Rejoin  Kind = "rejoin"
	// Resync recomputes the primary's synchronous standbys: the synchronous member
	// stopped streaming and commits would wait for it.
	Resync Kind = "resync"
)

// Action is one step for the driver.
type Action struct {
	Kind   Kind
	Member string
	Token  data.PromotionToken
	Reason string
}

func (a Action) String() string { return fmt.Sprintf("%s %s (%s)", a.Kind, a.Member, a.Reason) }

// Config tunes Decide.
type Config struct {
	// FailAfter is how many consecutive observations without a primary trigger a
	// promotion (default 3).
	FailAfter int
	// FencingToken goes into promotion tokens (0 for a local monitor).
	FencingToken int64
	// MaxLag is the most WAL (bytes) an automatic promotion of a member that was not
	// synchronous may lose, measured from the primary's last observed flush (the
	// mirror set's replication.maxLagOnFailover). 0: only the synchronous member is
	// ever promoted automatically.
	MaxLag int64
	// StalledAfter is how many consecutive observations a reachable standby may have
	// no WAL stream before it is rejoined (0: DefaultStalledAfter).
	StalledAfter int
	// Synchronous: the set wants an in-region synchronous member (its
	// replication.synchronous). A stand-by that comes back streaming by itself — a
	// member in a pod whose start step rewound it — is made synchronous again by a
	// resync; a local member's rejoin does that itself.
	Synchronous bool
}

// Decide returns the new memory and the actions for one observation st:
//
//   - One primary accepting writes (the highest timeline if several): remember it and
//     its synchronous member; fence and rejoin any other member that accepts writes
//     (an old primary that came back); rejoin standbys that follow another upstream
//     (after a failover) and members whose rejoin was cut off (StateRejoining: any
//     earlier leader's) or that have had no WAL stream for StalledAfter observations;
//     resync when the synchronous standby stopped streaming, or when the data-loss
//     mode's promise is not in force and could be (a DR member streams within it
//     again).
//   - No primary for FailAfter observations: promote the remembered synchronous member
//     if it is reachable and on the same system and timeline. Failing that — no
//     memory (a new leader), no such member — a member held at its pod's start, when
//     every member answers and none is ahead of it (releaseHeld). Failing that, and
//     only when MaxLag > 0, promote the most advanced standby of the primary's region whose
//     flush position is within MaxLag bytes of the primary's last observed flush.
//     Otherwise do nothing: promoting any other member could lose acknowledged
//     commits and is a person's decision.
func Decide(mem Memory, st *data.SetStatus, cfg Config) (Memory, []Action) {
	if cfg.FailAfter <= 0 {
		cfg.FailAfter = 3
	}
	if cfg.StalledAfter <= 0 {
		cfg.StalledAfter = DefaultStalledAfter
	}
	// The newest timeline any reachable primary is on, fenced ones included: a fenced
	// primary (a runbook's fence, its site's self-fence) is still the newest history,
	// and a writer on an older timeline is an old primary that came back — it must be
	// fenced, never taken for the primary that the newer one is rewound to.
	var newest uint32
	for _, m := range st.Members {
		if m.Reachable && m.Primary {
			newest = max(newest, m.Timeline)
		}
	}
	var p *data.MemberStatus
	var stale []Action
	for i := range st.Members {
		m := &st.Members[i]
		if !m.Reachable || !m.Primary || m.State == data.StateFenced {
			continue
		}
		if m.Timeline < newest {
			stale = append(stale, Action{Kind: Fence, Member: m.Member, Reason: fmt.Sprintf("accepts writes on timeline %d, older than the newest primary's %d", m.Timeline, newest)})
			continue
		}
		if p == nil || (m.Timeline == p.Timeline && m.Member == mem.Primary) {
			p = m
		}
	}
	if p == nil {
		next, acts := decideDown(mem, st, cfg)
		return next, append(stale, acts...)
	}
	var acts []Action
	next := Memory{Primary: p.Member, PrimaryFlush: p.FlushLSN, Timeline: p.Timeline, SystemID: p.SystemID, Region: p.Region}
	syncDown := false
	unlisted := "" // an in-region stand-by that streams from p but is not synchronous
	for _, m := range st.Members {
		if m.Member == p.Member {
			continue
		}
		if !m.Sync && m.Reachable && m.State == data.StateStreaming && m.Region == p.Region && m.Upstream == p.Member && unlisted == "" {
			unlisted = m.Member
		}
		switch {
		case m.State == data.StateRejoining:
			acts = append(acts, Action{Kind: Rejoin, Member: m.Member, Reason: "its rejoin was cut off"})
		case m.Reachable && m.Primary && m.State != data.StateFenced:
			acts = append(acts,
				Action{Kind: Fence, Member: m.Member, Reason: fmt.Sprintf("accepts writes on timeline %d while %s is primary on %d", m.Timeline, p.Member, p.Timeline)},
				Action{Kind: Rejoin, Member: m.Member, Reason: "former primary"})
		case m.Reachable && m.Primary:
			acts = append(acts, Action{Kind: Rejoin, Member: m.Member, Reason: "fenced former primary"})
		case m.Reachable && m.State == data.StateDiverged:
			acts = append(acts, Action{Kind: Rejoin, Member: m.Member, Reason: "diverged from " + p.Member + "'s timeline"})
		case m.Reachable && m.Upstream != "" && m.Upstream != p.Member:
			acts = append(acts, Action{Kind: Rejoin, Member: m.Member, Reason: "follows " + m.Upstream + ", not " + p.Member})
		case m.Reachable && !m.Primary && m.State == data.StateDisconnected:
			if m.FollowsNobody {
				// Held at its pod's start: no stream will come by waiting (seen: 30 s).
				acts = append(acts, Action{Kind: Rejoin, Member: m.Member, Reason: "follows nobody (held at its start)"})
				break
			}
			n := mem.Stalled[m.Member] + 1
			if n < cfg.StalledAfter {
				if next.Stalled == nil {
					next.Stalled = map[string]int{}
				}
				next.Stalled[m.Member] = n
				break
			}
			acts = append(acts, Action{Kind: Rejoin, Member: m.Member, Reason: fmt.Sprintf("no WAL stream from %s for %d observations", p.Member, n)})
		case m.Sync && m.State == data.StateStreaming && m.Region == p.Region:
			if next.Sync == "" || m.Role == "failover" {
				next.Sync = m.Member
			}
		case m.Member == mem.Sync && mem.Primary == p.Member && mem.Timeline == p.Timeline &&
			m.State == data.StateStreaming && m.Region == p.Region:
			// Still streaming from the same primary but not listed synchronous in this
			// one look: the primary's view of its stand-bys flickers as it dies. hadron
			// drops a member from synchronous_standby_names only once it stops
			// streaming, so it still holds every commit; forgetting it here would leave
			// nobody to promote.
			if next.Sync == "" {
				next.Sync = m.Member
			}
		}
		if m.Member == mem.Sync && (!m.Reachable || m.State == data.StateDisconnected) {
			syncDown = true
		}
	}
	switch {
	case syncDown:
		acts = append(acts, Action{Kind: Resync, Member: p.Member, Reason: "synchronous member " + mem.Sync + " stopped streaming"})
	case cfg.Synchronous && next.Sync == "" && unlisted != "":
		acts = append(acts, Action{Kind: Resync, Member: p.Member, Reason: "in-region stand-by " + unlisted + " streams but no member is synchronous"})
	case st.Promise != nil && st.Promise.Restorable:
		acts = append(acts, Action{Kind: Resync, Member: p.Member, Reason: fmt.Sprintf("data-loss mode %s not in force and a DR member streams within it", st.Promise.Mode)})
	}
	return next, acts
}

func decideDown(mem Memory, st *data.SetStatus, cfg Config) (Memory, []Action) {
	// A primary that answers but refuses writes was fenced on purpose — by a runbook
	// moving the application, or by its own site's daemon cut off from the majority.
	// Promoting its synchronous member then would make the second writer the fence is
	// there to prevent.
	for _, m := range st.Members {
		if m.Reachable && m.Primary && m.State == data.StateFenced {
			mem.Down = 0
			return mem, nil
		}
	}
	mem.Down++
	if mem.Down < cfg.FailAfter {
		return mem, nil
	}
	if s := st.Member(mem.Sync); mem.Primary != "" && s != nil && s.Reachable && !s.Primary &&
		s.SystemID == mem.SystemID && s.Timeline == mem.Timeline {
		return mem, []Action{{
			Kind:   Promote,
			Member: s.Member,
			Token:  data.TokenFor(*s, cfg.FencingToken),
			Reason: fmt.Sprintf("primary %s down for %d observations; %s was synchronous", mem.Primary, mem.Down, s.Member),
		}}
	}
	if a, ok := releaseHeld(st, cfg); ok {
		return mem, []Action{a}
	}
	if mem.Primary == "" || cfg.MaxLag <= 0 {
		return mem, nil
	}
	// No synchronous member: the most advanced in-region standby, if it lags the
	// primary's last observed flush by at most MaxLag.
	var local []data.MemberStatus
	for _, m := range st.Members {
		if m.Region == mem.Region && m.Timeline == mem.Timeline {
			local = append(local, m)
		}
	}
	_, best := data.MostAdvanced(local, mem.SystemID)
	if best == nil {
		return mem, nil
	}
	lag := mem.PrimaryFlush.Sub(best.FlushLSN)
	if lag > cfg.MaxLag {
		return mem, nil
	}
	return mem, []Action{{
		Kind:   Promote,
		Member: best.Member,
		Token:  data.TokenFor(*best, cfg.FencingToken),
		Reason: fmt.Sprintf("primary %s down for %d observations; no synchronous member; %s lags %d bytes ≤ %d", mem.Primary, mem.Down, best.Member, lag, cfg.MaxLag),
	}}
}

// releaseHeld promotes a member held at its pod's start — a primary's pod that
// restarted without knowing whether another member was promoted meanwhile, so it came
// up as a stand-by of nobody — when the whole set answers and none is primary: what
// any member acknowledged is then on a member in sight, and the held one loses
// nothing if no member is ahead of it. A memory is not needed (a set whose pods all
// restarted meets a new leader as often as an old one). Anything less — a member
// out of reach, another member ahead, two systems — stays a person's decision.
func releaseHeld(st *data.SetStatus, cfg Config) (Action, bool) {
	if len(st.Members) == 0 {
		return Action{}, false
	}
	var sys uint64
	for _, m := range st.Members {
		if !m.Reachable || m.Primary || (sys != 0 && m.SystemID != sys) {
			return Action{}, false
		}
		sys = m.SystemID
	}
	ranked, best := data.MostAdvanced(st.Members, sys)
	if best == nil {
		return Action{}, false
	}
	for _, m := range ranked {
		if m.Timeline != best.Timeline || m.FlushLSN != best.FlushLSN {
			break
		}
		if m.FollowsNobody {
			return Action{
				Kind:   Promote,
				Member: m.Member,
				Token:  data.TokenFor(m, cfg.FencingToken),
				Reason: fmt.Sprintf("every member answers and none is primary; %s, held at its start, is the most advanced (timeline %d, %s)", m.Member, m.Timeline, m.FlushLSN),
			}, true
		}
	}
	return Action{}, false
}
