// Package ingress is the lab's stand-in for a site's load balancer and ingress
// controller: it forwards to the site's application process only while the
// application's Deployment has ready pods in the site's cluster, and answers 503
// otherwise, so scaling a site up or down is observable over HTTP. On a site with real
// nodes it routes, as a cloud load balancer would, to the ready pods of the Deployment
// that run there (pod IPs in the site's pod CIDR), and falls back to the process only
// while there are none.
package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Config says where the ingress listens, which Deployment gates it and where the
// application process is.
type Config struct {
	Site       string
	Listen     string
	Backend    string // host:port of the application process
	Namespace  string
	Deployment string
	// PodCIDR, when set, is the site's real pod network; PodPort the application's
	// port in its pods.
	PodCIDR string
	PodPort int
	// LightApps makes the ingress answer the light applications' paths
	// (/apps/<app>/...) itself, from their Deployments' ready replicas (lightapps.go).
	LightApps bool
}

// BackendHeader names the backend (host:port) that answered a request: a pod IP on a
// real node, else the application process.
const BackendHeader = "X-Hadron-Backend"

// Ingress serves one site's load-balancer address.
type Ingress struct {
	cfg   Config
	log   *slog.Logger
	ready atomic.Int32 // ready replicas of the Deployment

	podNet   *net.IPNet
	mu       sync.Mutex
	selector labels.Selector        // the Deployment's pod selector, once seen
	pods     map[string]*corev1.Pod // pods of the namespace by name
	light    map[string]int32       // ready replicas of each light application
	next     atomic.Uint64          // round-robin over ready pod IPs
	srv      *http.Server
	ln       net.Listener
	stop     context.CancelFunc
	done     chan struct{}
}

// Start listens on cfg.Listen and watches the Deployment through client.
func Start(ctx context.Context, cfg Config, client kubernetes.Interface, log *slog.Logger) (*Ingress, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("ingress %s: listen %s: %w", cfg.Site, cfg.Listen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	in := &Ingress{cfg: cfg, log: log.With("site", cfg.Site), ln: ln, stop: cancel, done: make(chan struct{}), pods: map[string]*corev1.Pod{}, light: map[string]int32{}}
	if cfg.PodCIDR != "" {
		if _, in.podNet, err = net.ParseCIDR(cfg.PodCIDR); err != nil {
			cancel()
			ln.Close()
			return nil, fmt.Errorf("ingress %s: pod CIDR: %w", cfg.Site, err)
		}
	}
	// The backend is chosen per request (a ready pod, else the process) and travels in
	// the request's context to the proxy's director.
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: "http", Host: r.In.Context().Value(backendKey{}).(string)})
		r.Out.Host = r.In.Host
		r.SetXForwarded()
	}}
	proxy.Transport = &http.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext, ResponseHeaderTimeout: 10 * time.Second, MaxIdleConnsPerHost: 64}
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		in.log.Debug("backend error", "err", err)
		http.Error(w, fmt.Sprintf("site %s: application unavailable: %v\n", cfg.Site, err), http.StatusBadGateway)
	}
	in.srv = &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Hadron-Site", cfg.Site)
			if cfg.LightApps && in.serveLight(w, r) {
				return
			}
			backend := in.podBackend()
			if backend == "" {
				if in.ready.Load() <= 0 {
					http.Error(w, fmt.Sprintf("site %s: no ready pods of %s/%s\n", cfg.Site, cfg.Namespace, cfg.Deployment), http.StatusServiceUnavailable)
					return
				}
				backend = cfg.Backend
			}
			w.Header().Set(BackendHeader, backend)
			proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, backend)))
		}),
	}
	go in.watch(ctx, client)
	if cfg.LightApps {
		go in.watchLight(ctx, client)
	}
	if in.podNet != nil {
		go in.watchPods(ctx, client)
	}
	go func() {
		defer close(in.done)
		if err := in.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			in.log.Error("ingress stopped", "err", err)
		}
	}()
	return in, nil
}

// watch keeps the ready-replica count of the Deployment current with an informer.
func (in *Ingress) watch(ctx context.Context, client kubernetes.Interface) {
	lw := cache.NewListWatchFromClient(client.AppsV1().RESTClient(), "deployments", in.cfg.Namespace, fields.OneTermEqualSelector("metadata.name", in.cfg.Deployment))
	runInformer(ctx, lw, &appsv1.Deployment{}, func(d *appsv1.Deployment) {
		if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
			in.mu.Lock()
			in.selector = sel
			in.mu.Unlock()
		}
		old := in.ready.Swap(d.Status.ReadyReplicas)
		if old != d.Status.ReadyReplicas {
			in.log.Info("ready replicas", "deployment", in.cfg.Deployment, "ready", d.Status.ReadyReplicas)
		}
	}, func(*appsv1.Deployment) { in.ready.Store(0) })
}

type backendKey struct{}

// watchPods keeps the namespace's pods current, for routing to the ready ones.
func (in *Ingress) watchPods(ctx context.Context, client kubernetes.Interface) {
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "pods", in.cfg.Namespace, fields.Everything())
	runInformer(ctx, lw, &corev1.Pod{}, func(p *corev1.Pod) {
		in.mu.Lock()
		in.pods[p.Name] = p
		in.mu.Unlock()
	}, func(p *corev1.Pod) {
		in.mu.Lock()
		delete(in.pods, p.Name)
		in.mu.Unlock()
	})
}

// runInformer keeps what lw lists and watches in step until ctx ends: set is called
// for every object added or updated, gone for every one deleted (also when the watch
// missed the deletion's final state).
func runInformer[T runtime.Object](ctx context.Context, lw cache.ListerWatcher, exemplar T, set, gone func(T)) {
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    exemplar,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				if o, ok := obj.(T); ok {
					set(o)
				}
			},
			UpdateFunc: func(_, obj any) {
				if o, ok := obj.(T); ok {
					set(o)
				}
			},
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if o, ok := obj.(T); ok {
					gone(o)
				}
			},
		},
	})
	informer.Run(ctx.Done())
}

// PodBackends returns the addresses of the Deployment's ready pods on real nodes,
// sorted: what the load balancer routes to.
func (in *Ingress) PodBackends() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.podNet == nil || in.selector == nil {
		return nil
	}
	var out []string
	for _, p := range in.pods {
		if p.DeletionTimestamp != nil || !in.selector.Matches(labels.Set(p.Labels)) || !podReady(p) {
			continue
		}
		ip := net.ParseIP(p.Status.PodIP)
		if ip == nil || !in.podNet.Contains(ip) {
			continue
		}
		out = append(out, net.JoinHostPort(ip.String(), strconv.Itoa(in.cfg.PodPort)))
	}
	sort.Strings(out)
	return out
}

// podBackend picks the next ready pod, round robin, or "" when there is none.
func (in *Ingress) podBackend() string {
	bs := in.PodBackends()
	if len(bs) == 0 {
		return ""
	}
	return bs[in.next.Add(1)%uint64(len(bs))]
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Ready returns the ready replicas the ingress last saw.
func (in *Ingress) Ready() int32 { return in.ready.Load() }

// Close stops listening and closes open connections.
func (in *Ingress) Close() error {
	in.stop()
	err := in.srv.Close()
	<-in.done
	return err
}
