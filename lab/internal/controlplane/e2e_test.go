package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/lab/internal/controlplane/roles"
	"hadron.dev/hadron/lab/internal/nodes"
)

// TestMain lets the test binary stand in for hadron-lab: Run starts the components as
// `<binary> kube-apiserver ...`, and here the binary is this test.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		if code, ok := roles.Run(os.Args[1], os.Args[2:]); ok {
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

// e2eIP is far from the lab's own addresses (127.0.1.1, 127.0.2.1) so the test can run
// beside a running lab.
const e2eIP = "127.0.9.1"

func TestSiteZoneFailureMovesPods(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole control plane")
	}
	zones := []string{"test-1a", "test-1b", "test-1c"}
	dir := t.TempDir()
	site := startSite(t, Config{Name: "e2e", Region: "test-1", Zones: zones, IP: e2eIP, Dir: dir})
	ctx, errc := site.ctx, site.errc
	cs := clientFor(t, dir)

	// The kubeconfig names the site's context.
	kc, err := clientcmd.LoadFromFile(KubeconfigPath(dir))
	if err != nil || kc.CurrentContext != "hadron-lab-e2e" {
		t.Fatalf("kubeconfig context = %v, %v; want hadron-lab-e2e", kc, err)
	}
	checkNodeLabels(t, cs, zones)

	createSpreadDeployment(t, cs)
	eventually(t, 2*time.Minute, errc, "6 pods Running, 2 per zone", func() (bool, string) {
		perZone := runningPerZone(t, cs)
		return equalCounts(perZone, map[string]int{zones[0]: 2, zones[1]: 2, zones[2]: 2}), fmt.Sprint(perZone)
	})

	failStart := time.Now()
	if err := nodes.FailZone(ctx, cs, zones[0]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, errc, "zone a NotReady", func() (bool, string) {
		return zoneReady(t, cs, zones[0]) == 0, "some nodes still Ready"
	})
	eventually(t, 3*time.Minute, errc, "pods moved out of the failed zone", func() (bool, string) {
		perZone := runningPerZone(t, cs)
		return equalCounts(perZone, map[string]int{zones[1]: 3, zones[2]: 3}), fmt.Sprint(perZone)
	})
	t.Logf("pods rescheduled %s after the zone failed", time.Since(failStart).Round(time.Millisecond))

	if err := nodes.RestoreZone(ctx, cs, zones[0]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, errc, "zone a Ready again", func() (bool, string) {
		n := zoneReady(t, cs, zones[0])
		return n == 2, fmt.Sprintf("%d Ready", n)
	})

	// A single node fails and comes back the same way.
	node := nodes.Name("e2e", zones[1], nodes.GroupWorker, 0)
	if err := nodes.FailNode(ctx, cs, node); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, errc, "node NotReady", func() (bool, string) {
		return zoneReady(t, cs, zones[1]) == 1, "node still Ready"
	})
	if err := nodes.RestoreNode(ctx, cs, node); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, errc, "node Ready again", func() (bool, string) {
		return zoneReady(t, cs, zones[1]) == 2, "node not Ready"
	})
	if err := nodes.FailZone(ctx, cs, "no-such-zone"); !errors.Is(err, nodes.ErrNotFound) {
		t.Errorf("FailZone(unknown) = %v, want ErrNotFound", err)
	}

	site.stopAndCheck(t)
}

// runningSite is a site started by startSite.
type runningSite struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	errc   chan error
	done   chan struct{}
}

// startSite runs cfg in the background and waits for its ready file. The site is
// stopped at the end of the test in any case.
func startSite(t *testing.T, cfg Config) *runningSite {
	t.Helper()
	cfg.Binary = os.Args[0]
	cfg.Log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningSite{cfg: cfg, ctx: ctx, cancel: cancel, errc: make(chan error, 1), done: make(chan struct{})}
	start := time.Now()
	go func() { s.errc <- Run(ctx, cfg); close(s.done) }()
	t.Cleanup(func() {
		// Run logs through t: it must be over before the test is.
		cancel()
		select {
		case <-s.done:
		case <-time.After(90 * time.Second):
		}
		if t.Failed() {
			dumpLogs(t, cfg.Dir)
		}
	})
	eventually(t, 4*time.Minute, s.errc, "site ready", func() (bool, string) {
		_, err := os.Stat(ReadyPath(cfg.Dir))
		return err == nil, fmt.Sprint(err)
	})
	t.Logf("site ready after %s", time.Since(start).Round(time.Millisecond))
	return s
}

