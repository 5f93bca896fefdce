package gslb

import (
	"net/netip"
	"sort"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/probe"
)

// Selector picks what the main name answers, for one application in one state. It is
// built once per state version so that picking per query is a few integer operations.
//
// The pick is a variant number: for failover, weighted and geo it is the index of the
// site answered; for round-robin it is how far the healthy sites are rotated.
type Selector struct {
	strategy v1alpha1.Strategy
	// fixed is the failover choice, also geo's fallback.
	fixed int
	// schedule is the weighted order of site indexes; healthy the not-down sites.
	schedule []int
	healthy  []int
	geo      []geoRange
	nsites   int
}

type geoRange struct {
	prefix netip.Prefix
	site   int
}

// Selector builds the selector of a for state st.
func (a *App) Selector(st AppState) Selector {
	s := Selector{strategy: a.Strategy, fixed: a.failoverChoice(st), nsites: len(a.Sites)}
	for i, t := range a.Sites {
		if st.Health[t.Name] != probe.Down {
			s.healthy = append(s.healthy, i)
		}
	}
	if len(s.healthy) == 0 {
		// Every site is down by quorum: answering all beats answering nothing.
		for i := range a.Sites {
			s.healthy = append(s.healthy, i)
		}
	}
	switch a.Strategy {
	case v1alpha1.StrategyWeighted:
		s.schedule = weightedSchedule(s.healthy, a.SiteWeights(st))
	case v1alpha1.StrategyGeo:
		for _, i := range s.healthy {
			for _, p := range a.Sites[i].Subnets {
				s.geo = append(s.geo, geoRange{p, i})
			}
		}
		sort.SliceStable(s.geo, func(i, j int) bool { return s.geo[i].prefix.Bits() > s.geo[j].prefix.Bits() })
	}
	return s
}

// Variants is how many different answers the main name can have: variants are below
// the number of sites for every strategy.
func (s *Selector) Variants() int { return s.nsites }

// Pick returns the variant for a query from client (zero when unknown), the seq-th
// query the server has answered. scope is the client-subnet prefix length the answer
// depends on (EDNS Client Subnet scope), zero when it does not depend on the client.
func (s *Selector) Pick(client netip.Addr, seq uint64) (variant int, scope uint8) {
	switch s.strategy {
	case v1alpha1.StrategyWeighted:
		return s.schedule[seq%uint64(len(s.schedule))], 0
	case v1alpha1.StrategyRoundRobin:
		return int(seq % uint64(len(s.healthy))), 0
	case v1alpha1.StrategyGeo:
		if client.IsValid() {
			c := client.Unmap()
			for _, g := range s.geo {
				if g.prefix.Contains(c) {
					return g.site, uint8(g.prefix.Bits())
				}
			}
		}
	}
	return s.fixed, 0
}

// Fixed is the failover choice: the site index the main name answers by failover.
func (s *Selector) Fixed() int { return s.fixed }

// Healthy returns the indexes of the sites not down by quorum (all sites when every
// one is down), in policy order.
func (s *Selector) Healthy() []int { return append([]int(nil), s.healthy...) }

// Sites returns the site indexes a variant answers with, in answer order.
func (s *Selector) Sites(variant int) []int {
	if s.strategy != v1alpha1.StrategyRoundRobin {
		return []int{variant}
	}
	r := variant % len(s.healthy)
	return append(append([]int{}, s.healthy[r:]...), s.healthy[:r]...)
}

// SiteWeights are the weights of the sites (in a.Sites order) in state st: the
// configured ones, with the weights of the policy's active site and the current active
// site swapped after a move, so that a 100/0 pair becomes 0/100 on failover and 100/0
// again on failback (seed 003's weighted records).
func (a *App) SiteWeights(st AppState) []int32 {
	w := append([]int32(nil), a.Weights...)
	for i, t := range a.Sites {
		if i > 0 && i < len(w) && t.Name == st.Active {
			w[0], w[i] = w[i], w[0]
		}
	}
	return w
}

// ProviderWeights are the share of the main name's answers each site (in a.Sites
// order) gets in state st, for a DNS service that cannot pick per query: 100 for the
// failover choice and 0 for the others (failover); the site weights of the sites not
// down, or an equal share when they are all zero (weighted); 1 for every site not down
// (round-robin and geo, which a provider answers as round-robin).
func (a *App) ProviderWeights(st AppState) []int32 {
	sel := a.Selector(st)
	out := make([]int32, len(a.Sites))
	switch a.Strategy {
	case v1alpha1.StrategyFailover, "":
		out[sel.Fixed()] = 100
	case v1alpha1.StrategyWeighted:
		w, total := a.SiteWeights(st), int32(0)
		for _, i := range sel.healthy {
			if i < len(w) {
				out[i] = w[i]
				total += w[i]
			}
		}
		if total == 0 {
			for _, i := range sel.healthy {
				out[i] = 1
			}
		}
	default:
		for _, i := range sel.healthy {
			out[i] = 1
		}
	}
	return out
}

// failoverChoice is the active site unless the quorum says it is down; then the first
// stand-by seen up, else the first not known to be down. Unknown never moves traffic.
func (a *App) failoverChoice(st AppState) int {
	active := 0
	for i, t := range a.Sites {
		if t.Name == st.Active {
			active = i
		}
	}
	if st.Health[a.Sites[active].Name] != probe.Down {
		return active
	}
	for _, want := range []probe.Verdict{probe.Up, probe.Unknown, ""} {
		for i, t := range a.Sites {
			if i != active && st.Health[t.Name] == want {
				return i
			}
		}
	}
	return active
}

// weightedSchedule spreads sites over a cycle of sum(weights) answers, each site
// getting exactly its weight's share and as evenly spaced as possible (smooth weighted
// round-robin), so a resolver population sees the shares the operator set.
func weightedSchedule(sites []int, weights []int32) []int {
	total := int32(0)
	for _, i := range sites {
		total += weights[i]
	}
	w := make([]int32, len(sites))
	for k, i := range sites {
		w[k] = weights[i]
		if total == 0 {
			w[k] = 1 // all weights zero: share equally
		}
	}
	if total == 0 {
		total = int32(len(sites))
	}
	cur := make([]int32, len(sites))
	out := make([]int, 0, total)
	for n := int32(0); n < total; n++ {
		best := 0
		for k := range sites {
			cur[k] += w[k]
			if cur[k] > cur[best] {
				best = k
			}
		}
		cur[best] -= total
		out = append(out, sites[best])
	}
	return out
}
