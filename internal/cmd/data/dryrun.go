package data

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
)

// What promote, rejoin and bootstrap would do with the state observed now: --dry-run
// prints it and changes nothing. Each is a pure function of the fleet's members and a
// status, as the driver's own decision reads them.

// Kinds of the dry runs' documents.
const (
	PromotionPlanKind = "PromotionPlan"
	RejoinPlanKind    = "RejoinPlan"
	BootstrapPlanKind = "BootstrapPlan"
)

// PromotionPlan is what `hadron data promote` would do.
type PromotionPlan struct {
	Set    string `json:"set"`
	Member string `json:"member"`
	// Refused says why the promotion cannot be done at all ("" when it can).
	Refused string `json:"refused,omitempty"`
	// Fence is the old primary that would be fenced first ("" when none is reachable).
	Fence string `json:"fence,omitempty"`
	// Loss is the loss expected from positions (Bytes -1: unknown, no primary read).
	Loss *data.Loss `json:"loss,omitempty"`
	// NeedsForce says the promotion would be refused without --force: it would lose
	// data, or the daemons decide for the set.
	NeedsForce bool     `json:"needsForce"`
	Why        []string `json:"why,omitempty"`
}

// PlanPromotion is what data.Failover would do for member with st observed now. The
// loss is measured as Failover measures it before acting: the newest position any
// reachable member flushed minus what member received.
func PlanPromotion(st *data.SetStatus, member string) PromotionPlan {
	p := PromotionPlan{Set: st.Set, Member: member}
	m := st.Member(member)
	switch {
	case m == nil:
		p.Refused = "not a member of the set"
		return p
	case !m.Reachable:
		p.Refused = "unreachable: " + withoutName(member, m.Error)
		return p
	case m.Primary && m.State != data.StateFenced:
		p.Refused = "already the primary"
		return p
	}
	var last data.LSN
	for _, o := range st.Members {
		if o.Reachable && o.FlushLSN > last {
			last = o.FlushLSN
		}
		if o.Member != member && o.Reachable && o.Primary && p.Fence == "" {
			p.Fence = o.Member
		}
	}
	if st.Primary != "" && st.Primary != member {
		p.Fence = st.Primary
	}
	loss := data.EstimateLoss(last, m.FlushLSN)
	if p.Fence == "" {
		loss = data.Loss{From: m.FlushLSN, Bytes: -1, Transactions: -1, Method: "unknown: no primary is reachable"}
	}
	p.Loss = &loss
	if loss.Bytes != 0 {
		p.NeedsForce = true
		p.Why = append(p.Why, "it would lose data")
	}
	return p
}

// Write prints the plan for a person.
func (p PromotionPlan) Write(w io.Writer) error {
	fmt.Fprintf(w, "promote %s in %s (dry run: nothing is changed)\n", p.Member, p.Set)
	if p.Refused != "" {
		_, err := fmt.Fprintf(w, "  cannot: %s\n", p.Refused)
		return err
	}
	if p.Fence != "" {
		fmt.Fprintf(w, "  1. fence the old primary %s (read-only)\n", p.Fence)
	} else {
		fmt.Fprintln(w, "  1. fence: no primary is reachable, nothing to fence")
	}
	fmt.Fprintf(w, "  2. promote %s at its position %s\n", p.Member, p.Loss.From)
	switch {
	case p.Loss.Bytes < 0:
		fmt.Fprintln(w, "  loss: unknown (no primary is reachable to compare positions)")
	default:
		fmt.Fprintf(w, "  loss: %d bytes of WAL expected (primary flushed %s)\n", p.Loss.Bytes, p.Loss.To)
	}
	if p.NeedsForce {
		fmt.Fprintf(w, "  needs --force: %s\n", strings.Join(p.Why, "; "))
	}
	return nil
}

// RejoinPlan is what `hadron data rejoin` would do.
type RejoinPlan struct {
	Set     string `json:"set"`
	Member  string `json:"member"`
	Primary string `json:"primary,omitempty"`
	// Action is none (it follows already), repoint (a restart that streams from the
	// primary; a rewind if that fails), rewind (pg_rewind, else a fresh clone), or
	// refused.
	Action string `json:"action"`
	Reason string `json:"reason"`
}

// Rejoin actions.
const (
	RejoinNone    = "none"
	RejoinRepoint = "repoint"
	RejoinRewind  = "rewind"
	RejoinRefused = "refused"
)

