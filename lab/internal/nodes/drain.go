package nodes

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// DrainResult says what a drain did to each pod of the node.
type DrainResult struct {
	Evicted []string `json:"evicted"`
	// Blocked are pods a PodDisruptionBudget still protected when the drain gave up.
	Blocked []string `json:"blocked,omitempty"`
	// Skipped are pods a drain leaves alone (DaemonSet pods, mirror pods).
	Skipped []string `json:"skipped,omitempty"`
}

// Drain cordons the node and evicts its pods through the Eviction API, as `kubectl
// drain` does: the API server refuses an eviction (429) while a PodDisruptionBudget
// would be broken, and the drain asks again every second until timeout, so a budget
// is honoured and never bypassed by deleting the pod.
func Drain(ctx context.Context, cs kubernetes.Interface, name string, timeout time.Duration) (DrainResult, error) {
	var res DrainResult
	if err := setUnschedulable(ctx, cs, name, true); err != nil {
		return res, fmt.Errorf("drain node %s: cordon: %w", name, err)
	}
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	pods, err := cs.CoreV1().Pods("").List(c, metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
	cancel()
	if err != nil {
		return res, fmt.Errorf("drain node %s: list pods: %w", name, err)
	}
	deadline := time.Now().Add(timeout)
	for _, p := range pods.Items {
		id := p.Namespace + "/" + p.Name
		if skipOnDrain(&p) {
			res.Skipped = append(res.Skipped, id)
			continue
		}
		if evictUntil(ctx, cs, &p, deadline) {
			res.Evicted = append(res.Evicted, id)
		} else {
			res.Blocked = append(res.Blocked, id)
		}
	}
	return res, nil
}

// Uncordon makes the node schedulable again.
func Uncordon(ctx context.Context, cs kubernetes.Interface, name string) error {
	if err := setUnschedulable(ctx, cs, name, false); err != nil {
		return fmt.Errorf("uncordon node %s: %w", name, err)
	}
	return nil
}

func skipOnDrain(p *corev1.Pod) bool {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return true
		}
	}
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// evictUntil asks for the pod's eviction until it is granted (or the pod is gone), or
// the deadline passes while a budget refuses it.
func evictUntil(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, deadline time.Time) bool {
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
	for {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := cs.PolicyV1().Evictions(p.Namespace).Evict(c, ev)
		cancel()
		if err == nil || apierrors.IsNotFound(err) {
			return true
		}
		// 429 is a budget saying no for now; anything else is worth another try too,
		// until the deadline.
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

func setUnschedulable(ctx context.Context, cs kubernetes.Interface, name string, v bool) error {
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"unschedulable": v}})
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := cs.CoreV1().Nodes().Patch(c, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return ErrNotFound
	}
	return err
}
