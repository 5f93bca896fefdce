package controlplane

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"

	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/lab/internal/controlplane/roles"
	"hadron.dev/hadron/lab/internal/nodes"
)

// Run runs the site's control plane until ctx is cancelled, then stops every component
// and returns once their ports are released. It writes the admin kubeconfig
// (KubeconfigPath) before the API server starts and the ready file (ReadyPath) once
// /readyz is ok and every node is Ready. An error means the site could not start or a
// component died; everything already started is stopped first.
func Run(ctx context.Context, cfg Config) (err error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	l := layout{dir: c.Dir, caDir: c.CADir}
	log := c.Log.With("site", c.Name)
	start := time.Now()
	_ = os.Remove(l.ready())
	defer os.Remove(l.ready())

	if err := checkPortsFree(c.IP); err != nil {
		return fmt.Errorf("site %s: %w", c.Name, err)
	}
	binary := c.Binary
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return fmt.Errorf("site %s: find own executable: %w", c.Name, err)
		}
	}
	for _, d := range []string{filepath.Dir(l.logs("x")), filepath.Dir(l.component("x")), filepath.Dir(l.pki("x"))} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("site %s: %w", c.Name, err)
		}
	}
	if err := prepareFiles(c, l); err != nil {
		return fmt.Errorf("site %s: %w", c.Name, err)
	}

	etcd, err := startEtcd(c, l)
	if err != nil {
		return fmt.Errorf("site %s: %w", c.Name, err)
	}
	var comps []*component
	defer func() {
		stopAll(comps)
		etcd.Close()
		log.Info("control plane stopped")
	}()
	log.Info("etcd ready", "client", "http://"+hostPort(c.IP, EtcdClientPort), "elapsed", time.Since(start).Round(time.Millisecond))

	args := componentArgs(c, l)
	launch := func(role string) error {
		comp, err := startComponent(binary, role, args[role], l.logs(role))
		if err != nil {
			return fmt.Errorf("site %s: %w", c.Name, err)
		}
		comps = append(comps, comp)
		return nil
	}
	if err := launch(roles.APIServer); err != nil {
		return err
	}
	cs, err := adminClient(c, l)
	if err != nil {
		return fmt.Errorf("site %s: %w", c.Name, err)
	}
	readyCtx, cancelReady := context.WithTimeout(ctx, c.ReadyTimeout)
	defer cancelReady()
	if err := waitAPIServer(readyCtx, cs, comps[0]); err != nil {
		return fmt.Errorf("site %s: %w (log: %s)", c.Name, err, l.logs(roles.APIServer))
	}
	log.Info("kube-apiserver ready", "url", apiServerURL(c.IP), "elapsed", time.Since(start).Round(time.Millisecond))

	for _, role := range []string{roles.ControllerManager, roles.Scheduler, roles.Kwok} {
		if err := launch(role); err != nil {
			return err
		}
	}
	specs := nodeSpecs(c)
	if err := nodes.Ensure(readyCtx, cs, specs); err != nil {
		return fmt.Errorf("site %s: %w", c.Name, err)
	}
	if err := waitNodesReady(readyCtx, cs, specs, comps); err != nil {
		return fmt.Errorf("site %s: %w (logs: %s)", c.Name, err, filepath.Dir(l.logs("x")))
	}
	cancelReady()
	if err := os.WriteFile(l.ready(), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("site %s: %w", c.Name, err)
	}
	log.Info("site ready", "kubeconfig", l.kubeconfig(), "context", Context(c.Name), "nodes", len(specs), "elapsed", time.Since(start).Round(time.Millisecond))

	if c.Autoscaler != "" {
		var wg sync.WaitGroup
		scaleCtx, stopScale := context.WithCancel(ctx)
		defer func() { stopScale(); wg.Wait() }()
		wg.Go(func() { autoscale(scaleCtx, c, cs, log) })
	}

	comp, ok := exited(ctx, comps)
	if !ok {
		log.Info("stopping control plane")
		return nil
	}
	return fmt.Errorf("site %s: %w: %s (%v; log: %s)", c.Name, ErrComponentExited, comp.role, comp.err, l.logs(comp.role))
}

// stopAll stops the components in reverse order of start: the API server last, so that
// the others can finish their requests.
func stopAll(comps []*component) {
	if len(comps) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, comp := range comps[1:] {
		wg.Go(func() { comp.stop(10 * time.Second) })
	}
	wg.Wait()
	comps[0].stop(20 * time.Second)
}

// checkPortsFree fails early, with the address, when another process (often a site
// left running) holds one of the site's ports.
func checkPortsFree(ip string) error {
	for _, port := range []int{APIServerPort, EtcdClientPort, EtcdPeerPort, ControllerManagerPort, SchedulerPort} {
		ln, err := net.Listen("tcp", hostPort(ip, port))
		if err != nil {
			return fmt.Errorf("port %s is in use (is this site already running?): %w", hostPort(ip, port), err)
		}
		ln.Close()
	}
	return nil
}

