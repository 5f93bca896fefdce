// Package nodes creates a lab site's simulated nodes and injects node and zone faults.
//
// kwok heart-beats (renews the lease of) only the nodes labelled
// hadron.dev/lab-heartbeat=on. A fault flips the label to off: kwok lets go of the node,
// its lease expires, kube-controller-manager marks it NotReady and taints it, and the
// pods on it are evicted and rescheduled in other zones, as when a real node or zone
// dies. Restoring flips the label back; kwok takes the node again and reports it Ready.
package nodes

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Labels of the lab's simulated nodes.
const (
	LabelSite      = "hadron.dev/lab-site"
	LabelHeartbeat = "hadron.dev/lab-heartbeat"
	LabelGroup     = "hadron.dev/lab-node-group"
	LabelRegion    = corev1.LabelTopologyRegion
	LabelZone      = corev1.LabelTopologyZone

	heartbeatOn  = "on"
	heartbeatOff = "off"

	// GroupWorker and GroupControl name the node groups; control nodes carry TaintControl.
	GroupWorker  = "worker"
	GroupControl = "control"
	// TaintControl keeps ordinary pods off the control node group of a cold stand-by site.
	TaintControl = "hadron.dev/lab-control"
)

// ManagedSelector is the label selector of the nodes kwok must keep alive.
func ManagedSelector() string { return LabelHeartbeat + "=" + heartbeatOn }

// Spec describes one simulated node.
type Spec struct {
	Name, Site, Region, Zone string
	Group                    string // GroupWorker (default) or GroupControl
}

// Name is the conventional node name: <site>-<zone>-<group initial><index>, e.g.
// east-us-east-1a-w0.
func Name(site, zone, group string, i int) string {
	if group == "" {
		group = GroupWorker
	}
	return fmt.Sprintf("%s-%s-%c%d", site, zone, group[0], i)
}

// Object is the Node to create for s; its status is left to kwok.
func (s Spec) Object() *corev1.Node {
	group := s.Group
	if group == "" {
		group = GroupWorker
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name,
			Labels: map[string]string{
				LabelSite:                 s.Site,
				LabelRegion:               s.Region,
				LabelZone:                 s.Zone,
				LabelGroup:                group,
				LabelHeartbeat:            heartbeatOn,
				corev1.LabelHostname:      s.Name,
				corev1.LabelOSStable:      "linux",
				corev1.LabelArchStable:    "amd64",
				"type":                    "kwok",
				"node.kubernetes.io/role": group,
			},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		},
		Status: corev1.NodeStatus{
			Allocatable: capacity(),
			Capacity:    capacity(),
		},
	}
	if group == GroupControl {
		n.Spec.Taints = []corev1.Taint{{Key: TaintControl, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	}
	return n
}

func capacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
}

// Ensure creates the nodes that do not exist yet; existing nodes are left as they are
// (a restarted site keeps its faults).
func Ensure(ctx context.Context, cs kubernetes.Interface, specs []Spec) error {
	for _, s := range specs {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := cs.CoreV1().Nodes().Create(c, s.Object(), metav1.CreateOptions{})
		cancel()
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node %s: %w", s.Name, err)
		}
	}
	return nil
}

// FailNode stops the heartbeat of one node.
func FailNode(ctx context.Context, cs kubernetes.Interface, name string) error {
	if err := setHeartbeat(ctx, cs, name, heartbeatOff); err != nil {
		return fmt.Errorf("fail node %s: %w", name, err)
	}
	return nil
}

// RestoreNode starts the heartbeat of one node again.
func RestoreNode(ctx context.Context, cs kubernetes.Interface, name string) error {
	if err := setHeartbeat(ctx, cs, name, heartbeatOn); err != nil {
		return fmt.Errorf("restore node %s: %w", name, err)
	}
	return nil
}

// FailZone stops the heartbeat of every lab node in zone.
func FailZone(ctx context.Context, cs kubernetes.Interface, zone string) error {
	if err := setZoneHeartbeat(ctx, cs, zone, heartbeatOff); err != nil {
		return fmt.Errorf("fail zone %s: %w", zone, err)
	}
	return nil
}

// RestoreZone starts the heartbeat of every lab node in zone again.
func RestoreZone(ctx context.Context, cs kubernetes.Interface, zone string) error {
	if err := setZoneHeartbeat(ctx, cs, zone, heartbeatOn); err != nil {
		return fmt.Errorf("restore zone %s: %w", zone, err)
	}
	return nil
}

// InZone lists the lab nodes of zone.
func InZone(ctx context.Context, cs kubernetes.Interface, zone string) ([]corev1.Node, error) {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := cs.CoreV1().Nodes().List(c, metav1.ListOptions{LabelSelector: LabelSite + "," + LabelZone + "=" + zone})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func setZoneHeartbeat(ctx context.Context, cs kubernetes.Interface, zone, value string) error {
	list, err := InZone(ctx, cs, zone)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return ErrNotFound
	}
	for _, n := range list {
		if err := setHeartbeat(ctx, cs, n.Name, value); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return nil
}

func setHeartbeat(ctx context.Context, cs kubernetes.Interface, name, value string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{LabelHeartbeat: value}}})
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := cs.CoreV1().Nodes().Patch(c, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return ErrNotFound
	}
	return err
}

// Schedulable reports whether the node is Ready and kube-controller-manager has lifted
// the not-ready and unreachable taints it puts on a node until then.
func Schedulable(n *corev1.Node) bool {
	if !Ready(n) {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	return true
}

// Ready reports whether the node's Ready condition is True.
func Ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
