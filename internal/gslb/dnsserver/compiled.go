package dnsserver

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb"
)

// ednsSize is the UDP payload size hadron advertises: the DNS flag day 2020 value,
// which avoids IP fragmentation on common paths.
const ednsSize = 1232

// typeSlots are the query types with their own precomputed answers; every other type
// shares the last slot (NODATA, or the CNAME of a site known by name).
var typeSlots = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeTXT, dns.TypeSOA, dns.TypeNS, dns.TypeANY, dns.TypeNULL}

const otherSlot = 7

func slotOf(qtype uint16) int {
	switch qtype {
	case dns.TypeA:
		return 0
	case dns.TypeAAAA:
		return 1
	case dns.TypeCNAME:
		return 2
	case dns.TypeTXT:
		return 3
	case dns.TypeSOA:
		return 4
	case dns.TypeNS:
		return 5
	case dns.TypeANY:
		return 6
	}
	return otherSlot
}

// compiled is every answer of one state version as wire-format messages, so the hot
// path copies bytes instead of building and packing messages. It is immutable.
type compiled struct {
	cat     *gslb.Catalog
	st      gslb.State
	version uint64
	// names maps a lower-case wire-format name to its answers.
	names map[string]*entry
	// zones maps a lower-case wire-format origin to its negative answer.
	zones map[string]*negative
}

type entry struct {
	// sel is set for a main name: it picks the variant.
	sel   *gslb.Selector
	slots [len8][]wire // [type slot][variant]
}

const len8 = 8

// wire is one response message with the question of the lower-case name; the server
// patches the ID, the RD and CD bits and the question's spelling.
type wire struct {
	plain []byte // without EDNS
	edns  []byte // with an OPT record, last
}

// negative is a zone's NXDOMAIN answer for a placeholder name, packed without
// compression so that its header and the part after the question (from q on) fit any
// question.
type negative struct {
	plain, edns []byte
	q           int
}

func compile(cat *gslb.Catalog, st gslb.State) (*compiled, error) {
	c := &compiled{cat: cat, st: st, version: st.Version, names: map[string]*entry{}, zones: map[string]*negative{}}
	for _, z := range cat.Zones {
		for name, n := range z.Names {
			e := &entry{}
			variants := 1
			if n.Kind == gslb.KindMain {
				sel := n.App.Selector(st.Apps[n.App.Name])
				e.sel = &sel
				variants = sel.Variants()
			}
			for slot, qtype := range typeSlots {
				e.slots[slot] = make([]wire, variants)
				for v := range variants {
					r := cat.Records(z, n, qtype, &st, e.sel, v)
					w, err := packWire(name, qtype, r)
					if err != nil {
						return nil, fmt.Errorf("precompute %s %s: %w", name, dns.TypeToString[qtype], err)
					}
					e.slots[slot][v] = w
				}
			}
			c.names[wireName(name)] = e
		}
		neg, err := packNegative(cat, z, &st)
		if err != nil {
			return nil, err
		}
		c.zones[wireName(z.Origin)] = neg
	}
	return c, nil
}

// respond builds the reply message of r in the server's usual shape.
func respond(qname string, qtype uint16, r gslb.Response) *dns.Msg {
	m := new(dns.Msg)
	m.Response = true
	m.Authoritative = r.Rcode != dns.RcodeRefused
	m.Rcode = r.Rcode
	m.Question = []dns.Question{{Name: qname, Qtype: qtype, Qclass: dns.ClassINET}}
	m.Answer, m.Ns, m.Extra = r.Answer, r.Ns, r.Extra
	return m
}

func packWire(name string, qtype uint16, r gslb.Response) (wire, error) {
	m := respond(name, qtype, r)
	m.Compress = true
	plain, err := m.Pack()
	if err != nil {
		return wire{}, err
	}
	m.SetEdns0(ednsSize, false)
	edns, err := m.Pack()
	if err != nil {
		return wire{}, err
	}
	return wire{plain: plain, edns: edns}, nil
}

func packNegative(cat *gslb.Catalog, z *gslb.Zone, st *gslb.State) (*negative, error) {
	// An NXDOMAIN for a placeholder name; the bytes after its question are the tail.
	probe := "nxdomain-placeholder." + z.Origin
	r := cat.Answer(st, gslb.Query{Name: probe, Type: dns.TypeA})
	m := respond(probe, dns.TypeA, r)
	m.Compress = false
	q := 12 + len(wireName(probe)) + 4
	plain, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("precompute NXDOMAIN of %s: %w", z.Origin, err)
	}
	m.SetEdns0(ednsSize, false)
	edns, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("precompute NXDOMAIN of %s: %w", z.Origin, err)
	}
	return &negative{plain: plain, edns: edns, q: q}, nil
}

// wireName is the uncompressed wire form of a lower-case fully qualified name.
func wireName(name string) string {
	var b strings.Builder
	if name != "." {
		for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
			b.WriteByte(byte(len(l)))
			b.WriteString(l)
		}
	}
	b.WriteByte(0)
	return b.String()
}
