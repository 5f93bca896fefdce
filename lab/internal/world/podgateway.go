package world

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/internal/pki"
	"hadron.dev/hadron/lab/internal/topology"
)

// PodConfigName is the ConfigMap and the Secret, in the demo's namespace of every site
// with real nodes, that tell the demo's pods how to reach the mirror set (DSN, site,
// CA certificate, password). demo/pods/shop-web.yaml reads them.
const PodConfigName = "shop-web-pods"

// podGateway forwards TCP from the host's address on a site's pod bridge to the mirror
// set's members. A pod's 127/8 is its own network namespace, so the members' loopback
// addresses are out of its reach; the forwarder dials exactly the address the site's
// host processes dial (the member's own in the region, the link's listener across
// regions), so every cross-region path of a pod still crosses a cuttable link.
type podGateway struct {
	log *slog.Logger
	lns []net.Listener
	wg  sync.WaitGroup
	mu  sync.Mutex
	cs  map[net.Conn]bool
}

// target is where a gateway's listener forwards to, asked at every connection: a
// member in a pod has a new address with every pod.
type target func(ctx context.Context) (string, error)

// route is one listener of a gateway: its port on the site's PodGateway and where it
// forwards.
type route struct {
	port int
	to   target
}

func startPodGateway(s topology.Site, routes []route, log *slog.Logger) (*podGateway, error) {
	g := &podGateway{log: log.With("site", s.Name), cs: map[net.Conn]bool{}}
	for _, r := range routes {
		addr := net.JoinHostPort(s.PodGateway(), strconv.Itoa(r.port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			g.close()
			return nil, fmt.Errorf("site %s: pod gateway %s: %w", s.Name, addr, err)
		}
		g.lns = append(g.lns, ln)
		g.wg.Add(1)
		go g.serve(ln, r.to)
	}
	return g, nil
}

func (g *podGateway) serve(ln net.Listener, target target) {
	defer g.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go g.forward(c, target)
	}
}

func (g *podGateway) track(c net.Conn, on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if on {
		g.cs[c] = true
	} else {
		delete(g.cs, c)
	}
}

func (g *podGateway) forward(c net.Conn, target target) {
	defer c.Close()
	addr, err := target(context.Background())
	if err != nil {
		g.log.Debug("pod gateway: target", "err", err)
		return
	}
	up, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		g.log.Debug("pod gateway: dial", "target", addr, "err", err)
		return
	}
	defer up.Close()
	g.track(c, true)
	g.track(up, true)
	defer g.track(c, false)
	defer g.track(up, false)
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
}