// stopAndCheck cancels the site and checks that Run returns cleanly and releases every
// port of the site's address.
func (s *runningSite) stopAndCheck(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.errc:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for _, port := range []int{APIServerPort, EtcdClientPort, EtcdPeerPort, ControllerManagerPort, SchedulerPort} {
		ln, err := net.Listen("tcp", hostPort(s.cfg.IP, port))
		if err != nil {
			t.Errorf("port %d still in use after stop: %v", port, err)
			continue
		}
		ln.Close()
	}
	if _, err := os.Stat(ReadyPath(s.cfg.Dir)); err == nil {
		t.Error("ready file left behind after stop")
	}
}

func createSpreadDeployment(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "spread"}
	replicas := int32(6)
	two := int64(2)
	honor := corev1.NodeInclusionPolicyHonor
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "spread", Namespace: "e2e"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}},
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew:     1,
						TopologyKey: corev1.LabelTopologyZone,
						// A failed zone's nodes are tainted; Honor leaves them out of the
						// spread, so the pods can all go to the zones that are left.
						WhenUnsatisfiable: corev1.DoNotSchedule,
						NodeTaintsPolicy:  &honor,
						LabelSelector:     &metav1.LabelSelector{MatchLabels: labels},
					}},
					Tolerations: []corev1.Toleration{
						{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &two},
						{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &two},
					},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("e2e").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// runningPerZone counts the Running, not terminating pods of the Deployment per zone.
func runningPerZone(t *testing.T, cs kubernetes.Interface) map[string]int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := cs.CoreV1().Pods("e2e").List(ctx, metav1.ListOptions{LabelSelector: "app=spread"})
	if err != nil {
		t.Logf("list pods: %v", err)
		return nil
	}
	nl, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("list nodes: %v", err)
		return nil
	}
	zoneOf := map[string]string{}
	for _, n := range nl.Items {
		zoneOf[n.Name] = n.Labels[corev1.LabelTopologyZone]
	}
	out := map[string]int{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			out[zoneOf[p.Spec.NodeName]]++
		}
	}
	return out
}

func zoneReady(t *testing.T, cs kubernetes.Interface, zone string) int {
	list, err := nodes.InZone(context.Background(), cs, zone)
	if err != nil {
		t.Logf("list zone: %v", err)
		return -1
	}
	n := 0
	for i := range list {
		if nodes.Ready(&list[i]) {
			n++
		}
	}
	return n
}

func checkNodeLabels(t *testing.T, cs kubernetes.Interface, zones []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nl, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	perZone := map[string]int{}
	for _, n := range nl.Items {
		if n.Labels[nodes.LabelSite] != "e2e" || n.Labels[corev1.LabelTopologyRegion] != "test-1" {
			t.Errorf("node %s labels %v", n.Name, n.Labels)
		}
		perZone[n.Labels[corev1.LabelTopologyZone]]++
	}
	want := map[string]int{zones[0]: 2, zones[1]: 2, zones[2]: 2}
	if !equalCounts(perZone, want) {
		t.Errorf("nodes per zone = %v, want %v", perZone, want)
	}
}

func equalCounts(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func clientFor(t *testing.T, dir string) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", KubeconfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	rc.Timeout = 10 * time.Second
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// eventually polls cond every 250ms until it holds, the deadline passes, or Run fails.
func eventually(t *testing.T, timeout time.Duration, errc <-chan error, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s (last: %s)", what, timeout, last)
		}
		select {
		case err := <-errc:
			t.Fatalf("%s: Run returned: %v", what, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func dumpLogs(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	sort.Strings(files)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		t.Logf("==> %s\n%s", f, strings.Join(lines, "\n"))
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