// PlanRejoin is what the postgres driver's Rejoin would do for member (its fleet
// entry) with st observed now.
func PlanRejoin(st *data.SetStatus, member v1alpha1.Member) RejoinPlan {
	p := RejoinPlan{Set: st.Set, Member: member.Name, Primary: st.Primary}
	ms := st.Member(member.Name)
	prim := st.Member(st.Primary)
	switch {
	case st.Primary == "" || prim == nil:
		p.Action, p.Reason = RejoinRefused, "no member accepts writes"
	case st.Primary == member.Name:
		p.Action, p.Reason = RejoinRefused, "it is the primary"
	case ms != nil && ms.Reachable && !ms.Primary && ms.State == data.StateStreaming && ms.Upstream == st.Primary && ms.Timeline == prim.Timeline:
		p.Action, p.Reason = RejoinNone, fmt.Sprintf("it streams from %s on timeline %d already", st.Primary, prim.Timeline)
	case ms != nil && ms.Reachable && !ms.Primary && ms.State != data.StateDiverged:
		p.Action, p.Reason = RejoinRepoint, fmt.Sprintf("it is a %s standby: restart it streaming from %s", ms.State, st.Primary)
		if member.DataDir != "" {
			p.Reason += " (pg_rewind if it does not stream)"
		}
	case member.DataDir == "":
		p.Action, p.Reason = RejoinRefused, "it must be rewound, and it has no dataDir on this machine"
	default:
		why := "unreachable"
		if ms != nil && ms.Reachable {
			why = string(ms.State)
			if ms.Primary {
				why = "a former primary"
			}
		}
		p.Action, p.Reason = RejoinRewind, fmt.Sprintf("it is %s: pg_rewind from %s (a fresh clone if the rewound member does not follow)", why, st.Primary)
	}
	return p
}

// Write prints the plan for a person.
func (p RejoinPlan) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "rejoin %s in %s (dry run: nothing is changed): %s: %s\n", p.Member, p.Set, p.Action, p.Reason)
	return err
}

// BootstrapPlan is what `hadron data bootstrap` would do on this machine.
type BootstrapPlan struct {
	Set     string            `json:"set"`
	Members []BootstrapMember `json:"members"`
}

// BootstrapMember is one member's part of a bootstrap.
type BootstrapMember struct {
	Member  string `json:"member"`
	Role    string `json:"role"`
	DataDir string `json:"dataDir,omitempty"`
	// Action is initdb (the primary), clone (pg_basebackup from the primary), start
	// (initialized already), none (running already) or skip (no dataDir here).
	Action string `json:"action"`
}

// PlanBootstrap is what the postgres driver's Bootstrap would do for ms with st
// observed now (st may be nil when nothing could be observed); initialized says
// whether a data directory holds a cluster already.
func PlanBootstrap(ms *v1alpha1.MirrorSet, st *data.SetStatus, initialized func(dir string) bool) BootstrapPlan {
	p := BootstrapPlan{Set: ms.Name, Members: []BootstrapMember{}}
	var primary string
	for _, m := range ms.Spec.Members {
		if m.Role == v1alpha1.RolePrimary {
			primary = m.Name
		}
	}
	for _, m := range ms.Spec.Members {
		bm := BootstrapMember{Member: m.Name, Role: string(m.Role), DataDir: m.DataDir}
		var seen *data.MemberStatus
		if st != nil {
			seen = st.Member(m.Name)
		}
		switch {
		case m.DataDir == "":
			bm.Action = "skip"
		case seen != nil && seen.Reachable:
			bm.Action = "none"
		case initialized(m.DataDir):
			bm.Action = "start"
		case m.Name == primary:
			bm.Action = "initdb"
		default:
			bm.Action = "clone"
		}
		p.Members = append(p.Members, bm)
	}
	return p
}

// Write prints the plan for a person.
func (p BootstrapPlan) Write(w io.Writer) error {
	fmt.Fprintf(w, "bootstrap %s on this machine (dry run: nothing is changed)\n", p.Set)
	say := map[string]string{
		"skip":   "skipped: no dataDir (bootstrapped on its own machine)",
		"none":   "running already",
		"start":  "initialized already: start it",
		"initdb": "initdb, then start it as the primary",
		"clone":  "clone it from the primary (pg_basebackup), then start it streaming",
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, m := range p.Members {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.Member, m.Role, dash(m.DataDir), say[m.Action])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "  then: a replication slot per member on the primary, wait until every standby streams, synchronous_standby_names")
	return err
}

// memberOf is the fleet's entry of the named member (checked to exist by load).
func memberOf(ms *v1alpha1.MirrorSet, name string) v1alpha1.Member {
	for _, m := range ms.Spec.Members {
		if m.Name == name {
			return m
		}
	}
	return v1alpha1.Member{Name: name}
}

// initialized says whether dir holds a PostgreSQL cluster (as the driver decides).
func initialized(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "PG_VERSION"))
	return err == nil
}
