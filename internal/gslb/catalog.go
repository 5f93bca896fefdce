package gslb

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/probe"
)

// Catalog is the fleet's GSLB zones compiled for answering. It is read-only after
// Compile and safe to share.
type Catalog struct {
	// Zones are ordered longest origin first, so the first match is the closest zone.
	Zones []*Zone
	Apps  []*App
	// SerialBase is added to the state version to make the SOA serial.
	SerialBase uint32
}

// Zone is one authoritative zone.
type Zone struct {
	// Origin is the zone's apex, lower case and fully qualified.
	Origin string
	// NS are the zone's name servers (fully qualified); Glue their addresses.
	NS   []string
	Glue map[string][]netip.Addr
	// MinTTL is the SOA minimum: the negative-answer TTL.
	MinTTL uint32
	// Names are every name that exists in the zone, including empty non-terminals.
	Names map[string]*Node
}

// NodeKind says what a name in a zone stands for.
type NodeKind int

const (
	KindEmpty  NodeKind = iota // an empty non-terminal: exists, no records
	KindApex                   // the zone apex: SOA and NS
	KindNSHost                 // a name server's address records
	KindMain                   // an application's main name, answered by strategy
	KindSite                   // a per-site name, always that site
	KindStatus                 // _status.<main>: TXT with the application's state
)

// Node is one name of a zone.
type Node struct {
	Name string
	Kind NodeKind
	App  *App
	// Site indexes App.Sites for KindSite.
	Site int
}

// App is an application's DNS view.
type App struct {
	Name     string
	Zone     *Zone
	Main     string
	TTL      uint32
	Strategy v1alpha1.Strategy
	// Sites are in policy order: the configured active site first.
	Sites   []SiteTarget
	Weights []int32
}

// SiteTarget is what a site answers with.
type SiteTarget struct {
	Name, Region string
	V4, V6       []netip.Addr
	// CNAME is set when the site's load balancer is reached by a host name.
	CNAME   string
	Subnets []netip.Prefix
}

// CompileOption changes what Compile builds.
type CompileOption func(*compileOptions)

type compileOptions struct{ statusTXT bool }

// WithStatusTXT adds the _status.<main name> TXT record of every application (its
// strategy, the site answered and each site's verdict). It is off by default: it
// tells anyone who asks which sites are down, which helps an attacker time an attack
// and helps nobody who can already call the API.
func WithStatusTXT() CompileOption { return func(o *compileOptions) { o.statusTXT = true } }

// Compile builds the catalog of every application with spec.dns.
func Compile(f *fleet.Fleet, opts ...CompileOption) (*Catalog, error) {
	var o compileOptions
	for _, opt := range opts {
		opt(&o)
	}
	c := &Catalog{}
	zones := map[string]*Zone{}
	for _, a := range f.Applications {
		d := a.Spec.DNS
		if d == nil {
			continue
		}
		origin := canon(d.Zone)
		z := zones[origin]
		if z == nil {
			z = newZone(f, origin)
			zones[origin] = z
			c.Zones = append(c.Zones, z)
		}
		app, err := compileApp(f, a, z, o)
		if err != nil {
			return nil, fmt.Errorf("application %s: %w", a.Name, err)
		}
		c.Apps = append(c.Apps, app)
	}
	if len(c.Zones) == 0 {
		return nil, ErrNoDNS
	}
	sort.Slice(c.Zones, func(i, j int) bool { return len(c.Zones[i].Origin) > len(c.Zones[j].Origin) })
	return c, nil
}

func newZone(f *fleet.Fleet, origin string) *Zone {
	z := &Zone{Origin: origin, Glue: map[string][]netip.Addr{}, MinTTL: DefaultTTL, Names: map[string]*Node{}}
	z.add(origin, &Node{Kind: KindApex})
	for _, s := range f.Sites {
		if s.Spec.Daemon == nil || s.Spec.Daemon.DNS == nil {
			continue
		}
		ns := "ns-" + strings.ToLower(s.Name) + "." + origin
		z.NS = append(z.NS, ns)
		if ip, err := netip.ParseAddr(hostOf(s.Spec.Daemon.DNS.Address)); err == nil {
			z.Glue[ns] = append(z.Glue[ns], ip.Unmap())
			z.add(ns, &Node{Kind: KindNSHost})
		}
	}
	if len(z.NS) == 0 {
		// Without daemons in the fleet (standalone use) the zone still needs an NS set.
		z.NS = []string{"ns." + origin}
	}
	return z
}

