package controlplane

import (
	"context"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/lab/internal/nodes"
)

// autoscaleInterval is how often the lab autoscaler looks at pending pods.
const autoscaleInterval = 2 * time.Second

// autoscale adds worker nodes while the named autoscaler Deployment has ready replicas
// and pods are Pending for lack of a node, as a node autoscaler (Karpenter, the cluster
// autoscaler) would: a cold stand-by site has capacity only once its autoscaler runs.
// It never removes nodes.
func autoscale(ctx context.Context, c Config, cs kubernetes.Interface, log *slog.Logger) {
	ns, name, _ := strings.Cut(c.Autoscaler, "/")
	log = log.With("autoscaler", c.Autoscaler)
	t := time.NewTicker(autoscaleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		specs, err := autoscaleStep(ctx, c, cs, ns, name)
		if err != nil {
			log.Warn("autoscaler step", "err", err)
			continue
		}
		if len(specs) == 0 {
			continue
		}
		if err := nodes.Ensure(ctx, cs, specs); err != nil {
			log.Warn("autoscaler add nodes", "err", err)
			continue
		}
		for _, s := range specs {
			log.Info("autoscaler added node", "node", s.Name, "zone", s.Zone)
		}
	}
}

func autoscaleStep(ctx context.Context, c Config, cs kubernetes.Interface, ns, name string) ([]nodes.Spec, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := cs.AppsV1().Deployments(ns).Get(cctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.Status.ReadyReplicas == 0 {
		return nil, nil
	}
	pods, err := cs.CoreV1().Pods("").List(cctx, metav1.ListOptions{FieldSelector: "status.phase=Pending,spec.nodeName="})
	if err != nil {
		return nil, err
	}
	pending := 0
	for i := range pods.Items {
		if unschedulable(&pods.Items[i]) {
			pending++
		}
	}
	list, err := cs.CoreV1().Nodes().List(cctx, metav1.ListOptions{LabelSelector: nodes.LabelSite + "=" + c.Name + "," + nodes.LabelGroup + "=" + nodes.GroupWorker})
	if err != nil {
		return nil, err
	}
	existing := map[string]bool{}
	for _, n := range list.Items {
		existing[n.Name] = true
	}
	return planWorkers(c, existing, pending), nil
}

// planWorkers decides which worker nodes to add: none without pending pods, otherwise
// the first missing worker of every zone (so capacity grows evenly across zones), up to
// NodesPerZone per zone. Pure.
func planWorkers(c Config, existing map[string]bool, pending int) []nodes.Spec {
	if pending == 0 {
		return nil
	}
	var out []nodes.Spec
	for _, z := range c.Zones {
		for i := range c.NodesPerZone {
			n := nodes.Name(c.Name, z, nodes.GroupWorker, i)
			if !existing[n] {
				out = append(out, nodes.Spec{Name: n, Site: c.Name, Region: c.Region, Zone: z, Group: nodes.GroupWorker})
				break
			}
		}
	}
	return out
}

func unschedulable(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}
