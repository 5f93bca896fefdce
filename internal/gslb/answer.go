package gslb

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/probe"
)

// Query is one question, already lower-cased and fully qualified.
type Query struct {
	Name string
	Type uint16
	// Client is the address the answer is tailored to (EDNS Client Subnet, else the
	// source address); zero when unknown.
	Client netip.Addr
	// Seq numbers the queries a server answered; weighted and round-robin answers
	// rotate with it.
	Seq uint64
}

// Response is an answer without the message framing: the server sets the ID, flags
// and the question.
type Response struct {
	Rcode  int
	Answer []dns.RR
	Ns     []dns.RR
	Extra  []dns.RR
	// Scope is the EDNS Client Subnet scope prefix length of a geo answer.
	Scope uint8
}

// Answer is the whole decision: what hadron answers to q in state st.
func (c *Catalog) Answer(st *State, q Query) Response {
	z, n := c.Find(q.Name)
	if z == nil {
		return Response{Rcode: dns.RcodeRefused}
	}
	if n == nil {
		return Response{Rcode: dns.RcodeNameError, Ns: []dns.RR{c.soa(z, st, true)}}
	}
	variant, scope := 0, uint8(0)
	if n.Kind == KindMain {
		sel := n.App.Selector(st.Apps[n.App.Name])
		variant, scope = sel.Pick(q.Client, q.Seq)
		r := c.Records(z, n, q.Type, st, &sel, variant)
		r.Scope = scope
		return r
	}
	return c.Records(z, n, q.Type, st, nil, 0)
}

// Records is the answer of node n to qtype when the main name's selector picked
// variant. It is deterministic, which lets the server precompute it per state.
func (c *Catalog) Records(z *Zone, n *Node, qtype uint16, st *State, sel *Selector, variant int) Response {
	name := n.Name
	var r Response
	switch n.Kind {
	case KindApex:
		switch qtype {
		case dns.TypeSOA:
			r.Answer = []dns.RR{c.soa(z, st, false)}
		case dns.TypeNS:
			r.Answer = z.nsRRs()
			r.Extra = z.glueRRs()
		case dns.TypeANY:
			r.Answer = []dns.RR{anyHINFO(name, z.MinTTL)}
		}
	case KindNSHost:
		r.Answer = addrRRs(name, qtype, 3600, z.Glue[name])
	case KindMain:
		var sites []int
		if sel != nil {
			sites = sel.Sites(variant)
		} else {
			sites = []int{variant}
		}
		r.Answer = n.App.siteRRs(name, qtype, sites)
	case KindSite:
		r.Answer = n.App.siteRRs(name, qtype, []int{n.Site})
	case KindStatus:
		if qtype == dns.TypeTXT || qtype == dns.TypeANY {
			r.Answer = []dns.RR{n.App.statusTXT(name, st)}
		}
	}
	if len(r.Answer) == 0 {
		// NODATA: the name exists, the type does not; the SOA tells resolvers how
		// long to remember that.
		r.Ns = []dns.RR{c.soa(z, st, true)}
	}
	return r
}

// siteRRs are the records of the given sites for qtype under owner name.
func (a *App) siteRRs(name string, qtype uint16, sites []int) []dns.RR {
	first := a.Sites[sites[0]]
	if first.CNAME != "" {
		// A CNAME owns its name alone; the first site's target stands for all.
		return []dns.RR{&dns.CNAME{Hdr: hdr(name, dns.TypeCNAME, a.TTL), Target: first.CNAME}}
	}
	if qtype == dns.TypeANY {
		return []dns.RR{anyHINFO(name, a.TTL)}
	}
	var out []dns.RR
	for _, i := range sites {
		t := a.Sites[i]
		if t.CNAME != "" {
			continue
		}
		switch qtype {
		case dns.TypeA:
			out = append(out, addrRRs(name, qtype, a.TTL, t.V4)...)
		case dns.TypeAAAA:
			out = append(out, addrRRs(name, qtype, a.TTL, t.V6)...)
		}
	}
	return out
}

// statusTXT tells an operator with dig what the answers are based on.
func (a *App) statusTXT(name string, st *State) dns.RR {
	as := st.Apps[a.Name]
	sel := a.Selector(as)
	txt := []string{"app=" + a.Name, "strategy=" + string(a.Strategy), "answer=" + a.Sites[sel.fixed].Name}
	names := make([]string, 0, len(a.Sites))
	for _, s := range a.Sites {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	for _, s := range names {
		v := as.Health[s]
		if v == "" {
			v = probe.Unknown
		}
		txt = append(txt, s+"="+string(v))
	}
	return &dns.TXT{Hdr: hdr(name, dns.TypeTXT, a.TTL), Txt: txt}
}

// soa is the zone's SOA; negative answers carry it with the negative TTL (RFC 2308).
func (c *Catalog) soa(z *Zone, st *State, negative bool) dns.RR {
	ttl := uint32(3600)
	if negative {
		ttl = z.MinTTL
	}
	return &dns.SOA{Hdr: hdr(z.Origin, dns.TypeSOA, ttl), Ns: z.NS[0], Mbox: "hostmaster." + z.Origin,
		Serial: c.SerialBase + uint32(st.Version), Refresh: 3600, Retry: 600, Expire: 86400, Minttl: z.MinTTL}
}

func (z *Zone) nsRRs() []dns.RR {
	out := make([]dns.RR, 0, len(z.NS))
	for _, ns := range z.NS {
		out = append(out, &dns.NS{Hdr: hdr(z.Origin, dns.TypeNS, 3600), Ns: ns})
	}
	return out
}

func (z *Zone) glueRRs() []dns.RR {
	var out []dns.RR
	for _, ns := range z.NS {
		out = append(out, addrRRs(ns, dns.TypeA, 3600, z.Glue[ns])...)
		out = append(out, addrRRs(ns, dns.TypeAAAA, 3600, z.Glue[ns])...)
	}
	return out
}

func addrRRs(name string, qtype uint16, ttl uint32, addrs []netip.Addr) []dns.RR {
	var out []dns.RR
	for _, ip := range addrs {
		switch {
		case qtype == dns.TypeA && ip.Is4():
			out = append(out, &dns.A{Hdr: hdr(name, dns.TypeA, ttl), A: ip.AsSlice()})
		case qtype == dns.TypeAAAA && ip.Is6():
			out = append(out, &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA, ttl), AAAA: ip.AsSlice()})
		}
	}
	return out
}

// anyHINFO is the minimal answer to ANY of RFC 8482 section 4.2.
func anyHINFO(name string, ttl uint32) dns.RR {
	return &dns.HINFO{Hdr: hdr(name, dns.TypeHINFO, ttl), Cpu: "RFC8482", Os: ""}
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// String makes a Response readable in test failures.
func (r Response) String() string {
	return fmt.Sprintf("rcode=%s answer=%v ns=%v extra=%v", dns.RcodeToString[r.Rcode], r.Answer, r.Ns, r.Extra)
}