func compileApp(f *fleet.Fleet, a *v1alpha1.Application, z *Zone, o compileOptions) (*App, error) {
	d := a.Spec.DNS
	app := &App{Name: a.Name, Zone: z, Main: canon(d.Name), TTL: TTLOf(d), Strategy: StrategyOf(d)}
	if !dns.IsSubDomain(z.Origin, app.Main) {
		return nil, fmt.Errorf("dns.name %s: %w %s", d.Name, ErrNameOutsideZone, d.Zone)
	}
	z.MinTTL = min(z.MinTTL, app.TTL)
	z.add(app.Main, &Node{Kind: KindMain, App: app})
	if o.statusTXT {
		z.add("_status."+app.Main, &Node{Kind: KindStatus, App: app})
	}
	for i, name := range probe.AppSites(a) {
		s := f.Site(name)
		if s == nil {
			return nil, fmt.Errorf("site %q: %w", name, ErrUnknownSite)
		}
		t, err := siteTarget(s)
		if err != nil {
			return nil, err
		}
		app.Sites = append(app.Sites, t)
		w := int32(1)
		if v, ok := d.Weights[name]; ok {
			w = max(v, 0)
		}
		app.Weights = append(app.Weights, w)
		siteName := strings.ToLower(name) + "." + app.Main
		if n, ok := d.SiteNames[name]; ok && n != "" {
			siteName = canon(n)
		}
		if !dns.IsSubDomain(z.Origin, siteName) {
			return nil, fmt.Errorf("dns.siteNames[%s] %s: %w %s", name, siteName, ErrNameOutsideZone, d.Zone)
		}
		z.add(siteName, &Node{Kind: KindSite, App: app, Site: i})
	}
	return app, nil
}

func siteTarget(s *v1alpha1.Site) (SiteTarget, error) {
	t := SiteTarget{Name: s.Name, Region: s.Spec.Region}
	for _, lb := range s.Spec.LoadBalancers {
		host := hostOf(lb.Address)
		if host == "" {
			return t, fmt.Errorf("site %s: loadBalancers address %q: %w", s.Name, lb.Address, ErrBadAddress)
		}
		ip, err := netip.ParseAddr(host)
		switch {
		case err == nil && ip.Unmap().Is4():
			t.V4 = append(t.V4, ip.Unmap())
		case err == nil:
			t.V6 = append(t.V6, ip)
		case t.CNAME == "":
			// A load balancer known by name (a cloud LB) is answered with a CNAME;
			// a name can carry only one, so later named ones are left out.
			t.CNAME = canon(host)
		}
	}
	for _, c := range s.Spec.ClientSubnets {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return t, fmt.Errorf("site %s: clientSubnets %q: %w", s.Name, c, err)
		}
		t.Subnets = append(t.Subnets, p.Masked())
	}
	return t, nil
}

// add registers name and every ancestor below the origin as an empty non-terminal.
func (z *Zone) add(name string, n *Node) {
	n.Name = name
	if old, ok := z.Names[name]; !ok || old.Kind == KindEmpty {
		z.Names[name] = n
	}
	for p := parent(name); p != "" && p != z.Origin && dns.IsSubDomain(z.Origin, p); p = parent(p) {
		if _, ok := z.Names[p]; !ok {
			z.Names[p] = &Node{Name: p, Kind: KindEmpty}
		}
	}
}

// Find returns the zone a name belongs to and its node (nil when the name does not
// exist in that zone). A nil zone means the name is outside every zone.
func (c *Catalog) Find(name string) (*Zone, *Node) {
	for _, z := range c.Zones {
		if dns.IsSubDomain(z.Origin, name) {
			return z, z.Names[name]
		}
	}
	return nil, nil
}

// Zone returns the zone with the given origin, or nil.
func (c *Catalog) Zone(origin string) *Zone {
	origin = canon(origin)
	for _, z := range c.Zones {
		if z.Origin == origin {
			return z
		}
	}
	return nil
}

func parent(name string) string {
	i := strings.IndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return ""
	}
	return name[i+1:]
}

func canon(name string) string { return strings.ToLower(dns.Fqdn(name)) }

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return strings.Trim(addr, "[]")
}
