package gslb

import "hadron.dev/hadron/api/v1alpha1"

// DefaultTTL is the TTL of answers when an application does not set one: short, so
// that resolvers follow a failover within seconds.
const DefaultTTL = 10

// TTLOf returns the TTL of an application's answers.
func TTLOf(d *v1alpha1.DNS) uint32 {
	if d == nil || d.TTL == nil || *d.TTL <= 0 {
		return DefaultTTL
	}
	return uint32(*d.TTL)
}

// StrategyOf returns how the main name picks sites (default failover).
func StrategyOf(d *v1alpha1.DNS) v1alpha1.Strategy {
	if d == nil || d.Strategy == "" {
		return v1alpha1.StrategyFailover
	}
	return d.Strategy
}
