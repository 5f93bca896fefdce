package world

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/lab/internal/lbservice"
	"hadron.dev/hadron/lab/internal/nodes"
	"hadron.dev/hadron/lab/internal/realnode"
	"hadron.dev/hadron/lab/internal/topology"
)

// realNode is a real worker node of a site: its containerd and its kubelet, both
// children of the supervisor like the site's other processes.
type realNode struct {
	node       realnode.Node
	containerd *proc
	kubelet    *proc
	// stopped is set while the node is down (a fault, or not started yet): restore
	// starts only a stopped node; a running one (drained) is only uncordoned.
	stopped bool
}

// kubeletRole checks that the lab binary has the kubelet role before anything starts
// (a hadron-lab older than the role, or one built without roles/kubelet.go).
func kubeletRole(ctx context.Context, bin string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "kubelet", "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("real nodes: %s has no kubelet role (make hadron-lab): %w: %.200s", bin, err, out)
	}
	return nil
}

// image tarballs the supervisor builds once per start and imports into every node.
func (w *World) imageTarballs() (map[string]string, error) {
	dir := w.opts.Dir.path("images")
	pause := filepath.Join(filepath.Dir(w.opts.LabBinary), "hadron-lab-pause")
	if _, err := os.Stat(pause); err != nil {
		p, lerr := exec.LookPath("hadron-lab-pause")
		if lerr != nil {
			return nil, fmt.Errorf("real nodes: the pause binary hadron-lab-pause is neither beside %s nor on PATH (make build)", w.opts.LabBinary)
		}
		pause = p
	}
	demo, err := exec.LookPath(w.opts.DemoBinary)
	if err != nil {
		return nil, fmt.Errorf("real nodes: demo binary: %w", err)
	}
	specs := []realnode.ImageSpec{
		{Ref: realnode.PauseImage, Files: []realnode.File{{Host: pause, Image: "/pause"}}, Entrypoint: []string{"/pause"}, User: "65535"},
		{Ref: realnode.DemoImage, Files: []realnode.File{{Host: demo, Image: "/usr/local/bin/hadron-demo"}}, Entrypoint: []string{"/usr/local/bin/hadron-demo"}},
	}
	// hadron goes into the PostgreSQL image for the members in pods (memberPods).
	hadron := ""
	if w.cfg.MemberPods {
		// Beside hadron-lab first (make build puts them together), as for the pause binary.
		hadron = filepath.Join(filepath.Dir(w.opts.LabBinary), "hadron")
		if _, serr := os.Stat(hadron); serr != nil {
			if hadron, err = exec.LookPath(w.opts.HadronBinary); err != nil {
				return nil, fmt.Errorf("real nodes: hadron binary for the members' pods (neither beside %s nor on PATH): %w", w.opts.LabBinary, err)
			}
		}
	}
	if pg, err := realnode.PostgresSpec(context.Background(), hadron); err == nil {
		specs = append(specs, pg)
	} else {
		w.log.Warn("real nodes: no PostgreSQL image", "err", err)
	}
	out := map[string]string{}
	for _, s := range specs {
		start := time.Now()
		path := filepath.Join(dir, filepath.Base(s.Ref)+".tar")
		if err := realnode.BuildImage(context.Background(), s, path); err != nil {
			return nil, err
		}
		out[s.Ref] = path
		w.event("image %s built in %s", s.Ref, time.Since(start).Round(10*time.Millisecond))
	}
	// hadron's own image (make images: bin/images/hadron.tar beside hadron-lab) is
	// imported as it is when it was built, so the Helm chart's pods find it; it is not
	// built here (a static hadron is minutes of a busy machine).
	if p := filepath.Join(filepath.Dir(w.opts.LabBinary), "images", "hadron.tar"); fileExists(p) {
		out[realnode.HadronRepository] = p
		w.event("image %s from %s", realnode.HadronRepository, p)
	}
	return out, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// buildImages builds the real nodes' images while the control planes start (the
// PostgreSQL image alone takes a minute of a busy machine); startRealNodes waits for it.
func (w *World) buildImages() {
	w.imagesDone = make(chan struct{})
	go func() {
		defer close(w.imagesDone)
		w.images, w.imagesErr = w.imageTarballs()
	}()
}

// startRealNodes brings up every site's real nodes in parallel once the images
// are built; it returns once each node is Ready in its site's API.
func (w *World) startRealNodes(ctx context.Context) error {
	select {
	case <-w.imagesDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	if w.imagesErr != nil {
		return w.imagesErr
	}
	return w.eachSite(func(_ int, s *site) error {
		if w.cfg.RealNodesOf(s.top) == 0 {
			return nil
		}
		return w.startSiteNodes(ctx, s)
	})
}

// startSiteNodes starts (or starts again, after a site failure) the site's real nodes,
// and the load balancer of its Services of type LoadBalancer (the pods' way in, from
// the site's own address range).
func (w *World) startSiteNodes(ctx context.Context, s *site) error {
	if len(s.nodes) == 0 {
		for k := range w.cfg.RealNodesOf(s.top) {
			n := realnode.New(s.top, k, w.opts.Dir.Site(s.top.Name), siteKubeconfig(w.opts.Dir.Site(s.top.Name)))
			cdPath, cdArgs := n.InMountNS("containerd", n.ContainerdArgs()...)
			kPath, kArgs := n.InMountNS(w.opts.LabBinary, append([]string{"kubelet"}, n.KubeletArgs()...)...)
			s.nodes = append(s.nodes, &realNode{
				node:       n,
				containerd: &proc{name: "containerd-" + n.Name, path: cdPath, args: cdArgs, logPath: w.opts.Dir.ProcLog("containerd-" + n.Name), log: w.log},
				kubelet:    &proc{name: "kubelet-" + n.Name, path: kPath, args: kArgs, logPath: w.opts.Dir.ProcLog("kubelet-" + n.Name), log: w.log},
			})
		}
	}
	for _, rn := range s.nodes {
		if err := w.startNode(ctx, s, rn); err != nil {
			return err
		}
	}
	if s.lbsvc == nil {
		// The controller lives until the site goes down (Close), not with the request
		// that restored the site.
		c, err := lbservice.Start(context.WithoutCancel(ctx), lbservice.Config{Site: s.top.Name, Client: s.client,
			Prefix: s.top.AddressPrefix(), Log: w.log.With("component", "lbservice", "site", s.top.Name)})
		if err != nil {
			return fmt.Errorf("site %s: load balancer of Services: %w", s.top.Name, err)
		}
		s.lbsvc = c
	}
	return nil
}

func (w *World) startNode(ctx context.Context, s *site, rn *realNode) error {
	n := rn.node
	start := time.Now()
	rn.stopped = true // until it is Ready
	// A node starts from nothing: what a crashed run left is removed first.
	if err := n.Cleanup(ctx, w.log); err != nil {
		w.log.Warn("real node: cleanup before start", "node", n.Name, "err", err)
	}
	if err := n.Prepare(ctx); err != nil {
		return err
	}
	if err := rn.containerd.start(); err != nil {
		return err
	}
	if err := waitFile(ctx, n.Socket(), 30*time.Second, rn.containerd.exited()); err != nil {
		return fmt.Errorf("node %s: containerd not ready: %w (log: %s)", n.Name, err, rn.containerd.logPath)
	}
	for ref, path := range w.images {
		out, err := exec.CommandContext(ctx, "ctr", "--address", n.Socket(), "--namespace", "k8s.io", "images", "import", path).CombinedOutput()
		if err != nil {
			return fmt.Errorf("node %s: import image %s: %w: %s", n.Name, ref, err, out)
		}
	}
	if err := rn.kubelet.start(); err != nil {
		return err
	}
	if err := w.waitNodeReady(ctx, s, n.Name, 2*time.Minute, rn.kubelet.exited()); err != nil {
		return fmt.Errorf("node %s: %w (log: %s)", n.Name, err, rn.kubelet.logPath)
	}
	if err := w.localVolumes(ctx, s, n); err != nil {
		return err
	}
	rn.stopped = false
	w.event("site %s: real node %s ready in %s (containerd %s, pods in %s)", s.top.Name, n.Name, time.Since(start).Round(100*time.Millisecond), n.Socket(), s.top.PodCIDR())
	return nil
}

// waitNodeReady polls the site's API until the node reports Ready.
func (w *World) waitNodeReady(ctx context.Context, s *site, name string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := "not registered"
	for {
		if n, err := s.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			last = "registered, not Ready"
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady {
					if c.Status == corev1.ConditionTrue {
						return nil
					}
					last = fmt.Sprintf("Ready=%s: %s", c.Status, c.Message)
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not Ready (%s): %w", last, ctx.Err())
		case <-exited:
			return errors.New("kubelet exited")
		case <-tick.C:
		}
	}
}

// stopSiteNodes stops the site's real nodes and removes every trace of them from the
// host, the site's pod bridge last. A crash gets the same end state, only without
// grace: a failed region's containers are gone.
func (w *World) stopSiteNodes(ctx context.Context, s *site, crash bool) {
	for _, rn := range s.nodes {
		w.stopNode(ctx, rn, crash)
	}
	if len(s.nodes) > 0 {
		if err := realnode.RemoveBridge(ctx, s.top); err != nil {
			w.log.Warn("real nodes: bridge", "site", s.top.Name, "err", err)
		}
	}
}

// stopNode stops one real node: the kubelet first (it would restart the pods), then
// the pods through the CRI, then containerd, then shims, mounts and cgroups.
func (w *World) stopNode(ctx context.Context, rn *realNode, crash bool) {
	grace := 10 * time.Second
	if crash {
		grace = 0
	}
	rn.stopped = true
	if err := rn.kubelet.stop(ctx, grace); err != nil {
		w.log.Warn("stop kubelet", "node", rn.node.Name, "err", err)
	}
	// Even after a crash the pods go through the CRI: only then does the CNI take
	// their interfaces and network namespaces back.
	if err := rn.node.RemovePods(ctx, w.log); err != nil {
		w.log.Warn("remove pods", "node", rn.node.Name, "err", err)
	}
	if err := rn.containerd.stop(ctx, grace); err != nil {
		w.log.Warn("stop containerd", "node", rn.node.Name, "err", err)
	}
	if err := rn.node.Cleanup(ctx, w.log); err != nil {
		w.log.Warn("real node cleanup", "node", rn.node.Name, "err", err)
	}
}

// nodesInZone lists the site's real nodes in zone.
func nodesInZone(s *site, zone string) []*realNode {
	var out []*realNode
	for _, rn := range s.nodes {
		if rn.node.Zone == zone {
			out = append(out, rn)
		}
	}
	return out
}

// failZoneNodes stops the real nodes of a failed zone as a power loss would: their
// kubelets stop reporting (the node goes NotReady) and their containers die; the
// Deployment's pods are evicted from the node and rescheduled by the site's control
// plane to the real nodes of other zones. It returns the nodes it stopped.
func (w *World) failZoneNodes(ctx context.Context, s *site, zone string) []string {
	var names []string
	for _, rn := range nodesInZone(s, zone) {
		w.stopNode(ctx, rn, true)
		names = append(names, rn.node.Name)
	}
	return names
}

// realNodeNamed finds a real node by name, with its site.
func (w *World) realNodeNamed(name string) (*site, *realNode) {
	for _, s := range w.sites {
		for _, rn := range s.nodes {
			if rn.node.Name == name {
				return s, rn
			}
		}
	}
	return nil, nil
}

// faultRealNode fails a real node as a machine's loss would (its kubelet and its
// containers stop; the control plane marks it NotReady and moves its pods), or restores
// it: a stopped node starts again from nothing, and either way a drain's cordon ends.
// The simulated nodes' heartbeat label means nothing to a kubelet.
func (w *World) faultRealNode(ctx context.Context, s *site, rn *realNode, fail bool) error {
	if s.failed {
		return fmt.Errorf("node %s: site %s is down", rn.node.Name, s.top.Name)
	}
	if fail {
		w.stopNode(ctx, rn, true)
		w.event("real node %s (site %s) failed: kubelet, containerd and its containers stopped", rn.node.Name, s.top.Name)
		return nil
	}
	if rn.stopped {
		if err := w.startNode(ctx, s, rn); err != nil {
			return fmt.Errorf("restore node %s: %w", rn.node.Name, err)
		}
	}
	if err := nodes.Uncordon(ctx, s.client, rn.node.Name); err != nil {
		return fmt.Errorf("restore node %s: %w", rn.node.Name, err)
	}
	w.event("real node %s (site %s) restored", rn.node.Name, s.top.Name)
	return nil
}

// restoreZoneNodes starts the real nodes of a restored zone again, from nothing.
func (w *World) restoreZoneNodes(ctx context.Context, s *site, zone string) error {
	var errs []error
	for _, rn := range nodesInZone(s, zone) {
		if rn.stopped {
			errs = append(errs, w.startNode(ctx, s, rn))
		}
	}
	return errors.Join(errs...)
}

// sweepRealNodes removes what the real nodes of a crashed supervisor left on the host.
func sweepRealNodes(ctx context.Context, d Dir) error {
	cfg, err := topology.Load(d.Config())
	if err != nil || cfg.RealNodes == 0 {
		return nil
	}
	var errs []error
	for _, s := range cfg.Indexed() {
		if cfg.RealNodesOf(s) == 0 {
			continue
		}
		for k := range cfg.RealNodesOf(s) {
			n := realnode.New(s, k, d.Site(s.Name), siteKubeconfig(d.Site(s.Name)))
			if err := n.Cleanup(ctx, slog.Default()); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, realnode.RemoveBridge(ctx, s))
	}
	return errors.Join(errs...)
}

// StorageClassLocal is the lab's storage class of local volumes on real nodes: static
// PersistentVolumes the lab creates on each node (the lab runs no provisioner), bound
// when a pod is scheduled, as a cloud's local SSDs are.
const StorageClassLocal = "hadron-lab-local"

// volumesPerNode is how many local volumes each real node offers.
const volumesPerNode = 4

// localVolumes creates the storage class and the node's local PersistentVolumes, each a
// directory under the node's state (removed with it by `down`).
func (w *World) localVolumes(ctx context.Context, s *site, n realnode.Node) error {
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	reclaim := corev1.PersistentVolumeReclaimRetain
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: StorageClassLocal}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &wait, ReclaimPolicy: &reclaim}
	if _, err := s.client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("site %s: storage class: %w", s.top.Name, err)
	}
	fs := corev1.PersistentVolumeFilesystem
	for k := range volumesPerNode {
		name := fmt.Sprintf("%s-vol-%d", n.Name, k)
		dir := n.Volume(k)
		// Any user of the pod may write: the kubelet gives a local volume no fsGroup.
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return fmt.Errorf("node %s: volume: %w", n.Name, err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			return fmt.Errorf("node %s: volume: %w", n.Name, err)
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{realnode.LabelKind: realnode.KindReal}},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: reclaim,
				StorageClassName:              StorageClassLocal,
				VolumeMode:                    &fs,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{n.Name}}},
				}}}},
			},
		}
		if _, err := s.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("node %s: volume %s: %w", n.Name, name, err)
		}
	}
	return nil
}
