package memberpods

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data/postgres"
)

// callTimeout bounds each call to a site's API server: the driver's rejoin waits for
// the member to stream afterwards, and a stuck call must not hold it.
const callTimeout = 10 * time.Second

// Pods applies the plans to the sites' clusters.
type Pods struct {
	Set *v1alpha1.MirrorSet
	// Kube is the client of a site's cluster (the daemon's connections, made once).
	Kube func(site string) (kubernetes.Interface, error)
	Log  *slog.Logger
	// Now stamps rebuild requests (default time.Now).
	Now func() time.Time
}

var _ postgres.MemberPods = (*Pods)(nil)

// SetPrimary records primary in every place's ConfigMap.
func (p *Pods) SetPrimary(ctx context.Context, primary string) error {
	return p.apply(ctx, PlanPrimary(p.Set, primary))
}

// Rebuild records the request and restarts member's pod; its StatefulSet starts it
// again on the same node (its volume's), and its start step does the work.
func (p *Pods) Rebuild(ctx context.Context, member, primary string, fresh bool) error {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	changes, err := PlanRebuild(p.Set, member, primary, fresh, now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return err
	}
	return p.apply(ctx, changes)
}

// apply applies the changes at once, each place in its own call: the plan fails only
// when a Required change fails; a place out of reach costs at most optionalTimeout.
func (p *Pods) apply(ctx context.Context, changes []Change) error {
	errs := make([]error, len(changes))
	var wg sync.WaitGroup
	for i, c := range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timeout := callTimeout
			if !c.Required {
				timeout = optionalTimeout
			}
			if c.DeletePod != "" {
				timeout += terminateTimeout
			}
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			errs[i] = p.applyOne(cctx, c)
		}()
	}
	wg.Wait()
	var required []error
	for i, err := range errs {
		switch {
		case err == nil:
		case changes[i].Required:
			required = append(required, err)
		case p.Log != nil:
			p.Log.Warn("a place of members in pods did not hear the primary; its pods follow the one named before until a rejoin names it again",
				"site", changes[i].Site, "namespace", changes[i].Namespace, "instructions", changes[i].Data, "err", err)
		}
	}
	return errors.Join(required...)
}

// optionalTimeout bounds a change that need not land: a promotion waits for it.
const optionalTimeout = 3 * time.Second

func (p *Pods) applyOne(ctx context.Context, c Change) error {
	kube, err := p.Kube(c.Site)
	if err != nil {
		return fmt.Errorf("member pods at %s: %w", c.Site, err)
	}
	if err := mergeConfigMap(ctx, kube, c); err != nil {
		return err
	}
	if c.DeletePod == "" {
		return nil
	}
	if p.Log != nil {
		p.Log.Info("restarting a member's pod for its start step", "site", c.Site, "namespace", c.Namespace, "pod", c.DeletePod, "instructions", c.Data)
	}
	pods := kube.CoreV1().Pods(c.Namespace)
	old, err := pods.Get(ctx, c.DeletePod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil // gone already: its replacement starts with the instructions
	}
	if err != nil {
		return fmt.Errorf("pod %s/%s at %s: %w", c.Namespace, c.DeletePod, c.Site, err)
	}
	err = pods.Delete(ctx, c.DeletePod, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &old.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting pod %s/%s at %s: %w", c.Namespace, c.DeletePod, c.Site, err)
	}
	return waitReplaced(ctx, pods, c.DeletePod, old.UID)
}

// terminateTimeout bounds the wait for a deleted member's pod to terminate: its
// server stops fast on SIGTERM, its grace period is longer.
const terminateTimeout = 30 * time.Second

// waitReplaced waits until the pod named name is no longer the one with uid: gone, or
// its StatefulSet's replacement. Until then the old server may still answer, and a
// rejoin that read its state would take the member for one the rebuild had not
// changed (seen: a fresh clone asked for 40 ms after a rewind).
func waitReplaced(ctx context.Context, pods corev1client.PodInterface, name string, uid types.UID) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err == nil && p.UID != uid:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s still terminating: %w", name, ctx.Err())
		case <-t.C:
		}
	}
}

// mergeConfigMap sets c's keys in its ConfigMap, keeping the others (fleet.yaml, the
// other members' requests). It never creates the ConfigMap: without the fleet file
// whoever runs the pods writes there, no pod could start anyway.
func mergeConfigMap(ctx context.Context, kube kubernetes.Interface, c Change) error {
	cms := kube.CoreV1().ConfigMaps(c.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, c.ConfigMap, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		same := true
		for k, v := range c.Data {
			same = same && cm.Data[k] == v
			cm.Data[k] = v
		}
		if same {
			return nil
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("configmap %s/%s at %s: %w", c.Namespace, c.ConfigMap, c.Site, err)
	}
	return nil
}
