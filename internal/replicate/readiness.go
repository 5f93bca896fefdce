package replicate

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"hadron.dev/hadron/internal/objects"
)

// Level grades a readiness finding.
type Level string

const (
	LevelOK   Level = "ok"
	LevelWarn Level = "warn"
	LevelFail Level = "fail"
)

// Finding is one line of `hadron check readiness`: what was checked, on which site,
// how it went, and what to do about it.
type Finding struct {
	Check   string `json:"check"`
	Site    string `json:"site,omitempty"`
	Level   Level  `json:"level"`
	Message string `json:"message"`
	// Action says what to do; empty for an ok finding.
	Action string `json:"action,omitempty"`
}

// Resources is CPU (millicores) and memory (bytes).
type Resources struct {
	MilliCPU int64 `json:"milliCPU"`
	Memory   int64 `json:"memoryBytes"`
}

func (r Resources) add(o Resources) Resources {
	return Resources{MilliCPU: r.MilliCPU + o.MilliCPU, Memory: r.Memory + o.Memory}
}

func (r Resources) String() string {
	return fmt.Sprintf("%dm CPU, %s memory", r.MilliCPU, resource.NewQuantity(r.Memory, resource.BinarySI).String())
}

// Workload is a scalable object of the active site with what one replica requests.
type Workload struct {
	Ref      objects.Ref
	Replicas int64
	PerPod   Resources
	Images   []string
	// PullSecrets are the imagePullSecrets its pods use.
	PullSecrets []string
}

// Workloads reads the Deployments and StatefulSets of the active site: replicas, the
// requests of one pod (sum of containers, or the largest init container if larger,
// as the scheduler counts), images and pull secrets. Other pod-template kinds give
// images only.
func Workloads(objs []*unstructured.Unstructured) []Workload {
	var out []Workload
	for _, o := range objs {
		tmpl, ok, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
		if !ok {
			if jt, ok2, _ := unstructured.NestedMap(o.Object, "spec", "jobTemplate", "spec", "template", "spec"); ok2 {
				tmpl, ok = jt, true
			}
		}
		if !ok {
			continue
		}
		var spec corev1.PodSpec
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &spec); err != nil {
			continue
		}
		w := Workload{Ref: objects.RefOf(o)}
		if scalable[o.GroupVersionKind().GroupKind()] {
			w.Replicas = 1
			if n, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas"); found {
				w.Replicas = n
			}
			if n, ok := objects.ActiveReplicas(o); ok && w.Replicas == 0 {
				w.Replicas = n // the active site is itself a pilot-light copy
			}
		}
		var sum, initMax Resources
		for _, c := range spec.Containers {
			sum = sum.add(requests(c))
			w.Images = append(w.Images, c.Image)
		}
		for _, c := range spec.InitContainers {
			r := requests(c)
			initMax.MilliCPU = max(initMax.MilliCPU, r.MilliCPU)
			initMax.Memory = max(initMax.Memory, r.Memory)
			w.Images = append(w.Images, c.Image)
		}
		w.PerPod = Resources{MilliCPU: max(sum.MilliCPU, initMax.MilliCPU), Memory: max(sum.Memory, initMax.Memory)}
		for _, s := range spec.ImagePullSecrets {
			w.PullSecrets = append(w.PullSecrets, s.Name)
		}
		out = append(out, w)
	}
	return out
}

func requests(c corev1.Container) Resources {
	return Resources{MilliCPU: c.Resources.Requests.Cpu().MilliValue(), Memory: c.Resources.Requests.Memory().Value()}
}

