package fleet

import (
	"fmt"
	"net/netip"

	"hadron.dev/hadron/api/v1alpha1"
)

func (c *checker) site(s *v1alpha1.Site) {
	d := c.doc(s, v1alpha1.KindSite, s.Name)
	spec := s.Spec
	d.required("spec.region", spec.Region)
	oneOf(d, "spec.role", spec.Role, v1alpha1.SiteRoleWorkload, v1alpha1.SiteRoleWitness)
	seen := map[string]bool{}
	for i, z := range spec.Zones {
		p := fmt.Sprintf("spec.zones[%d]", i)
		switch {
		case z == "":
			d.bad(p, "must not be empty")
		case seen[z]:
			d.bad(p, "zone %q is listed twice", z)
		}
		seen[z] = true
	}
	for i, lb := range spec.LoadBalancers {
		d.endpoint(fmt.Sprintf("spec.loadBalancers[%d]", i), lb)
	}
	for i, cidr := range spec.ClientSubnets {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			d.bad(fmt.Sprintf("spec.clientSubnets[%d]", i), "%q is not a CIDR (for example 10.1.0.0/16)", cidr)
		}
	}
	if dm := spec.Daemon; dm != nil {
		d.endpoint("spec.daemon.api", dm.API)
		if dm.Peer != nil {
			d.endpoint("spec.daemon.peer", *dm.Peer)
		}
		if dm.DNS != nil {
			d.endpoint("spec.daemon.dns", *dm.DNS)
		}
	}
	if spec.Role == v1alpha1.SiteRoleWitness {
		if spec.Daemon == nil {
			d.bad("spec.daemon", "required for a witness: voting is its only job")
		}
		if len(spec.LoadBalancers) > 0 {
			d.bad("spec.loadBalancers", "a witness runs no workloads, so it has no load balancers")
		}
	}
}

// votingSites are the sites that run a daemon, hence an etcd member that votes.
func (c *checker) votingSites() []string {
	var out []string
	for _, name := range c.siteNames {
		if c.sites[name].Spec.Daemon != nil {
			out = append(out, name)
		}
	}
	return out
}

// nameServers are the sites whose daemon serves the GSLB zones (spec.daemon.dns).
func (c *checker) nameServers() []string {
	var out []string
	for _, name := range c.siteNames {
		if d := c.sites[name].Spec.Daemon; d != nil && d.DNS != nil {
			out = append(out, name)
		}
	}
	return out
}

func (c *checker) hasWitness() bool {
	for _, name := range c.siteNames {
		if c.sites[name].Spec.Role == v1alpha1.SiteRoleWitness {
			return true
		}
	}
	return false
}
