// Package dnsendpoint writes hadron's records as external-dns DNSEndpoint objects
// (externaldns.k8s.io/v1alpha1) on a site, so that any DNS provider external-dns
// supports (Route 53, Cloudflare, ...) carries them. There is one object per
// application, labelled with hadron's owner id; objects without that label are never
// changed or deleted. Plans are pure (MakePlan); Provider reads and applies them
// through client-go's dynamic client.
package dnsendpoint

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"hadron.dev/hadron/internal/gslb/recordplan"
)

// Object is a DNSEndpoint as hadron sees it.
type Object struct {
	Name string
	// Owner is the hadron owner label; empty for an object hadron did not write.
	Owner     string
	Endpoints []recordplan.Record
	// ResourceVersion guards updates and deletes against concurrent changes.
	ResourceVersion string
	// Fence is the leader token that last wrote the object (annotation).
	Fence int64
}

// Change is one object to create, update or delete.
type Change struct {
	Action    recordplan.Action
	Name      string
	Endpoints []recordplan.Record
	// ResourceVersion is the version the plan was made from (update, delete).
	ResourceVersion string
	// Fence, when set, is the fence the object keeps instead of the writer's token:
	// a scrub is no leader's write and must not lower or raise the object's fence.
	Fence int64
}

// Plan is the object changes for one owner in one namespace.
type Plan struct {
	Owner, Namespace string
	Changes          []Change
	// Conflicts are wanted object names held by an object hadron's owner did not write.
	Conflicts []Object
}

// Empty reports whether applying p changes nothing.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }

// ObjectName is the DNSEndpoint name of an application's records.
func ObjectName(app string) string { return "hadron-" + app }

// MakePlan compares the namespace's DNSEndpoints with the desired records per object
// name.
func MakePlan(owner, namespace string, current []Object, desired map[string][]recordplan.Record) Plan {
	p := Plan{Owner: owner, Namespace: namespace}
	have := map[string]Object{}
	for _, o := range current {
		have[o.Name] = o
	}
	names := make([]string, 0, len(desired))
	for n := range desired {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		want := desired[n]
		o, ok := have[n]
		switch {
		case !ok:
			p.Changes = append(p.Changes, Change{Action: recordplan.Create, Name: n, Endpoints: want})
		case o.Owner != owner:
			p.Conflicts = append(p.Conflicts, o)
		case !sameRecords(o.Endpoints, want):
			p.Changes = append(p.Changes, Change{Action: recordplan.Update, Name: n, Endpoints: want, ResourceVersion: o.ResourceVersion})
		}
	}
	for _, o := range current {
		if _, ok := desired[o.Name]; !ok && o.Owner == owner {
			p.Changes = append(p.Changes, Change{Action: recordplan.Delete, Name: o.Name, ResourceVersion: o.ResourceVersion})
		}
	}
	return p
}

// ScrubPlan takes the records whose names drop reports out of owner's objects in
// namespace, keeping everything else and each object's fence. A site's objects carry
// names whose answer depends on the failover state (the main names); a site cut off
// from the majority, or coming back after it was lost, cannot know that state, and an
// external-dns reading its stale objects would move the names back. Scrubbed, they
// hold only what the site knows for certain (its own names); the leader writes the
// rest again once it reaches the site.
func ScrubPlan(owner, namespace string, current []Object, drop func(name string) bool) Plan {
	p := Plan{Owner: owner, Namespace: namespace}
	for _, o := range current {
		if o.Owner != owner {
			continue
		}
		keep := make([]recordplan.Record, 0, len(o.Endpoints))
		for _, r := range o.Endpoints {
			if !drop(r.Name) {
				keep = append(keep, r)
			}
		}
		if len(keep) == len(o.Endpoints) {
			continue
		}
		p.Changes = append(p.Changes, Change{Action: recordplan.Update, Name: o.Name, Endpoints: keep,
			ResourceVersion: o.ResourceVersion, Fence: o.Fence})
	}
	sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Name < p.Changes[j].Name })
	return p
}

// Held is the highest fence among owner's objects: the newest leader that wrote them.
func Held(owner string, current []Object) int64 {
	var held int64
	for _, o := range current {
		if o.Owner == owner && o.Fence > held {
			held = o.Fence
		}
	}
	return held
}

// Refence adds to p an update of every object of the owner that p leaves alone and a
// lower token wrote, so that they all carry mine: a deposed leader, which checks the
// fences it reads, then writes nothing.
func Refence(p Plan, current []Object, mine int64) Plan {
	touched := map[string]bool{}
	for _, c := range p.Changes {
		touched[c.Name] = true
	}
	for _, o := range current {
		if o.Owner == p.Owner && !touched[o.Name] && o.Fence < mine {
			p.Changes = append(p.Changes, Change{Action: recordplan.Update, Name: o.Name, Endpoints: o.Endpoints, ResourceVersion: o.ResourceVersion})
		}
	}
	return p
}

func sameRecords(a, b []recordplan.Record) bool {
	key := func(rs []recordplan.Record) []string {
		out := make([]string, 0, len(rs))
		for _, r := range rs {
			out = append(out, r.String())
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// String prints the plan the way --dry-run shows it.
func (p Plan) String() string {
	var b strings.Builder
	if p.Empty() {
		b.WriteString("no changes\n")
	}
	for _, c := range p.Changes {
		sign := map[recordplan.Action]string{recordplan.Create: "+", recordplan.Update: "~", recordplan.Delete: "-"}[c.Action]
		fmt.Fprintf(&b, "%s DNSEndpoint %s/%s\n", sign, p.Namespace, c.Name)
		for _, r := range c.Endpoints {
			fmt.Fprintf(&b, "    %s\n", r)
		}
	}
	for _, o := range p.Conflicts {
		owner := o.Owner
		if owner == "" {
			owner = "nobody hadron knows"
		}
		fmt.Fprintf(&b, "! DNSEndpoint %s/%s exists, owned by %s: left alone\n", p.Namespace, o.Name, owner)
	}
	return b.String()
}
