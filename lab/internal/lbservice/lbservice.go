// Package lbservice implements Services of type LoadBalancer for one lab site, the way
// MetalLB or a cloud's controller does for a real cluster: it gives each such Service
// an address in the site's loopback range, listens there on every port of the Service
// and forwards, in userspace on the lab host, to the ready endpoints of the Service's
// EndpointSlices, and publishes the address in the Service's status. Clients of the
// lab thus reach a site's Services the way they reach a cloud's: by the address in
// status.loadBalancer.ingress, which stops answering when the site goes down.
package lbservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Config says which site's Services to serve and where.
type Config struct {
	Site   string // for logs and errors
	Client kubernetes.Interface
	// Prefix is the site's range, e.g. "127.0.3.": a Service's spec.loadBalancerIP must
	// be inside it; without one the controller allocates Prefix+"200".."249".
	Prefix string
	Log    *slog.Logger // nil: no logs
}

const (
	// component names the controller in Events.
	component = "hadron-lab-lbservice"
	// ReasonAddressNotAllowed is the reason of the Warning Event on a Service that asks
	// for an address outside the site's range.
	ReasonAddressNotAllowed = "AddressNotAllowed"

	apiTimeout = 15 * time.Second
	// syncTimeout bounds Start when the API server does not answer.
	syncTimeout = 2 * time.Minute
	// byService indexes EndpointSlices by "namespace/service".
	byService = "service"
)

// Controller serves the LoadBalancer Services of one site.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	slices   cache.Indexer
	queue    workqueue.TypedRateLimitingInterface[string]
	cancel   context.CancelFunc
	done     chan struct{} // closed when the worker has returned
	once     sync.Once

	mu       sync.Mutex
	state    map[string]*serving // by "namespace/name"
	rejected map[string]string   // requested address last refused, by Service: one Event per request
}

// serving is what the controller holds for one Service.
type serving struct {
	addr  string
	ports map[portSpec]*forwarder
}

// portSpec is the part of a ServicePort that decides how it is served; a change to
// any of it replaces the port's listener.
type portSpec struct {
	Name       string
	Protocol   corev1.Protocol
	Port       int32
	TargetPort intstr.IntOrString
}

func (p portSpec) servicePort() corev1.ServicePort {
	return corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port, TargetPort: p.TargetPort}
}

// Start watches the Services and EndpointSlices of every namespace through
// cfg.Client and returns once its caches have synced. The controller runs until ctx
// ends or Close is called.
func Start(ctx context.Context, cfg Config) (*Controller, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("lbservice %s: no client", cfg.Site)
	}
	if a, err := netip.ParseAddr(cfg.Prefix + "0"); err != nil || !a.Is4() || !strings.HasSuffix(cfg.Prefix, ".") {
		return nil, fmt.Errorf("lbservice %s: prefix %q is not of the form 127.0.N.", cfg.Site, cfg.Prefix)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runCtx, cancel := context.WithCancel(ctx)
	c := &Controller{
		cfg:      cfg,
		log:      log.With("site", cfg.Site, "component", "lbservice"),
		factory:  informers.NewSharedInformerFactory(cfg.Client, 0),
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		cancel:   cancel,
		done:     make(chan struct{}),
		state:    map[string]*serving{},
		rejected: map[string]string{},
	}
	svcInf := c.factory.Core().V1().Services()
	c.services = svcInf.Lister()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	if _, err := svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		cancel()
		return nil, fmt.Errorf("lbservice %s: service handler: %w", cfg.Site, err)
	}
	// Connections look endpoints up in this index when they start, so EndpointSlice
	// changes need no handler and never restart a listener.
	sliceInf := c.factory.Discovery().V1().EndpointSlices().Informer()
	if err := sliceInf.AddIndexers(cache.Indexers{byService: func(obj any) ([]string, error) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelServiceName] == "" {
			return nil, nil
		}
		return []string{s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]}, nil
	}}); err != nil {
		cancel()
		return nil, fmt.Errorf("lbservice %s: endpointslice index: %w", cfg.Site, err)
	}
	c.slices = sliceInf.GetIndexer()

	c.factory.Start(runCtx.Done())
	syncCtx, syncCancel := context.WithTimeout(runCtx, syncTimeout)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), svcInf.Informer().HasSynced, sliceInf.HasSynced) {
		err := syncCtx.Err()
		close(c.done)
		c.Close()
		return nil, fmt.Errorf("lbservice %s: caches not synced: %w", cfg.Site, err)
	}
	go c.work(runCtx)
	context.AfterFunc(runCtx, c.Close)
	c.log.Info("started", "prefix", cfg.Prefix)
	return c, nil
}