// close stops listening and cuts the open connections, as a node's network going away.
func (g *podGateway) close() {
	if g == nil {
		return
	}
	for _, ln := range g.lns {
		_ = ln.Close()
	}
	g.mu.Lock()
	for c := range g.cs {
		_ = c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// podDSN is the DSN of the demo's pods in site s: every member through the site's pod
// gateway, verified against the lab's CA (the members' certificates name the gateways).
func (d *databases) podDSN(s topology.Site) string {
	var hosts []string
	for k := range d.set.Spec.Members {
		hosts = append(hosts, net.JoinHostPort(s.PodGateway(), strconv.Itoa(topology.PodMemberPort(k))))
	}
	u := url.URL{Scheme: "postgres", User: url.User(d.set.Spec.Credentials.User), Host: strings.Join(hosts, ","), Path: "/" + d.set.Spec.Database}
	q := url.Values{"target_session_attrs": {"read-write"}, "connect_timeout": {"2"},
		"sslmode": {"verify-full"}, "sslrootcert": {"/etc/hadron-lab/ca.crt"}}
	u.RawQuery = q.Encode()
	return u.String()
}

// gatewayRoutes are where site s's gateway forwards: for the k-th member
// (PodMemberPort(k)) to a member in one of s's own pods at the pod's IP, to any other
// where s's host processes reach it (topology.LinkTo: across regions, the link's
// listener); with members in pods and backups, to the object store through s's link
// to it (PodObjectStorePort), for the members' pgBackRest.
func (d *databases) gatewayRoutes(s topology.Site) ([]route, error) {
	var out []route
	fixed := func(addr string) target { return func(context.Context) (string, error) { return addr, nil } }
	for k, m := range d.cfg.Members() {
		port := topology.PodMemberPort(k)
		if m.Pod && m.Site == s.Name {
			name := m.Name
			out = append(out, route{port, func(ctx context.Context) (string, error) {
				if d.pods == nil {
					return "", fmt.Errorf("member %s: its pods are not started", name)
				}
				return d.pods.podAddr(ctx, name)
			}})
			continue
		}
		addr, err := d.cfg.LinkTo(s, m)
		if err != nil {
			return nil, fmt.Errorf("site %s: pod gateway: %w", s.Name, err)
		}
		out = append(out, route{port, fixed(addr)})
	}
	if d.cfg.MemberPods && d.cfg.BackupsEnabled() {
		addr, err := d.cfg.ObjectStoreFrom(s)
		if err != nil {
			return nil, fmt.Errorf("site %s: pod gateway: object store: %w", s.Name, err)
		}
		out = append(out, route{topology.PodObjectStorePort, fixed(addr)})
	}
	return out, nil
}

// writePodConfig puts the demo pods' ConfigMap and Secret into site s.
func (w *World) writePodConfig(ctx context.Context, s *site) error {
	ca, err := os.ReadFile(filepath.Join(w.opts.Dir.CA(), pki.CACert))
	if err != nil {
		return fmt.Errorf("site %s: pod config: %w", s.top.Name, err)
	}
	pw, err := w.db.password()
	if err != nil {
		return fmt.Errorf("site %s: pod config: %w", s.top.Name, err)
	}
	ns := topology.DemoNamespace
	meta := metav1.ObjectMeta{Name: PodConfigName, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "hadron-lab"}}
	cm := &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{
		"HADRON_DEMO_DSN":    w.db.podDSN(s.top),
		"HADRON_DEMO_SITE":   s.top.Name,
		"HADRON_DEMO_LISTEN": ":" + strconv.Itoa(topology.PortDemo),
	}}
	sec := &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"ca.crt": ca, "PGPASSWORD": []byte(pw)}}
	return applyPodConfig(ctx, s.client, ns, cm, sec)
}

func applyPodConfig(ctx context.Context, c kubernetes.Interface, ns string, cm *corev1.ConfigMap, sec *corev1.Secret) error {
	if err := ensureNamespace(ctx, c, ns); err != nil {
		return err
	}
	if cm != nil {
		if err := applyConfigMap(ctx, c, ns, cm); err != nil {
			return err
		}
	}
	if sec == nil {
		return nil
	}
	sec.Namespace = ns
	return applySecret(ctx, c, sec)
}

// startPods gives a site with real nodes what the demo's pods need: the gateway to the
// members and their configuration.
func (w *World) startPods(ctx context.Context, s *site) error {
	if w.cfg.RealNodes == 0 || w.db == nil {
		return nil
	}
	if err := w.startPodGateway(s); err != nil {
		return err
	}
	if err := w.writePodConfig(ctx, s); err != nil {
		s.podGW.close()
		s.podGW = nil
		return err
	}
	return nil
}

// startPodGateway starts site s's gateway unless it runs (members in pods need it
// before the mirror set's bootstrap: it is their address).
func (w *World) startPodGateway(s *site) error {
	if s.podGW != nil {
		return nil
	}
	routes, err := w.db.gatewayRoutes(s.top)
	if err != nil {
		return err
	}
	g, err := startPodGateway(s.top, routes, w.log.With("component", "pod-gateway"))
	if err != nil {
		return err
	}
	s.podGW = g
	return nil
}

func applyConfigMap(ctx context.Context, c kubernetes.Interface, ns string, cm *corev1.ConfigMap) error {
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("configmap %s/%s: %w", ns, cm.Name, err)
		}
		if _, err := c.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("configmap %s/%s: %w", ns, cm.Name, err)
		}
	}
	return nil
}