// prepareFiles writes the certificates, keys, kubeconfigs and kwok configuration.
func prepareFiles(c Config, l layout) error {
	ca, err := pki.LoadOrCreate(c.CADir, pkix.Name{CommonName: "hadron-lab-ca", Organization: []string{"hadron lab"}})
	if err != nil {
		return err
	}
	dns, ips := apiServerSANs(c)
	for _, ip := range ips {
		dns = append(dns, ip.String())
	}
	if err := ca.Issue(l.pki("apiserver"), pki.Request{CommonName: "kube-apiserver", Hosts: dns, Server: true}); err != nil {
		return err
	}
	if err := ensureServiceAccountKey(l.pki("sa.key"), l.pki("sa.pub")); err != nil {
		return err
	}
	clients := []struct {
		base, cn, org, kubeconfig string
	}{
		{"admin", "hadron-lab-admin", "system:masters", l.kubeconfig()},
		{roles.ControllerManager, "system:kube-controller-manager", "", l.component(roles.ControllerManager)},
		{roles.Scheduler, "system:kube-scheduler", "", l.component(roles.Scheduler)},
		// kwok writes node and pod status for every simulated node, as kubelets would.
		{roles.Kwok, "kwok", "system:masters", l.component(roles.Kwok)},
	}
	for _, cl := range clients {
		var orgs []string
		if cl.org != "" {
			orgs = []string{cl.org}
		}
		if err := ca.Issue(l.pki(cl.base), pki.Request{CommonName: cl.cn, Orgs: orgs, Client: true}); err != nil {
			return err
		}
		if err := writeKubeconfig(cl.kubeconfig, c.Name, apiServerURL(c.IP), l.ca("ca.crt"), l.pki(cl.base)); err != nil {
			return err
		}
	}
	stages := []string{nodefast.DefaultNodeInit, nodeheartbeat.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady, podfast.DefaultPodComplete, podfast.DefaultPodDelete}
	return os.WriteFile(l.kwokConfig(), []byte(kwokConfig(stages)), 0o644)
}

func adminClient(c Config, l layout) (kubernetes.Interface, error) {
	rc := &rest.Config{
		Host: apiServerURL(c.IP),
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   l.ca("ca.crt"),
			CertFile: l.pki("admin.crt"),
			KeyFile:  l.pki("admin.key"),
		},
		Timeout: 10 * time.Second,
		QPS:     50,
		Burst:   100,
	}
	return kubernetes.NewForConfig(rc)
}

// nodeSpecs lists the nodes the site starts with: NodesPerZone workers in every zone,
// or, for a cold stand-by site with an autoscaler, one control node per zone.
func nodeSpecs(c Config) []nodes.Spec {
	var out []nodes.Spec
	for _, z := range c.Zones {
		if c.Autoscaler != "" {
			out = append(out, nodes.Spec{Name: nodes.Name(c.Name, z, nodes.GroupControl, 0), Site: c.Name, Region: c.Region, Zone: z, Group: nodes.GroupControl})
			continue
		}
		for i := range c.NodesPerZone {
			out = append(out, nodes.Spec{Name: nodes.Name(c.Name, z, nodes.GroupWorker, i), Site: c.Name, Region: c.Region, Zone: z})
		}
	}
	return out
}

// waitAPIServer polls /readyz until it answers ok, the API server exits or ctx ends.
func waitAPIServer(ctx context.Context, cs kubernetes.Interface, apiserver *component) error {
	var last error
	for {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		body, err := cs.CoreV1().RESTClient().Get().AbsPath("/readyz").DoRaw(c)
		cancel()
		if err == nil && string(body) == "ok" {
			return nil
		}
		last = err
		select {
		case <-apiserver.done:
			return fmt.Errorf("%w: %s (%v)", ErrComponentExited, apiserver.role, apiserver.err)
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready: %w (last: %v)", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitNodesReady polls until every node of specs is Ready and untainted.
func waitNodesReady(ctx context.Context, cs kubernetes.Interface, specs []nodes.Spec, comps []*component) error {
	want := map[string]bool{}
	for _, s := range specs {
		want[s.Name] = true
	}
	notReady := len(want)
	for {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		list, err := cs.CoreV1().Nodes().List(c, listSite(specs))
		cancel()
		if err == nil {
			notReady = len(want)
			for i := range list.Items {
				if want[list.Items[i].Name] && nodes.Schedulable(&list.Items[i]) {
					notReady--
				}
			}
			if notReady == 0 {
				return nil
			}
		}
		for _, comp := range comps {
			select {
			case <-comp.done:
				return fmt.Errorf("%w: %s (%v)", ErrComponentExited, comp.role, comp.err)
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d nodes not Ready: %w", notReady, len(want), errors.Join(ctx.Err(), err))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
