package fleet

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"hadron.dev/hadron/api/v1alpha1"
)

func (c *checker) application(a *v1alpha1.Application) {
	d := c.doc(a, v1alpha1.KindApplication, a.Name)
	spec := a.Spec
	if d.required("spec.namespace", spec.Namespace) {
		if msgs := validation.IsDNS1123Label(spec.Namespace); len(msgs) > 0 {
			d.bad("spec.namespace", "%q is not a valid namespace: %s", spec.Namespace, msgs[0])
		}
	}
	if spec.Selector != nil {
		if _, err := metav1.LabelSelectorAsSelector(spec.Selector); err != nil {
			d.bad("spec.selector", "%v", err)
		}
	}
	appSites := c.policy(d, &spec.Policy)
	if spec.DNS != nil {
		c.dns(d, spec.DNS, appSites)
	}
	if spec.Health != nil {
		health(d, spec.Health)
	}
	c.data(d, a, appSites)
	if spec.Replication != nil {
		c.objectReplication(d, spec.Replication)
	}
}

// objectReplication checks the references and patterns of spec.replication; what the
// rules do to objects is the replicate package's business.
func (c *checker) objectReplication(d doc, r *v1alpha1.ObjectReplication) {
	for i, rule := range r.Rules {
		path := fmt.Sprintf("spec.replication.rules[%d]", i)
		for j, s := range rule.Sites {
			d.siteRef(fmt.Sprintf("%s.sites[%d]", path, j), s)
		}
		if rule.Name != "" {
			if _, err := regexp.Compile(rule.Name); err != nil {
				d.bad(path+".name", "not a regular expression: %v", err)
			}
		}
	}
	for i, e := range r.Exports {
		path := fmt.Sprintf("spec.replication.exports[%d]", i)
		d.required(path+".service", e.Service)
		for _, s := range sortedKeys(e.Endpoints) {
			p := fmt.Sprintf("%s.endpoints[%s]", path, s)
			d.siteRef(p, s)
			d.endpoint(p, e.Endpoints[s])
		}
	}
	if w := r.CertificateWindow; w != nil && w.Duration < 0 {
		d.bad("spec.replication.certificateWindow", "must not be negative")
	}
}

// policy checks spec.policy and returns the application's sites that exist (active
// first), for the checks that refer to them.
func (c *checker) policy(d doc, p *v1alpha1.Policy) []string {
	if d.required("spec.policy.mode", string(p.Mode)) {
		oneOf(d, "spec.policy.mode", p.Mode, v1alpha1.ModeActivePassive, v1alpha1.ModeActiveActive)
	}
	oneOf(d, "spec.policy.standby", p.Standby, v1alpha1.StandbyCold, v1alpha1.StandbyPilotLight, v1alpha1.StandbyWarm)
	var sites []string
	if d.workloadSiteRef("spec.policy.activeSite", p.ActiveSite) != nil {
		sites = append(sites, p.ActiveSite)
	}
	seen := map[string]bool{}
	for i, s := range p.StandbySites {
		path := fmt.Sprintf("spec.policy.standbySites[%d]", i)
		switch {
		case s != "" && s == p.ActiveSite:
			d.bad(path, "site %q is the active site; it cannot also stand by", s)
		case seen[s]:
			d.bad(path, "site %q is listed twice", s)
		case d.workloadSiteRef(path, s) != nil:
			sites = append(sites, s)
		}
		seen[s] = true
	}
	if p.RPO != nil && p.RPO.Duration < 0 {
		d.bad("spec.policy.rpo", "must not be negative")
	}
	if af := p.AutomaticFailover; af != nil {
		if af.Threshold != nil && af.Threshold.Duration <= 0 {
			d.bad("spec.policy.automaticFailover.threshold", "must be positive")
		}
		if af.MinInterval != nil && af.MinInterval.Duration < 0 {
			d.bad("spec.policy.automaticFailover.minInterval", "must not be negative")
		}
		if af.Enabled {
			if len(p.StandbySites) == 0 {
				d.bad("spec.policy.automaticFailover.enabled", "automatic failover needs a site to fail over to (spec.policy.standbySites)")
			}
			if v := c.votingSites(); len(v) < 3 {
				hint := ""
				if !c.hasWitness() {
					hint = "; two workload sites need a witness site"
				}
				d.bad("spec.policy.automaticFailover.enabled", "automatic failover needs at least three voting sites (sites with spec.daemon) so that a majority survives losing one; found %d%s%s", len(v), listed(v), hint)
			}
		}
	}
	for i, cp := range p.Capacity {
		path := fmt.Sprintf("spec.policy.capacity[%d]", i)
		d.required(path+".kind", cp.Kind)
		d.required(path+".namespace", cp.Namespace)
		d.required(path+".name", cp.Name)
		if cp.Replicas < 1 {
			d.bad(path+".replicas", "must be at least 1")
		}
	}
	return sites
}

