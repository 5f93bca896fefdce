package gslb

import (
	"io"
	"sort"

	"github.com/miekg/dns"
)

// ZoneRecords returns the zone z as it answers in state st: every record of
// every name, main names with the answer of the first query (weighted and
// round-robin answers rotate from there). It is what `hadron dns zone` prints, and
// what the benchmark loads into other servers so that all answer alike.
func (c *Catalog) ZoneRecords(z *Zone, st *State) []dns.RR {
	names := make([]string, 0, len(z.Names))
	for n := range z.Names {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return less(names[i], names[j]) })
	var out []dns.RR
	seen := map[string]bool{}
	for _, n := range names {
		for _, t := range []uint16{dns.TypeSOA, dns.TypeNS, dns.TypeCNAME, dns.TypeA, dns.TypeAAAA, dns.TypeTXT} {
			r := c.Answer(st, Query{Name: n, Type: t})
			for _, rr := range r.Answer {
				if s := rr.String(); !seen[s] && rr.Header().Name == n {
					seen[s] = true
					out = append(out, rr)
				}
			}
		}
	}
	return out
}

// less orders names apex first, then by reversed labels, as zone files usually are.
func less(a, b string) bool {
	la, lb := dns.SplitDomainName(a), dns.SplitDomainName(b)
	for i, j := len(la)-1, len(lb)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if la[i] != lb[j] {
			return la[i] < lb[j]
		}
	}
	return len(la) < len(lb)
}

// WriteZone writes records in zone-file format.
func WriteZone(w io.Writer, origin string, rrs []dns.RR) error {
	if _, err := io.WriteString(w, "$ORIGIN "+origin+"\n"); err != nil {
		return err
	}
	for _, rr := range rrs {
		if _, err := io.WriteString(w, rr.String()+"\n"); err != nil {
			return err
		}
	}
	return nil
}
