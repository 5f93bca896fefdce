package memberpods

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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

func (p *Pods) apply(ctx context.Context, changes []Change) error {
	for _, c := range changes {
		kube, err := p.Kube(c.Site)
		if err != nil {
			return fmt.Errorf("member pods at %s: %w", c.Site, err)
		}
		if err := mergeConfigMap(ctx, kube, c); err != nil {
			return err
		}
		if c.DeletePod == "" {
			continue
		}
		if p.Log != nil {
			p.Log.Info("restarting a member's pod for its start step", "site", c.Site, "namespace", c.Namespace, "pod", c.DeletePod, "instructions", c.Data)
		}
		dctx, cancel := context.WithTimeout(ctx, callTimeout)
		err = kube.CoreV1().Pods(c.Namespace).Delete(dctx, c.DeletePod, metav1.DeleteOptions{})
		cancel()
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting pod %s/%s at %s: %w", c.Namespace, c.DeletePod, c.Site, err)
		}
	}
	return nil
}

// mergeConfigMap sets c's keys in its ConfigMap, keeping the others (fleet.yaml, the
// other members' requests). It never creates the ConfigMap: without the fleet file
// whoever runs the pods writes there, no pod could start anyway.
func mergeConfigMap(ctx context.Context, kube kubernetes.Interface, c Change) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
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
