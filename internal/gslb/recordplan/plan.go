// Package recordplan computes what hadron must change in a DNS zone it does not own
// outright: the records it wants (Desired), the records there now with who owns them,
// and the pure Plan between the two. Providers (rfc2136, dnsendpoint) read the current
// records and apply plans; they never decide.
//
// Ownership: every record set hadron writes has an ownership record beside it that
// names the writer (an owner id per site). A record set without one, or with another
// owner's, is never changed or deleted; a wanted record that collides with it is
// reported as a conflict instead.
package recordplan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"hadron.dev/hadron/internal/gslb"
)

// Record is one record set: a name, a type and its values.
type Record struct {
	// Name is lower case and fully qualified.
	Name string
	// Type is A, AAAA or CNAME.
	Type string
	TTL  uint32
	// Targets are the values, sorted.
	Targets []string
	// SetID and Weight make the set one of several weighted sets of one name (for
	// external-dns providers that route by weight); empty for a plain set.
	SetID  string
	Weight int32
}

func (r Record) key() string { return r.Name + " " + r.Type }

func (r Record) String() string {
	s := fmt.Sprintf("%s %d %s %s", r.Name, r.TTL, r.Type, strings.Join(r.Targets, ","))
	if r.SetID != "" {
		s += fmt.Sprintf(" (set %s, weight %d)", r.SetID, r.Weight)
	}
	return s
}

func (r Record) same(o Record) bool {
	return r.TTL == o.TTL && slices.Equal(r.Targets, o.Targets)
}

// Existing is a record set found in the zone and who owns it ("" when nobody hadron
// knows: a record someone else wrote).
type Existing struct {
	Record
	Owner string
}

// Action is what a change does.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Change is one record set to write or remove. Old is set for Update and Delete.
type Change struct {
	Action Action
	Record Record
	Old    *Record
}

// Conflict is a wanted record set that exists and is not ours.
type Conflict struct {
	Want  Record
	Owner string
}

// Plan is the changes that bring the zone to the desired records.
type Plan struct {
	Owner     string
	Changes   []Change
	Conflicts []Conflict
}

// Empty reports whether applying p would change nothing.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }

// String prints a plan the way --dry-run shows it.
func (p Plan) String() string {
	var b strings.Builder
	if p.Empty() {
		b.WriteString("no changes\n")
	}
	for _, c := range p.Changes {
		switch c.Action {
		case Update:
			fmt.Fprintf(&b, "~ %s (was %s)\n", c.Record, strings.Join(c.Old.Targets, ","))
		case Delete:
			fmt.Fprintf(&b, "- %s\n", *c.Old)
		default:
			fmt.Fprintf(&b, "+ %s\n", c.Record)
		}
	}
	for _, c := range p.Conflicts {
		owner := c.Owner
		if owner == "" {
			owner = "nobody hadron knows"
		}
		fmt.Fprintf(&b, "! %s %s exists, owned by %s: left alone\n", c.Want.Name, c.Want.Type, owner)
	}
	return b.String()
}

// Make compares the zone's current record sets with the desired ones for owner.
func Make(owner string, current []Existing, desired []Record) Plan {
	p := Plan{Owner: owner}
	have := map[string]Existing{}
	for _, e := range current {
		have[e.key()] = e
	}
	want := map[string]bool{}
	for _, d := range desired {
		want[d.key()] = true
		e, ok := have[d.key()]
		switch {
		case !ok:
			p.Changes = append(p.Changes, Change{Action: Create, Record: d})
		case e.Owner != owner:
			p.Conflicts = append(p.Conflicts, Conflict{Want: d, Owner: e.Owner})
		case !e.same(d):
			old := e.Record
			p.Changes = append(p.Changes, Change{Action: Update, Record: d, Old: &old})
		}
	}
	for _, e := range current {
		if e.Owner == owner && !want[e.key()] {
			old := e.Record
			p.Changes = append(p.Changes, Change{Action: Delete, Record: old, Old: &old})
		}
	}
	sort.SliceStable(p.Changes, func(i, j int) bool { return p.Changes[i].Record.key() < p.Changes[j].Record.key() })
	return p
}

// Desired returns the record sets of every application name inside zone, answered
// from st (see AppRecords).
func Desired(cat *gslb.Catalog, st *gslb.State, zone string) []Record {
	zone = strings.ToLower(dns.Fqdn(zone))
	var out []Record
	for _, a := range cat.Apps {
		for _, r := range AppRecords(cat, st, a) {
			if dns.IsSubDomain(zone, r.Name) {
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// AppRecords returns an application's record sets in state st: the main name with the
// sites that get its traffic (a provider cannot pick per query: every site with a
// provider weight above zero, gslb.App.ProviderWeights) and the per-site names with
// their site.
func AppRecords(cat *gslb.Catalog, st *gslb.State, a *gslb.App) []Record {
	var main []int
	for i, w := range a.ProviderWeights(st.Apps[a.Name]) {
		if w > 0 {
			main = append(main, i)
		}
	}
	out := records(a, a.Main, main)
	out = append(out, siteNames(cat, a)...)
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// WeightedRecords returns an application's record sets in state st for providers that
// route by weight: the main name as one set per site (SetID the site) with its
// provider weight, zero for a site that gets no traffic, and the per-site names.
func WeightedRecords(cat *gslb.Catalog, st *gslb.State, a *gslb.App) []Record {
	var out []Record
	for i, w := range a.ProviderWeights(st.Apps[a.Name]) {
		for _, r := range records(a, a.Main, []int{i}) {
			r.SetID, r.Weight = a.Sites[i].Name, w
			out = append(out, r)
		}
	}
	return append(out, siteNames(cat, a)...)
}

func siteNames(cat *gslb.Catalog, a *gslb.App) []Record {
	var out []Record
	for _, z := range cat.Zones {
		for name, n := range z.Names {
			if n.Kind == gslb.KindSite && n.App == a {
				out = append(out, records(a, name, []int{n.Site})...)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

func records(a *gslb.App, name string, sites []int) []Record {
	if c := a.Sites[sites[0]].CNAME; c != "" {
		return []Record{{Name: name, Type: "CNAME", TTL: a.TTL, Targets: []string{c}}}
	}
	v4 := Record{Name: name, Type: "A", TTL: a.TTL}
	v6 := Record{Name: name, Type: "AAAA", TTL: a.TTL}
	for _, i := range sites {
		for _, ip := range a.Sites[i].V4 {
			v4.Targets = append(v4.Targets, ip.String())
		}
		for _, ip := range a.Sites[i].V6 {
			v6.Targets = append(v6.Targets, ip.String())
		}
	}
	var out []Record
	for _, r := range []Record{v4, v6} {
		if len(r.Targets) > 0 {
			sort.Strings(r.Targets)
			r.Targets = slices.Compact(r.Targets)
			out = append(out, r)
		}
	}
	return out
}
