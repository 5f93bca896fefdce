// Package memberpods carries out, for a mirror set's members that run in pods
// (v1alpha1.Member.Pod), what the postgres driver decided and SQL cannot do: it is the
// driver's postgres.MemberPods for the daemons. The decision — which ConfigMap keys to
// write, which pod to restart — is a pure plan (this file); applying it is a few
// client-go calls against the member's site (kube.go).
package memberpods

import (
	"fmt"
	"sort"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/postgres"
)

// ConfigMap is the name of set's ConfigMap of instructions, in the namespace of each
// member in a pod: "fleet.yaml" (written by whoever runs the pods), "primary",
// "rebuild.<member>". The pods read it at their start (`hadron data member-start`).
func ConfigMap(set string) string { return set + "-members" }

// StatefulSet is the name of member's StatefulSet.
func StatefulSet(set, member string) string { return set + "-" + member }

// Pod is the name of the one pod of member's StatefulSet.
func Pod(set, member string) string { return StatefulSet(set, member) + "-0" }

// Place is a site's namespace holding members in pods: one ConfigMap of instructions.
type Place struct {
	Site, Namespace string
}

// Change is what one place gets: keys merged into its ConfigMap, then, if named, a
// pod deleted so that its StatefulSet starts it again and its start step reads them.
// Only a Required change must land for the plan to succeed: the others tell places
// that may be out of reach — a region just lost — and are safe to miss (see
// PlanPrimary).
type Change struct {
	Place
	ConfigMap string
	Data      map[string]string
	DeletePod string
	Required  bool
}

// InPods says whether any member of set runs in a pod.
func InPods(set *v1alpha1.MirrorSet) bool { return len(places(set)) > 0 }

// places are set's places, sorted so that plans are stable.
func places(set *v1alpha1.MirrorSet) []Place {
	seen := map[Place]bool{}
	var out []Place
	for _, m := range set.Spec.Members {
		if m.Pod == nil {
			continue
		}
		p := Place{Site: m.Site, Namespace: m.Pod.Namespace}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		return out[i].Namespace < out[j].Namespace
	})
	return out
}

// PlanPrimary names primary in every place: a pod that starts later (any pod, not
// only primary's) must not take itself for the primary, and must follow this one.
// Only primary's own place must hear it before the promotion (its pod, restarted, must
// not hold). A place that misses it still names the old primary, which is safe: that
// member's pod, with a primary's volume and named, holds as a stand-by of nobody until
// hadron rejoins it — and every rejoin names the primary everywhere again — and the
// other pods there follow it, a member that takes no writes. Failing over from a lost
// region must not wait for that region's API server.
func PlanPrimary(set *v1alpha1.MirrorSet, primary string) []Change {
	at, _ := placeOf(set, primary)
	var out []Change
	for _, p := range places(set) {
		out = append(out, Change{Place: p, ConfigMap: ConfigMap(set.Name), Data: map[string]string{"primary": primary},
			Required: at != nil && p == *at})
	}
	return out
}

// placeOf is the place of member when it runs in a pod.
func placeOf(set *v1alpha1.MirrorSet, member string) (*Place, bool) {
	for _, m := range set.Spec.Members {
		if m.Name == member && m.Pod != nil {
			return &Place{Site: m.Site, Namespace: m.Pod.Namespace}, true
		}
	}
	return nil, false
}

// PlanRebuild asks member's pod to make itself primary's stand-by at its next start
// (rewind, or a fresh clone when fresh), and restarts it. primary is named again
// everywhere: the request means nothing if the pod would follow someone else. id
// tells one request from the next (the pod records the last it carried out). A
// member not in a pod is not ours to rebuild (data.ErrNotManaged).
func PlanRebuild(set *v1alpha1.MirrorSet, member, primary string, fresh bool, id string) ([]Change, error) {
	at, ok := placeOf(set, member)
	if !ok {
		return nil, fmt.Errorf("rebuild %s: not a member in a pod: %w", member, data.ErrNotManaged)
	}
	out := PlanPrimary(set, primary)
	for i := range out {
		if out[i].Place == *at {
			out[i].Data["rebuild."+member] = postgres.RebuildRequest(primary, fresh, id)
			out[i].DeletePod = Pod(set.Name, member)
			out[i].Required = true
		}
	}
	return out, nil
}