// Close stops the controller, closes every listener and cuts every open connection, as
// the site's crash would. The Services' status is left as it is, as a crashed
// controller would leave it.
func (c *Controller) Close() {
	c.once.Do(func() {
		c.cancel()
		c.queue.ShutDown()
		<-c.done
		c.factory.Shutdown()
		c.mu.Lock()
		state := c.state
		c.state = map[string]*serving{}
		c.mu.Unlock()
		for _, s := range state {
			for _, f := range s.ports {
				f.close()
			}
		}
		c.log.Info("stopped")
	})
}

// Addresses returns the address of every Service the controller serves, by
// "namespace/name".
func (c *Controller) Addresses() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.state))
	for k, s := range c.state {
		out[k] = s.addr
	}
	return out
}

// work reconciles one Service at a time: a single worker keeps address allocation
// free of races without further locking.
func (c *Controller) work(ctx context.Context) {
	defer close(c.done)
	for {
		key, shutdown := c.queue.Get()
		if shutdown {
			return
		}
		if ctx.Err() != nil {
			c.queue.Done(key)
			return
		}
		if err := c.sync(ctx, key); err != nil {
			c.log.Warn("reconcile failed, will retry", "service", key, "err", err)
			c.queue.AddRateLimited(key)
		} else {
			c.queue.Forget(key)
		}
		c.queue.Done(key)
	}
}

// sync brings the listeners and the status of one Service in line with its spec.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key the informer made; retrying cannot help
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.release(key, "service deleted")
		c.mu.Lock()
		delete(c.rejected, key)
		c.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", key, err)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		c.release(key, "no longer a LoadBalancer")
		return c.writeStatus(ctx, svc, "")
	}

	prev, used := c.addressesFor(key, svc)
	addr, err := chooseAddress(c.cfg.Prefix, svc.Spec.LoadBalancerIP, prev, used)
	if errors.Is(err, errNotAllowed) {
		c.release(key, "address not allowed")
		c.refuse(ctx, svc, err)
		return c.writeStatus(ctx, svc, "")
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", key, err)
	}

	c.mu.Lock()
	delete(c.rejected, key)
	s := c.state[key]
	if s == nil {
		s = &serving{ports: map[portSpec]*forwarder{}}
		c.state[key] = s
	}
	var stale []*forwarder
	if s.addr != addr {
		if s.addr != "" {
			c.log.Info("address changed", "service", key, "from", s.addr, "to", addr)
		}
		for p, f := range s.ports {
			stale = append(stale, f)
			delete(s.ports, p)
		}
		s.addr = addr
	}
	want := c.wantedPorts(key, svc)
	for p, f := range s.ports {
		if !want[p] {
			c.log.Info("port no longer served", "service", key, "address", addr, "port", p.Port, "protocol", p.Protocol)
			stale = append(stale, f)
			delete(s.ports, p)
		}
	}
	var missing []portSpec
	for p := range want {
		if s.ports[p] == nil {
			missing = append(missing, p)
		}
	}
	c.mu.Unlock()

	// Closed before listening, so a port whose spec changed can be bound again.
	for _, f := range stale {
		f.close()
	}
	var errs []error
	for _, p := range missing {
		f, err := c.listen(key, addr, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: listen %s/%s:%d: %w", key, strings.ToLower(string(p.Protocol)), addr, p.Port, err))
			continue
		}
		c.mu.Lock()
		s.ports[p] = f
		c.mu.Unlock()
		c.log.Info("serving", "service", key, "address", addr, "port", p.Port, "protocol", p.Protocol)
	}
	if len(errs) > 0 {
		// No status yet: clients that read the address must find it answering.
		return errors.Join(errs...)
	}
	return c.writeStatus(ctx, svc, addr)
}

