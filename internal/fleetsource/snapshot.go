// Package fleetsource reads the fleet from the custom resources of the daemon's own
// cluster (Site, Application, MirrorSet, DNSProvider of hadron.dev/v1alpha1), keeps
// watching them, and hands on a new fleet only when it is valid by the fleet's own
// rules and differs from the one in force. An invalid fleet is never handed on: the
// last good one stays, and the problem is logged and reported as an Event on the
// object it concerns, naming the field path.
//
// The pure parts are here — objects to fleet documents, a snapshot with its canonical
// form, what to do with a new read, what changed — and the watching in watch.go.
package fleetsource

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/manifests"
)

// Resources are the four kinds of a fleet, in the order each refers only to those
// before it.
var Resources = []schema.GroupVersionResource{
	{Group: "hadron.dev", Version: "v1alpha1", Resource: "sites"},
	{Group: "hadron.dev", Version: "v1alpha1", Resource: "dnsproviders"},
	{Group: "hadron.dev", Version: "v1alpha1", Resource: "mirrorsets"},
	{Group: "hadron.dev", Version: "v1alpha1", Resource: "applications"},
}

// SourceName is what messages about a fleet read from a cluster call its file.
const SourceName = "cluster"

// lastApplied is kubectl apply's copy of the whole object, not part of the fleet.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// SyncedAnnotation marks an object that the daemons keep the same in every site's
// cluster (internal/fleetsync): it was in a fleet published to etcd, so its absence
// from a later one means a person removed it. It names the site whose fleet it came
// from, differs from site to site and is not part of the fleet.
const SyncedAnnotation = "hadron.dev/fleet-synced-from"

// notFleet says an annotation is not part of the fleet.
func notFleet(k string) bool { return k == lastApplied || k == SyncedAnnotation }

// Document returns o as a fleet document: apiVersion, kind, name, labels, annotations
// and spec — nothing the API server or hadron's status adds, so a status write or a
// new resourceVersion leaves it unchanged.
func Document(o *unstructured.Unstructured) ([]byte, error) {
	md := map[string]any{"name": o.GetName()}
	if l := o.GetLabels(); len(l) > 0 {
		md["labels"] = l
	}
	if a := o.GetAnnotations(); len(a) > 0 {
		kept := map[string]string{}
		for k, v := range a {
			if !notFleet(k) {
				kept[k] = v
			}
		}
		if len(kept) > 0 {
			md["annotations"] = kept
		}
	}
	doc := map[string]any{"apiVersion": o.GetAPIVersion(), "kind": o.GetKind(), "metadata": md}
	if spec, ok := o.Object["spec"]; ok {
		doc["spec"] = spec
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", o.GetKind(), o.GetName(), err)
	}
	return b, nil
}

// Key names an object in a fleet: Kind/name.
func Key(kind, name string) string { return kind + "/" + name }

// Snapshot is one valid read of the fleet.
type Snapshot struct {
	// Fleet is the fleet with its defaults, as the daemon runs it.
	Fleet *fleet.Fleet
	// Canonical is the fleet as written (hadron fleet export's text), and Hash its
	// SHA-256: two reads with the same hash are the same fleet.
	Canonical []byte
	Hash      string
	// Objects maps each object's Key to the hash of its document, for Diff.
	Objects map[string]string
}

// Build turns the listed objects into a snapshot, validating them as one fleet with
// the fleet's own rules. A problem returns *fleet.Errors naming the object and field.
func Build(objs []*unstructured.Unstructured) (Snapshot, error) {
	sorted := slices.Clone(objs)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if ra, rb := rank(a.GetKind()), rank(b.GetKind()); ra != rb {
			return ra < rb
		}
		return a.GetName() < b.GetName()
	})
	var all strings.Builder
	objects := map[string]string{}
	for i, o := range sorted {
		doc, err := Document(o)
		if err != nil {
			return Snapshot{}, err
		}
		if i > 0 {
			all.WriteString("---\n")
		}
		all.Write(doc)
		objects[Key(o.GetKind(), o.GetName())] = hash(doc)
	}
	f, err := manifests.Read(fleet.Source{Name: SourceName, Data: []byte(all.String())})
	if err != nil {
		return Snapshot{}, err
	}
	canon, err := manifests.Write(f)
	if err != nil {
		return Snapshot{}, err
	}
	fleet.ApplyDefaults(f)
	return Snapshot{Fleet: f, Canonical: canon, Hash: hash(canon), Objects: objects}, nil
}

func rank(kind string) int {
	switch kind {
	case v1alpha1.KindSite:
		return 0
	case v1alpha1.KindDNSProvider:
		return 1
	case v1alpha1.KindMirrorSet:
		return 2
	case v1alpha1.KindApplication:
		return 3
	}
	return 4
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Action is what to do with a new read.
type Action int

const (
	// Keep: the fleet did not change (a status write, a resync); nothing to do.
	Keep Action = iota
	// Apply: a valid fleet that differs from the one in force; hand it on.
	Apply
	// Refuse: the fleet is invalid; keep the one in force.
	Refuse
)

func (a Action) String() string {
	return [...]string{"keep", "apply", "refuse"}[a]
}

// State is what the watcher remembers between reads: the hash of the fleet in force
// and the problem last reported ("" when the last read was valid).
type State struct {
	Hash    string
	Problem string
}

// Decision is what to do with one read and the state after it.
type Decision struct {
	Action Action
	// Report says the problem is new (not the one already reported): log it and emit
	// its Events. A refused fleet read again unchanged is not reported again.
	Report bool
	// Recovered says the fleet was invalid and is valid again.
	Recovered bool
	Next      State
}

// Decide says what to do with a read: next is its snapshot when err is nil.
func Decide(st State, next Snapshot, err error) Decision {
	if err != nil {
		p := err.Error()
		return Decision{Action: Refuse, Report: p != st.Problem, Next: State{Hash: st.Hash, Problem: p}}
	}
	d := Decision{Action: Keep, Recovered: st.Problem != "", Next: State{Hash: next.Hash}}
	if next.Hash != st.Hash {
		d.Action = Apply
	}
	return d
}

// Change is what differs between two snapshots, as Kind/name keys, sorted.
type Change struct {
	Added, Removed, Changed []string
}

// Empty says nothing differs object by object.
func (c Change) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Changed) == 0 }

// Diff compares the objects of two snapshots.
func Diff(old, next Snapshot) Change {
	var c Change
	for k, h := range next.Objects {
		switch oh, ok := old.Objects[k]; {
		case !ok:
			c.Added = append(c.Added, k)
		case oh != h:
			c.Changed = append(c.Changed, k)
		}
	}
	for k := range old.Objects {
		if _, ok := next.Objects[k]; !ok {
			c.Removed = append(c.Removed, k)
		}
	}
	sort.Strings(c.Added)
	sort.Strings(c.Removed)
	sort.Strings(c.Changed)
	return c
}

// Problems groups a refused fleet's problems by the object they concern (its Key);
// problems of no object (a fleet without sites) are under "".
func Problems(err error) map[string][]fleet.FieldError {
	out := map[string][]fleet.FieldError{}
	list, ok := fleet.AsErrors(err)
	if !ok {
		out[""] = []fleet.FieldError{{Reason: err.Error()}}
		return out
	}
	for _, fe := range list {
		k := ""
		if fe.Kind != "" && fe.Name != "" {
			k = Key(fe.Kind, fe.Name)
		}
		out[k] = append(out[k], fe)
	}
	return out
}
