package controlplane

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/lab/internal/nodes"
)

// A cold stand-by site has no worker capacity until its autoscaler Deployment runs;
// then pending pods get worker nodes, spread over the zones.
func TestColdStandbyCapacityFollowsTheAutoscaler(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole control plane")
	}
	zones := []string{"cold-1a", "cold-1b", "cold-1c"}
	dir := t.TempDir()
	site := startSite(t, Config{Name: "cold", Region: "cold-1", Zones: zones, IP: "127.0.9.2", Dir: dir,
		NodesPerZone: 1, Autoscaler: "kube-system/karpenter"})
	cs := clientFor(t, dir)

	if n := countNodes(t, cs, nodes.GroupControl); n != 3 {
		t.Fatalf("control nodes = %d, want 3", n)
	}
	createDeployment(t, cs, "default", "shop", 3, nil)
	eventually(t, time.Minute, site.errc, "shop pods unschedulable", func() (bool, string) {
		n := countPods(t, cs, "default", "app=shop", unschedulable)
		return n == 3, fmt.Sprintf("%d unschedulable", n)
	})
	if n := countNodes(t, cs, nodes.GroupWorker); n != 0 {
		t.Fatalf("worker nodes before the autoscaler runs = %d, want 0", n)
	}

	createDeployment(t, cs, "kube-system", "karpenter", 1, []corev1.Toleration{{Key: nodes.TaintControl, Operator: corev1.TolerationOpExists}})
	eventually(t, 2*time.Minute, site.errc, "shop pods Running on new workers", func() (bool, string) {
		running := countPods(t, cs, "default", "app=shop", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		workers := countNodes(t, cs, nodes.GroupWorker)
		return running == 3 && workers == 3, fmt.Sprintf("%d running, %d workers", running, workers)
	})
	site.stopAndCheck(t)
}

func createDeployment(t *testing.T, cs kubernetes.Interface, ns, name string, replicas int32, tol []corev1.Toleration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers:  []corev1.Container{{Name: name, Image: "registry.invalid/" + name + ":1"}},
					Tolerations: tol,
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func countPods(t *testing.T, cs kubernetes.Interface, ns, selector string, match func(*corev1.Pod) bool) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Logf("list pods: %v", err)
		return -1
	}
	n := 0
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp == nil && match(&list.Items[i]) {
			n++
		}
	}
	return n
}

func countNodes(t *testing.T, cs kubernetes.Interface, group string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: nodes.LabelGroup + "=" + group})
	if err != nil {
		t.Logf("list nodes: %v", err)
		return -1
	}
	return len(list.Items)
}
