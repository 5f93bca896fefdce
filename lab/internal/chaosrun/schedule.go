// Package chaosrun runs `hadron lab chaos`: a schedule of faults drawn from a seed is
// injected into a running lab while clients write through the main name and to
// each site directly; the history it records goes to internal/chaos's checker.
package chaosrun

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Fault kinds a schedule draws from (--faults).
const (
	KindSite      = "site"      // a workload region dies, then comes back
	KindZone      = "zone"      // a zone of a workload site: nodes and database members
	KindMember    = "member"    // a database member is SIGKILLed, restarted after a delay
	KindDaemon    = "daemon"    // a site's daemon is killed, restored later
	KindLeader    = "leader"    // the leading daemon is SIGKILLed (restarted after a delay)
	KindPartition = "partition" // a link is cut both ways
	KindOneWay    = "oneway"    // a link is cut one way
	KindLatency   = "latency"   // a link's latency jumps
	KindWitness   = "witness"   // the witness site dies
	KindDrain     = "drain"     // a node is drained (cordon, evictions)
	KindMove      = "move"      // a person asks for a switchover or failback; sometimes the leader dies mid-run
)

// AllKinds is the default --faults.
var AllKinds = []string{KindSite, KindZone, KindMember, KindDaemon, KindLeader, KindPartition, KindOneWay, KindLatency, KindWitness, KindDrain, KindMove}

// Topology is what a schedule needs to know of the lab.
type Topology struct {
	Workload []string            // workload sites, in order
	Witness  string              // "" when none
	Zones    map[string][]string // workload site → zones
	Members  []string            // database members
	Nodes    map[string][]string // zone → node names
}

// Step is one action of a schedule at an offset from the start.
type Step struct {
	At time.Duration `json:"atNs"`
	// Do is the lab command after `hadron lab`, or a hadron action the runner
	// resolves when it comes ("move", "kill-leader").
	Do     []string `json:"do"`
	Repair bool     `json:"repair,omitempty"`
	// Kills names the site the step takes down whole (or brings back, with Repair).
	Kills string `json:"kills,omitempty"`
	Kind  string `json:"kind"`
}

func (s Step) String() string { return strings.Join(s.Do, " ") }

// Schedule parameters: a fault holds for Hold, then quiet for Gap, drawn uniformly
// between the two figures; nothing starts in the last Tail of the run.
var (
	warmup           = 10 * time.Second
	holdMin, holdMax = 12 * time.Second, 25 * time.Second
	gapMin, gapMax   = 15 * time.Second, 30 * time.Second
	restartDelay     = 5 * time.Second
)

// Plan draws the schedule of a run from seed: the same seed, duration, kinds and
// topology give the same steps. Faults do not overlap: each is repaired and the
// fleet given a quiet gap before the next, so that a violation points at one fault.
func Plan(seed uint64, d time.Duration, kinds []string, top Topology) ([]Step, error) {
	for _, k := range kinds {
		if !slices.Contains(AllKinds, k) {
			return nil, fmt.Errorf("fault %q: want %s", k, strings.Join(AllKinds, ", "))
		}
	}
	if len(top.Workload) < 2 {
		return nil, fmt.Errorf("a chaos run needs two workload sites, the lab has %d", len(top.Workload))
	}
	usable := slices.DeleteFunc(slices.Clone(kinds), func(k string) bool {
		return (k == KindWitness && top.Witness == "") || (k == KindMember && len(top.Members) == 0) || (k == KindDrain && len(top.Nodes) == 0)
	})
	if len(usable) == 0 {
		return nil, fmt.Errorf("no fault of %v applies to this lab", kinds)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	between := func(a, b time.Duration) time.Duration {
		return a + time.Duration(r.Int64N(int64(b-a)+1)).Round(time.Second)
	}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	allSites := slices.Clone(top.Workload)
	if top.Witness != "" {
		allSites = append(allSites, top.Witness)
	}
	pair := func() (string, string) {
		a := pick(allSites)
		for {
			if b := pick(allSites); b != a {
				return a, b
			}
		}
	}
	var out []Step
	end := d - holdMax - 5*time.Second
	for t := warmup; t < end; {
		kind := pick(usable)
		hold := between(holdMin, holdMax)
		add := func(at time.Duration, repair bool, kills string, do ...string) {
			out = append(out, Step{At: at, Do: do, Repair: repair, Kills: kills, Kind: kind})
		}
		switch kind {
		case KindSite:
			s := pick(top.Workload)
			add(t, false, s, "fail", "site", s)
			add(t+hold, true, s, "restore", "site", s)
		case KindWitness:
			add(t, false, top.Witness, "fail", "site", top.Witness)
			add(t+hold, true, top.Witness, "restore", "site", top.Witness)
		case KindZone:
			z := pick(top.Zones[pick(top.Workload)])
			add(t, false, "", "fail", "zone", z)
			add(t+hold, true, "", "restore", "zone", z)
		case KindMember:
			m := pick(top.Members)
			add(t, false, "", "fail", "process", m, "--delay", restartDelay.String())
			add(t+restartDelay, true, "", "restarted", m)
			hold = restartDelay
		case KindDaemon:
			s := pick(allSites)
			add(t, false, "", "fail", "daemon", s)
			add(t+hold, true, "", "restore", "daemon", s)
		case KindLeader:
			add(t, false, "", "kill-leader", "--delay", restartDelay.String())
			add(t+restartDelay, true, "", "restarted", "leader")
			hold = restartDelay
		case KindPartition:
			a, b := pair()
			add(t, false, "", "link", "cut", a, b)
			add(t+hold, true, "", "link", "heal", a, b)
		case KindOneWay:
			a, b := pair()
			add(t, false, "", "link", "cut", a, b, "--one-way")
			add(t+hold, true, "", "link", "heal", a, b)
		case KindLatency:
			a, b := pair()
			ms := 150 + 50*r.IntN(8)
			add(t, false, "", "link", "latency", a, b, fmt.Sprint(ms))
			add(t+hold, true, "", "link", "latency", a, b, "35")
		case KindDrain:
			zones := make([]string, 0, len(top.Nodes))
			for z := range top.Nodes {
				zones = append(zones, z)
			}
			slices.Sort(zones)
			n := pick(top.Nodes[pick(zones)])
			add(t, false, "", "drain", "node", n)
			add(t+hold, true, "", "restore", "node", n)
		case KindMove:
			// A third of the moves lose their leader a second after the request.
			if r.IntN(3) == 0 {
				add(t, false, "", "move", "--kill-leader-after", "1s")
				add(t+time.Second+restartDelay, true, "", "restarted", "leader")
			} else {
				add(t, false, "", "move")
			}
			hold = 0
		}
		t += hold + between(gapMin, gapMax)
	}
	return out, nil
}
