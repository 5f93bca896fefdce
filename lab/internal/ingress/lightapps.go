package ingress

import (
	"context"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"hadron.dev/hadron/lab/internal/topology"
)

// lightAnswer decides how the load balancer answers path for the light applications
// (lab.yaml's apps): handled is false for a path that is not one of theirs (forwarded to
// the demo as before); otherwise 200 while the application's Deployment in this site has
// ready replicas and 503 while it has none or is not there at all.
func lightAnswer(path string, ready func(app string) int32) (app string, code int, handled bool) {
	app, ok := topology.AppOfPath(path)
	if !ok {
		return "", 0, false
	}
	if ready(app) > 0 {
		return app, http.StatusOK, true
	}
	return app, http.StatusServiceUnavailable, true
}

// serveLight answers a light application's request; false when path is not one.
func (in *Ingress) serveLight(w http.ResponseWriter, r *http.Request) bool {
	app, code, ok := lightAnswer(r.URL.Path, in.lightReady)
	if !ok {
		return false
	}
	if code == http.StatusOK {
		fmt.Fprintf(w, "%s ok at site %s\n", app, in.cfg.Site)
		return true
	}
	http.Error(w, fmt.Sprintf("site %s: no ready replicas of %s\n", in.cfg.Site, app), code)
	return true
}

func (in *Ingress) lightReady(app string) int32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.light[app]
}

// LightReady returns the ready replicas of a light application's Deployment as the
// ingress last saw them.
func (in *Ingress) LightReady(app string) int32 { return in.lightReady(app) }

// watchLight keeps the ready replicas of every light application current with ONE
// informer over the Deployments that carry the lab's label, in every namespace: a
// hundred applications cost one watch per site, not a hundred.
func (in *Ingress) watchLight(ctx context.Context, client kubernetes.Interface) {
	deps := client.AppsV1().Deployments(metav1.NamespaceAll)
	// The typed client (not its REST client) works with client-go's fake clientset too,
	// which does not speak the streaming list: ToListWatcherWithWatchListSemantics
	// lets the reflector fall back to a plain list for it.
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = topology.LightAppLabel
			return deps.List(ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = topology.LightAppLabel
			return deps.Watch(ctx, o)
		},
	}, client)
	runInformer(ctx, lw, &appsv1.Deployment{}, func(d *appsv1.Deployment) {
		app := d.Labels[topology.LightAppLabel]
		in.mu.Lock()
		old := in.light[app]
		in.light[app] = d.Status.ReadyReplicas
		in.mu.Unlock()
		if (old > 0) != (d.Status.ReadyReplicas > 0) {
			in.log.Debug("light application ready replicas", "app", app, "ready", d.Status.ReadyReplicas)
		}
	}, func(d *appsv1.Deployment) {
		in.mu.Lock()
		delete(in.light, d.Labels[topology.LightAppLabel])
		in.mu.Unlock()
	})
}
