// Package ingress is the lab's stand-in for a site's load balancer and ingress
// controller: it forwards to the site's application process only while the
// application's Deployment has ready pods in the site's cluster, and answers 503
// otherwise, so scaling a site up or down is observable over HTTP.
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
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/fields"
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
}

// Ingress serves one site's load-balancer address.
type Ingress struct {
	cfg   Config
	log   *slog.Logger
	ready atomic.Int32 // ready replicas of the Deployment
	srv   *http.Server
	ln    net.Listener
	stop  context.CancelFunc
	done  chan struct{}
}

// Start listens on cfg.Listen and watches the Deployment through client.
func Start(ctx context.Context, cfg Config, client kubernetes.Interface, log *slog.Logger) (*Ingress, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("ingress %s: listen %s: %w", cfg.Site, cfg.Listen, err)
	}
	target := &url.URL{Scheme: "http", Host: cfg.Backend}
	ctx, cancel := context.WithCancel(ctx)
	in := &Ingress{cfg: cfg, log: log.With("site", cfg.Site), ln: ln, stop: cancel, done: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext, ResponseHeaderTimeout: 10 * time.Second, MaxIdleConnsPerHost: 64}
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		in.log.Debug("backend error", "err", err)
		http.Error(w, fmt.Sprintf("site %s: application unavailable: %v\n", cfg.Site, err), http.StatusBadGateway)
	}
	in.srv = &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Hadron-Site", cfg.Site)
			if in.ready.Load() <= 0 {
				http.Error(w, fmt.Sprintf("site %s: no ready pods of %s/%s\n", cfg.Site, cfg.Namespace, cfg.Deployment), http.StatusServiceUnavailable)
				return
			}
			proxy.ServeHTTP(w, r)
		}),
	}
	go in.watch(ctx, client)
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
	set := func(obj any) {
		if d, ok := obj.(*appsv1.Deployment); ok {
			old := in.ready.Swap(d.Status.ReadyReplicas)
			if old != d.Status.ReadyReplicas {
				in.log.Info("ready replicas", "deployment", in.cfg.Deployment, "ready", d.Status.ReadyReplicas)
			}
		}
	}
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    &appsv1.Deployment{},
		ResyncPeriod:  0,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    set,
			UpdateFunc: func(_, obj any) { set(obj) },
			DeleteFunc: func(any) { in.ready.Store(0) },
		},
	})
	informer.Run(ctx.Done())
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