// addressesFor returns the address the Service held before (ours, or else its status,
// which carries it across a restart of the controller) and the addresses that other
// Services hold or ask for.
func (c *Controller) addressesFor(key string, svc *corev1.Service) (string, map[string]bool) {
	used := map[string]bool{}
	if all, err := c.services.List(labels.Everything()); err == nil {
		for _, o := range all {
			if o.Spec.Type == corev1.ServiceTypeLoadBalancer && o.Spec.LoadBalancerIP != "" && o.Namespace+"/"+o.Name != key {
				used[o.Spec.LoadBalancerIP] = true
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.state {
		if k != key && s.addr != "" {
			used[s.addr] = true
		}
	}
	if s := c.state[key]; s != nil && s.addr != "" {
		return s.addr, used
	}
	if ing := svc.Status.LoadBalancer.Ingress; len(ing) > 0 {
		return ing[0].IP, used
	}
	return "", used
}

// wantedPorts returns the ports of svc this controller can serve.
func (c *Controller) wantedPorts(key string, svc *corev1.Service) map[portSpec]bool {
	want := map[portSpec]bool{}
	for _, sp := range svc.Spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if proto != corev1.ProtocolTCP && proto != corev1.ProtocolUDP {
			c.log.Info("port not served: protocol not supported", "service", key, "port", sp.Port, "protocol", proto)
			continue
		}
		want[portSpec{Name: sp.Name, Protocol: proto, Port: sp.Port, TargetPort: sp.TargetPort}] = true
	}
	return want
}

func (c *Controller) listen(key, addr string, p portSpec) (*forwarder, error) {
	log := c.log.With("service", key, "address", addr, "port", p.Port, "protocol", p.Protocol)
	sp := p.servicePort()
	ends := func() []string {
		objs, err := c.slices.ByIndex(byService, key)
		if err != nil {
			return nil
		}
		eps := make([]*discoveryv1.EndpointSlice, 0, len(objs))
		for _, o := range objs {
			if s, ok := o.(*discoveryv1.EndpointSlice); ok {
				eps = append(eps, s)
			}
		}
		return backends(eps, sp)
	}
	if p.Protocol == corev1.ProtocolUDP {
		return listenUDP(log, addr, p.Port, ends)
	}
	return listenTCP(log, addr, p.Port, ends)
}

// release stops serving a Service: closes its listeners, cuts its connections and
// frees its address.
func (c *Controller) release(key, why string) {
	c.mu.Lock()
	s := c.state[key]
	delete(c.state, key)
	c.mu.Unlock()
	if s == nil {
		return
	}
	for _, f := range s.ports {
		f.close()
	}
	c.log.Info("released", "service", key, "address", s.addr, "reason", why)
}

// writeStatus publishes addr as the Service's only ingress, or with addr empty
// withdraws an ingress in the site's range (one this controller wrote). It writes only
// on a difference, so its own update's event settles the loop.
func (c *Controller) writeStatus(ctx context.Context, svc *corev1.Service, addr string) error {
	cur := svc.Status.LoadBalancer.Ingress
	var want []corev1.LoadBalancerIngress
	if addr == "" {
		ours := len(cur) > 0
		for _, in := range cur {
			ours = ours && inPrefix(c.cfg.Prefix, in.IP)
		}
		if !ours {
			return nil
		}
	} else {
		// The API server fills in ipMode; compare only what this controller sets.
		if len(cur) == 1 && cur[0].IP == addr && cur[0].Hostname == "" {
			return nil
		}
		want = []corev1.LoadBalancerIngress{{IP: addr}}
	}
	upd := svc.DeepCopy()
	upd.Status.LoadBalancer.Ingress = want
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if _, err := c.cfg.Client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("service %s/%s: update status: %w", svc.Namespace, svc.Name, err)
	}
	c.log.Info("status updated", "service", svc.Namespace+"/"+svc.Name, "ingress", addr)
	return nil
}

// refuse tells the Service's owner, once per requested address, why it is not served.
// The Event is best effort: its failure is logged and does not hold up the Service.
func (c *Controller) refuse(ctx context.Context, svc *corev1.Service, why error) {
	key := svc.Namespace + "/" + svc.Name
	c.mu.Lock()
	seen := c.rejected[key] == svc.Spec.LoadBalancerIP
	c.rejected[key] = svc.Spec.LoadBalancerIP
	c.mu.Unlock()
	if seen {
		return
	}
	msg := fmt.Sprintf("site %s does not serve loadBalancerIP %s: %v", c.cfg.Site, svc.Spec.LoadBalancerIP, why)
	c.log.Warn("service not served", "service", key, "err", why)
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", svc.Name, now.UnixNano()), Namespace: svc.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: svc.Namespace,
			Name: svc.Name, UID: svc.UID, ResourceVersion: svc.ResourceVersion},
		Reason:              ReasonAddressNotAllowed,
		Message:             msg,
		Type:                corev1.EventTypeWarning,
		Source:              corev1.EventSource{Component: component},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: component,
		ReportingInstance:   component + "-" + c.cfg.Site,
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if _, err := c.cfg.Client.CoreV1().Events(svc.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		c.log.Warn("record event", "service", key, "reason", ReasonAddressNotAllowed, "err", err)
		// Forget the request, so the Service's next update tries again.
		c.mu.Lock()
		delete(c.rejected, key)
		c.mu.Unlock()
	}
}