func listed(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

func (c *checker) dns(d doc, n *v1alpha1.DNS, appSites []string) {
	zone := canonName(n.Zone)
	zoneOK := d.required("spec.dns.zone", n.Zone) && d.dnsName("spec.dns.zone", n.Zone)
	if d.required("spec.dns.name", n.Name) && d.dnsName("spec.dns.name", n.Name) && zoneOK && !inZone(n.Name, zone) {
		d.bad("spec.dns.name", "%q is not inside the zone %q", n.Name, n.Zone)
	}
	if n.TTL != nil && (*n.TTL < MinTTL || *n.TTL > MaxTTL) {
		d.bad("spec.dns.ttl", "%d is out of range (%d to %d seconds)", *n.TTL, MinTTL, MaxTTL)
	}
	oneOf(d, "spec.dns.strategy", n.Strategy, v1alpha1.StrategyFailover, v1alpha1.StrategyWeighted, v1alpha1.StrategyRoundRobin, v1alpha1.StrategyGeo)
	if q := n.VerifyQuorum; q != nil {
		servers := c.nameServers()
		switch {
		case *q < 1:
			d.bad("spec.dns.verifyQuorum", "must be at least 1")
		case int(*q) > len(servers):
			d.bad("spec.dns.verifyQuorum", "%d is more than the fleet's %d name servers (sites with spec.daemon.dns)%s", *q, len(servers), listed(servers))
		}
	}
	for _, s := range sortedKeys(n.SiteNames) {
		path := fmt.Sprintf("spec.dns.siteNames[%s]", s)
		c.appSiteKey(d, path, s, appSites)
		name := n.SiteNames[s]
		if d.required(path, name) && d.dnsName(path, name) && zoneOK && !inZone(name, zone) {
			d.bad(path, "%q is not inside the zone %q", name, n.Zone)
		}
	}
	for _, s := range sortedKeys(n.Weights) {
		path := fmt.Sprintf("spec.dns.weights[%s]", s)
		c.appSiteKey(d, path, s, appSites)
		if n.Weights[s] < 0 {
			d.bad(path, "weight %d must not be negative", n.Weights[s])
		}
	}
	switch n.Strategy {
	case v1alpha1.StrategyWeighted:
		total := int64(0)
		for _, s := range appSites {
			w, ok := n.Weights[s]
			if !ok {
				w = 1 // a site without a weight gets 1, as the DNS answers do
			}
			total += int64(max(w, 0))
		}
		if total == 0 && len(appSites) > 0 {
			d.bad("spec.dns.weights", "every site has weight 0: at least one must be positive")
		}
	case v1alpha1.StrategyGeo:
		ok := false
		for _, s := range appSites {
			ok = ok || len(c.sites[s].Spec.ClientSubnets) > 0
		}
		if !ok && len(appSites) > 0 {
			d.bad("spec.dns.strategy", "strategy geo needs spec.clientSubnets on at least one of the application's sites%s", listed(appSites))
		}
	}
	if len(n.Weights) > 0 && n.Strategy != v1alpha1.StrategyWeighted {
		d.bad("spec.dns.weights", "weights are only used with strategy weighted")
	}
}

// appSiteKey checks a map key that must name one of the application's sites.
func (c *checker) appSiteKey(d doc, path, s string, appSites []string) {
	if c.sites[s] == nil {
		d.bad(path, "site %q is not defined%s", s, didYouMean(s, c.siteNames))
		return
	}
	for _, a := range appSites {
		if a == s {
			return
		}
	}
	d.bad(path, "site %q is not one of the application's sites%s", s, listed(appSites))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dnsName checks that name is a syntactically valid DNS name.
func (d doc) dnsName(path, name string) bool {
	n := canonName(name)
	if msgs := validation.IsDNS1123Subdomain(strings.ReplaceAll(n, "_", "x")); len(msgs) > 0 {
		d.bad(path, "%q is not a valid DNS name: %s", name, msgs[0])
		return false
	}
	return true
}

func canonName(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

// inZone says whether name is the zone's apex or below it.
func inZone(name, zone string) bool {
	n := canonName(name)
	return n == zone || strings.HasSuffix(n, "."+zone)
}

func health(d doc, h *v1alpha1.Health) {
	oneOf(d, "spec.health.type", h.Type, v1alpha1.ProbeHTTP, v1alpha1.ProbeHTTPS, v1alpha1.ProbeTCP, v1alpha1.ProbeDNS)
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		d.bad("spec.health.path", "%q must start with /", h.Path)
	}
	if h.Port < 0 || h.Port > 65535 {
		d.bad("spec.health.port", "%d is not a port (1 to 65535; leave out to use the load balancer's)", h.Port)
	}
	for i, s := range h.ExpectStatus {
		if s < 100 || s > 599 {
			d.bad(fmt.Sprintf("spec.health.expectStatus[%d]", i), "%d is not an HTTP status code", s)
		}
	}
	if h.BodyMatch != "" {
		if _, err := regexp.Compile(h.BodyMatch); err != nil {
			d.bad("spec.health.bodyMatch", "not a regular expression: %v", err)
		}
	}
	interval, timeout := DefaultInterval, DefaultTimeout
	if h.Interval != nil {
		interval = h.Interval.Duration
		if interval < MinInterval || interval > MaxInterval {
			d.bad("spec.health.interval", "%s is out of range (%s to %s)", interval, MinInterval, MaxInterval)
		}
	}
	if h.Timeout != nil {
		timeout = h.Timeout.Duration
		if timeout <= 0 {
			d.bad("spec.health.timeout", "must be positive")
		}
	}
	if timeout > interval && timeout > 0 && (h.Interval != nil || h.Timeout != nil) {
		d.bad("spec.health.timeout", "%s is longer than the interval %s: a probe must finish before the next starts", timeout, interval)
	}
	for _, rf := range []struct {
		path string
		v    int32
	}{{"spec.health.rise", h.Rise}, {"spec.health.fall", h.Fall}} {
		if rf.v < 0 || rf.v > MaxRiseFall {
			d.bad(rf.path, "%d is out of range (1 to %d)", rf.v, MaxRiseFall)
		}
	}
}