// Allocatable sums the allocatable resources of a site's usable nodes per zone:
// Ready, schedulable, without a NoSchedule or NoExecute taint.
func Allocatable(nodes []corev1.Node) map[string]Resources {
	out := map[string]Resources{}
	for _, n := range nodes {
		if n.Spec.Unschedulable || !nodeReady(n) || tainted(n) {
			continue
		}
		zone := n.Labels[corev1.LabelTopologyZone]
		if zone == "" {
			zone = "(no zone)"
		}
		out[zone] = out[zone].add(Resources{MilliCPU: n.Status.Allocatable.Cpu().MilliValue(), Memory: n.Status.Allocatable.Memory().Value()})
	}
	return out
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func tainted(n corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}

// CapacityFinding compares what the active replicas request with what a stand-by's
// nodes offer. With capacity objects in the policy (seed 003's node autoscaler) a
// shortfall is expected and only a warning: the failover scales them up first.
func CapacityFinding(site string, ws []Workload, zones map[string]Resources, capacityObjects []string) Finding {
	var need, have Resources
	for _, w := range ws {
		need = need.add(Resources{MilliCPU: w.PerPod.MilliCPU * w.Replicas, Memory: w.PerPod.Memory * w.Replicas})
	}
	names := make([]string, 0, len(zones))
	for z, r := range zones {
		have = have.add(r)
		names = append(names, z)
	}
	sort.Strings(names)
	var per []string
	for _, z := range names {
		per = append(per, fmt.Sprintf("%s %dm/%s", z, zones[z].MilliCPU, resource.NewQuantity(zones[z].Memory, resource.BinarySI)))
	}
	msg := fmt.Sprintf("active replicas request %s; %s offers %s (%s)", need, site, have, strings.Join(per, ", "))
	f := Finding{Check: "capacity", Site: site, Level: LevelOK, Message: msg}
	if need.MilliCPU <= have.MilliCPU && need.Memory <= have.Memory {
		return f
	}
	if len(capacityObjects) > 0 {
		f.Level = LevelWarn
		f.Action = "the failover scales " + strings.Join(capacityObjects, ", ") + " first; check it can add " +
			Resources{MilliCPU: max(0, need.MilliCPU-have.MilliCPU), Memory: max(0, need.Memory-have.Memory)}.String()
		return f
	}
	f.Level = LevelFail
	f.Action = fmt.Sprintf("add nodes to %s (short by %s), or list the node autoscaler in policy.capacity", site,
		Resources{MilliCPU: max(0, need.MilliCPU-have.MilliCPU), Memory: max(0, need.Memory-have.Memory)})
	return f
}

// Registry returns the registry host of an image reference (docker.io when none).
func Registry(image string) string {
	first, _, found := strings.Cut(image, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

// ImageFindings lists the registries a stand-by must pull from (seed 001: the image
// registry is a forgotten dependency) and fails pull secrets it lacks.
func ImageFindings(site string, ws []Workload, secretsOnSite map[string]bool) []Finding {
	images := map[string]map[string]bool{}
	pull := map[string]bool{}
	for _, w := range ws {
		for _, im := range w.Images {
			r := Registry(im)
			if images[r] == nil {
				images[r] = map[string]bool{}
			}
			images[r][im] = true
		}
		for _, s := range w.PullSecrets {
			pull[s] = true
		}
	}
	var out []Finding
	for _, r := range sortedKeys(images) {
		out = append(out, Finding{Check: "images", Site: site, Level: LevelWarn,
			Message: fmt.Sprintf("pulls %d image(s) from %s: %s", len(images[r]), r, strings.Join(sortedKeys(images[r]), ", ")),
			Action:  fmt.Sprintf("make sure %s's nodes reach %s when the active region is down (a regional mirror, or replicate the images)", site, r)})
	}
	for _, s := range sortedKeys(pull) {
		if secretsOnSite[s] {
			out = append(out, Finding{Check: "images", Site: site, Level: LevelOK, Message: "pull secret " + s + " present"})
			continue
		}
		out = append(out, Finding{Check: "images", Site: site, Level: LevelFail, Message: "pull secret " + s + " missing",
			Action: "add " + s + " to spec.replication.secrets, or create it on " + site})
	}
	return out
}

// CRDFindings fails kinds the application uses that a stand-by does not serve.
func CRDFindings(site string, missing []string) []Finding {
	var out []Finding
	for _, k := range missing {
		out = append(out, Finding{Check: "crds", Site: site, Level: LevelFail,
			Message: "kind " + k + " is used by the application but not served on " + site,
			Action:  "install the CustomResourceDefinition for " + k + " on " + site})
	}
	if len(missing) == 0 {
		out = append(out, Finding{Check: "crds", Site: site, Level: LevelOK, Message: "every kind the application uses is served"})
	}
	return out
}

// ParityFinding summarises parity for one site.
func ParityFinding(site string, ps []Parity) Finding {
	bad := map[State]int{}
	n := 0
	for _, p := range ps {
		if p.Site != site {
			continue
		}
		n++
		if !p.OK() {
			bad[p.State]++
		}
	}
	if len(bad) == 0 {
		return Finding{Check: "parity", Site: site, Level: LevelOK, Message: fmt.Sprintf("%d objects in sync", n)}
	}
	var parts []string
	for _, s := range []State{StateMissing, StateDrifted, StateNotOwned, StateExtra, StateError} {
		if bad[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", bad[s], s))
		}
	}
	return Finding{Check: "parity", Site: site, Level: LevelFail, Message: strings.Join(parts, ", ") + " of " + fmt.Sprint(n),
		Action: "run `hadron check parity` for the objects; `hadron replicate` fixes missing and drifted ones; not-owned objects need a person"}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
