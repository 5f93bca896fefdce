package topology

import (
	"fmt"
	"sort"
)

// Proxy is one toxiproxy listener of a cross-region link: processes in region From
// reach Upstream (in region To) by connecting to Listen.
type Proxy struct {
	Name     string `json:"name"`
	From     string `json:"from"`
	To       string `json:"to"`
	Service  string `json:"service"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
}

// Link is the pair of regions a set of proxies belongs to, named by its sites in
// config order ("east-west").
type Link struct {
	A, B string
}

func (l Link) String() string { return l.A + "-" + l.B }

// LinkOf returns the link between two sites, in config order, or a site's link to the
// object store (B is ObjectStore); ok is false when a or b is unknown or a == b.
func (c Config) LinkOf(a, b string) (Link, bool) {
	if a == ObjectStore {
		a, b = b, a
	}
	if b == ObjectStore {
		s, ok := c.Site(a)
		if !ok || !c.BackupsEnabled() || s.Index == c.ObjectStoreSite().Index {
			return Link{}, false
		}
		return Link{A: a, B: ObjectStore}, true
	}
	sa, okA := c.Site(a)
	sb, okB := c.Site(b)
	if !okA || !okB || a == b {
		return Link{}, false
	}
	if sa.Index > sb.Index {
		sa, sb = sb, sa
	}
	return Link{A: sa.Name, B: sb.Name}, true
}

// Links lists every pair of regions.
func (c Config) Links() []Link {
	var out []Link
	sites := c.Indexed()
	for i := range sites {
		for j := i + 1; j < len(sites); j++ {
			out = append(out, Link{A: sites[i].Name, B: sites[j].Name})
		}
	}
	if c.BackupsEnabled() {
		for _, s := range sites {
			if s.Index != c.ObjectStoreSite().Index {
				out = append(out, Link{A: s.Name, B: ObjectStore})
			}
		}
	}
	return out
}

// service is something a site serves to other regions.
type service struct {
	name string
	addr string
	// in is an address in the site's range that stands for addr when addr is outside
	// it (named on 127.0.0.1): the proxies listen as if the service were there.
	in string
}

func (c Config) services(s Site) []service {
	var out []service
	if c.Clustered(s) {
		out = append(out, service{name: "apiserver", addr: s.APIServer()})
	}
	if s.Workload() {
		out = append(out, service{name: "ingress", addr: s.Ingress()})
		for _, m := range c.Members() {
			if m.Site == s.Name {
				out = append(out, service{name: "postgres-" + m.Name, addr: m.Address, in: m.In})
			}
		}
	}
	out = append(out,
		service{name: "daemon-api", addr: s.DaemonAPI()},
		service{name: "etcd-peer", addr: s.EtcdPeer()},
	)
	if c.CorpDNSEnabled() && s.Index == c.CorpDNSSite().Index {
		// Updates and zone transfers (TCP); queries go direct over UDP.
		out = append(out, service{"corp-dns", c.CorpDNS(), c.corpDNSIn()})
	}
	if c.BackupsEnabled() && s.Index == c.ObjectStoreSite().Index {
		out = append(out, service{name: ObjectStore, addr: c.ObjectStoreAddr()})
	}
	return out
}

// Proxies lists every proxy of every link, sorted by name.
func (c Config) Proxies() ([]Proxy, error) {
	var out []Proxy
	sites := c.Indexed()
	for _, to := range sites {
		for _, svc := range c.services(to) {
			for _, from := range sites {
				if from.Index == to.Index {
					continue
				}
				in := svc.addr
				if svc.in != "" {
					in = svc.in
				}
				listen, err := Via(from.Index, to.Index, in)
				if err != nil {
					return nil, fmt.Errorf("proxy %s from %s: %w", svc.name, from.Name, err)
				}
				out = append(out, Proxy{
					Name:     fmt.Sprintf("%s>%s/%s", from.Name, to.Name, svc.name),
					From:     from.Name,
					To:       to.Name,
					Service:  svc.name,
					Listen:   listen,
					Upstream: svc.addr,
				})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// OnLink says whether p carries traffic of link l. A proxy to the object store is on
// two links: its region's link to the store's region, and its region's own link to
// the store.
func (p Proxy) OnLink(l Link) bool {
	if l.B == ObjectStore {
		return p.Service == ObjectStore && p.From == l.A
	}
	return (p.From == l.A && p.To == l.B) || (p.From == l.B && p.To == l.A)
}
