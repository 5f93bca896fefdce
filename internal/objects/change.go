package objects

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Action is what the planner decided for one object on one site.
type Action string

const (
	ActionCreate   Action = "create"
	ActionUpdate   Action = "update"
	ActionDelete   Action = "delete"
	ActionInSync   Action = "in-sync"
	ActionConflict Action = "conflict"
	ActionDeferred Action = "deferred"
	ActionError    Action = "error"
)

// Change is one decision of the planner.
type Change struct {
	Site   string `json:"site"`
	Ref    Ref    `json:"ref"`
	Action Action `json:"action"`
	// Reason says why, in words; Diff lists the drifted fields of an update.
	Reason string   `json:"reason,omitempty"`
	Diff   []string `json:"diff,omitempty"`
	// Desired is what to write (create, update, deferred); Current what the site has.
	Desired *unstructured.Unstructured `json:"-"`
	Current *unstructured.Unstructured `json:"-"`
	Err     error                      `json:"-"`
}

// Mutates says whether applying the change writes to the site.
func (c Change) Mutates() bool {
	return c.Action == ActionCreate || c.Action == ActionUpdate || c.Action == ActionDelete
}

// OwnedBy says whether replication wrote o for app. Objects that cross-site
// discovery imported are discovery's, not replication's.
func OwnedBy(o *unstructured.Unstructured, app string) bool {
	a := o.GetAnnotations()
	return a[AnnotationApplication] == app && a[AnnotationSourceSite] != "" && a[AnnotationImportedFrom] == ""
}

// SortChanges orders changes by site, then by the order objects are applied in.
func SortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Site != b.Site {
			return a.Site < b.Site
		}
		if ra, rb := ApplyRank(a.Ref.Kind), ApplyRank(b.Ref.Kind); ra != rb {
			return ra < rb
		}
		return a.Ref.String() < b.Ref.String()
	})
}

// ApplyRank puts what others refer to first (config before the workloads using it).
func ApplyRank(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "ServiceAccount", "ConfigMap", "Secret", "PersistentVolumeClaim", "Role", "RoleBinding":
		return 1
	case "Service":
		return 2
	default:
		return 3
	}
}

// Summary counts changes by action.
func Summary(cs []Change) map[Action]int {
	m := map[Action]int{}
	for _, c := range cs {
		m[c.Action]++
	}
	return m
}
