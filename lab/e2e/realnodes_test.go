package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/lab/internal/world"
)

// realNodesConfig is a lab with two real nodes per workload site, in two zones, on
// regions 33-35 (pods in 10.244.33.0/24 and 10.244.34.0/24), away from the other lab
// tests' regions. Without daemons: the test is about pods, nodes and the load balancer,
// not about hadron.
const realNodesConfig = `
firstRegion: 33
latency: 10ms
daemons: false
realNodes: 2
sites:
  - {name: east, region: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], nodesPerZone: 1}
  - {name: west, region: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], nodesPerZone: 1}
  - {name: witness, region: eu-central-1, role: witness}
`

const (
	realEastLB  = "127.0.33.10:8080"
	realEastPod = "10.244.33."
)

// TestRealNodes runs the demo application as pods on real nodes (kubelet, containerd,
// runc, a bridge CNI) and checks that the site's load balancer serves from the pods'
// IPs, that a deleted pod comes back while the other keeps serving, that a zone's
// failure and a node's loss take the node NotReady and its pods to the other node, and
// that `down` leaves nothing on the host. It needs root, containerd, runc,
// containernetworking-plugins (scripts/install-deps.sh); without them it skips. It runs
// in `make test` (about 100 s here, ~40 s of it the lab's start; the costs are in
// docs/design/lab-real-nodes.md).
func TestRealNodes(t *testing.T) {
	skipWithoutRealNodes(t)
	labBin := binary(t, "hadron-lab", "HADRON_LAB_BINARY")
	if out, err := exec.Command(labBin, "kubelet", "--version").CombinedOutput(); err != nil {
		t.Fatalf("%s has no kubelet role (make hadron-lab): %v: %.200s", labBin, err, out)
	}
	l := &lab{t: t, bin: labBin, dir: filepath.Join(t.TempDir(), "lab")}
	cfg := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(cfg, []byte(realNodesConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	downed := false
	t.Cleanup(func() {
		if t.Failed() {
			l.dumpRealNodeLogs(60)
		}
		if !downed {
			if out, err := l.run(3*time.Minute, "down"); err != nil {
				t.Logf("cleanup down: %v\n%s", err, out)
			}
		}
	})

	start := time.Now()
	out := l.must(15*time.Minute, "up", "--config", cfg)
	t.Logf("lab with real nodes up in %s:\n%s", time.Since(start).Round(time.Second), out)

	east := l.siteClient(t, "east")
	ctx := context.Background()

	t.Run("real nodes registered beside the simulated ones", func(t *testing.T) {
		for name, zone := range map[string]string{"east-real-0": "us-east-1a", "east-real-1": "us-east-1b"} {
			n, err := east.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if n.Labels["hadron.dev/lab-node-kind"] != "real" || n.Labels[corev1.LabelTopologyZone] != zone {
				t.Errorf("%s labels: %v", name, n.Labels)
			}
			if !strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, "containerd://1.") {
				t.Errorf("%s runtime: %q", name, n.Status.NodeInfo.ContainerRuntimeVersion)
			}
			t.Logf("node %s: kubelet %s, %s, %s", n.Name, n.Status.NodeInfo.KubeletVersion, n.Status.NodeInfo.ContainerRuntimeVersion, n.Status.NodeInfo.KernelVersion)
		}
		all, err := east.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(all.Items) < 5 {
			t.Errorf("nodes: %d %v", len(all.Items), err)
		}
	})

	manifests, err := filepath.Abs(filepath.Join("..", "..", "demo", "pods"))
	if err != nil {
		t.Fatal(err)
	}
	l.must(time.Minute, "apply", "--site", "east", "-f", manifests)

	var first []string
	t.Run("load balancer serves from the ready pod IPs", func(t *testing.T) {
		eventually(t, 3*time.Minute, "two pods of shop-web serving behind east's load balancer", func() (bool, string) {
			seen := map[string]bool{}
			for range 8 {
				code, backend, err := lbGet(realEastLB, "/healthz")
				if err != nil || code != http.StatusOK {
					return false, fmt.Sprintf("%d %v (backend %q; pods: %s)", code, err, backend, podSummary(east))
				}
				if !strings.HasPrefix(backend, realEastPod) {
					return false, fmt.Sprintf("served by %q, not a pod (pods: %s)", backend, podSummary(east))
				}
				seen[backend] = true
			}
			first = keys(seen)
			return len(seen) == 2, fmt.Sprintf("backends %v (pods: %s)", first, podSummary(east))
		})
		t.Logf("east's load balancer routes to %v", first)
	})

	t.Run("a deleted pod comes back and serves", func(t *testing.T) {
		pods, err := east.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
		if err != nil || len(pods.Items) == 0 {
			t.Fatalf("pods: %v", err)
		}
		victim := pods.Items[0]
		killed := time.Now()
		if err := east.CoreV1().Pods("shop").Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Traffic continues: while the replacement starts, the load balancer answers
		// from the pod that was not deleted.
		victimBackend := victim.Status.PodIP + ":8080"
		served, failed := 0, 0
		eventually(t, 3*time.Minute, "a new pod ready and served by the load balancer", func() (bool, string) {
			seen := map[string]bool{}
			for range 8 {
				code, backend, err := lbGet(realEastLB, "/healthz")
				if err != nil || code != http.StatusOK {
					failed++
					return false, fmt.Sprintf("%d %v", code, err)
				}
				if backend != victimBackend {
					served++
				}
				seen[backend] = true
			}
			list, err := east.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
			if err != nil {
				return false, err.Error()
			}
			for _, p := range list.Items {
				if p.Name != victim.Name && p.UID != victim.UID && p.CreationTimestamp.After(killed.Add(-time.Second)) && seen[p.Status.PodIP+":8080"] {
					return true, ""
				}
			}
			return false, fmt.Sprintf("backends %v (pods: %s)", keys(seen), podSummary(east))
		})
		t.Logf("replacement pod serving %s after the delete; %d answers from the other pods meanwhile, %d failed requests", time.Since(killed).Round(100*time.Millisecond), served, failed)
		if served == 0 {
			t.Error("no request was served by another pod while the deleted one was replaced")
		}
	})

	t.Run("a zone's failure moves its pods to the other zone's node", func(t *testing.T) {
		l.must(3*time.Minute, "fail", "zone", "us-east-1a")
		podsMoved(t, east, "east-real-0", "east-real-1")
		// The failed node's containers are gone from the host, not only from the API.
		if _, err := os.Stat("/sys/fs/cgroup/memory/hadron-lab-east-real-0/kubepods"); err == nil {
			t.Error("the failed node's cgroups remain")
		}
		l.must(5*time.Minute, "restore", "zone", "us-east-1a")
		nodeBack(t, east, "east-real-0")
	})

	t.Run("a node's loss moves its pods to the other node", func(t *testing.T) {
		l.must(3*time.Minute, "fail", "node", "east-real-1")
		podsMoved(t, east, "east-real-1", "east-real-0")
		l.must(5*time.Minute, "restore", "node", "east-real-1")
		nodeBack(t, east, "east-real-1")
	})

	t.Run("a drained node's pods move, and restore uncordons it without a restart", func(t *testing.T) {
		// After the node loss above both pods are on east-real-0.
		before, err := east.CoreV1().Nodes().Get(ctx, "east-real-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l.must(3*time.Minute, "drain", "node", "east-real-0")
		eventually(t, 3*time.Minute, "two shop-web pods ready on east-real-1 and served", func() (bool, string) {
			return servedOnlyFrom(east, "east-real-1")
		})
		l.must(3*time.Minute, "restore", "node", "east-real-0")
		after, err := east.CoreV1().Nodes().Get(ctx, "east-real-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if after.Spec.Unschedulable || !nodeReady(after) {
			t.Errorf("east-real-0 after restore: unschedulable %v, ready %v", after.Spec.Unschedulable, nodeReady(after))
		}
		// A drained node is running: restore must not stop and start it (its Ready
		// condition would have changed since before the drain).
		if !readySince(after).Equal(readySince(before)) {
			t.Errorf("east-real-0 Ready since %s, before the drain since %s: restore restarted it", readySince(after), readySince(before))
		}
	})

	t.Run("down leaves nothing on the host", func(t *testing.T) {
		out := l.must(3*time.Minute, "down")
		downed = true
		t.Log(out)
		if err := exec.Command("ip", "link", "show", "hlab33").Run(); err == nil {
			t.Error("bridge hlab33 still exists")
		}
		b, _ := os.ReadFile("/proc/self/mountinfo")
		if strings.Contains(string(b), l.dir) {
			t.Errorf("mounts under %s remain", l.dir)
		}
		ps, _ := exec.Command("ps", "-eo", "args").Output()
		for _, line := range strings.Split(string(ps), "\n") {
			if strings.Contains(line, l.dir) {
				t.Errorf("process remains: %s", line)
			}
		}
		for _, n := range []string{"east-real-0", "east-real-1"} {
			if _, err := os.Stat("/sys/fs/cgroup/memory/hadron-lab-" + n); err == nil {
				t.Errorf("cgroup /hadron-lab-%s remains", n)
			}
		}
	})
}

// podsMoved waits until the failed node is NotReady and the load balancer serves only
// from two ready shop-web pods on the other node.
func podsMoved(t *testing.T, c kubernetes.Interface, failed, other string) {
	t.Helper()
	eventually(t, 3*time.Minute, failed+" NotReady, two shop-web pods ready on "+other+" and served", func() (bool, string) {
		n, err := c.CoreV1().Nodes().Get(context.Background(), failed, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if nodeReady(n) {
			return false, failed + " still Ready"
		}
		return servedOnlyFrom(c, other)
	})
}

// servedOnlyFrom says whether two shop-web pods are ready on node and the load balancer
// answers only from them.
func servedOnlyFrom(c kubernetes.Interface, node string) (bool, string) {
	list, err := c.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
	if err != nil {
		return false, err.Error()
	}
	on := map[string]bool{}
	for _, p := range list.Items {
		if p.Spec.NodeName == node && p.DeletionTimestamp == nil && podReady(p) {
			on[p.Status.PodIP+":8080"] = true
		}
	}
	if len(on) < 2 {
		return false, fmt.Sprintf("%d ready pods on %s (pods: %s)", len(on), node, podSummary(c))
	}
	for range 8 {
		code, backend, err := lbGet(realEastLB, "/healthz")
		if err != nil || code != http.StatusOK {
			return false, fmt.Sprintf("%d %v", code, err)
		}
		if !on[backend] {
			return false, fmt.Sprintf("served by %s, not a pod of %s (pods: %s)", backend, node, podSummary(c))
		}
	}
	return true, ""
}

// nodeBack waits until a restored node is Ready again.
func nodeBack(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	eventually(t, 3*time.Minute, name+" Ready again", func() (bool, string) {
		n, err := c.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return nodeReady(n), "not Ready"
	})
}

// lbGet asks the load balancer and returns the status and the backend that answered.
func lbGet(addr, path string) (int, string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Hadron-Backend"), nil
}

func (l *lab) siteClient(t *testing.T, site string) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(world.Dir(l.dir).Site(site), "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(rc)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readySince is when the node's Ready condition last changed.
func readySince(n *corev1.Node) time.Time {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podSummary(c kubernetes.Interface) string {
	list, err := c.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, p := range list.Items {
		ready := "not ready"
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				ready = "ready"
			}
		}
		out = append(out, fmt.Sprintf("%s@%s %s %s %s", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP, ready))
	}
	return strings.Join(out, "; ")
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// dumpRealNodeLogs prints the supervisor's, the kubelets' and the containerds' logs.
func (l *lab) dumpRealNodeLogs(n int) {
	l.dumpLogsOf(n, func(name string) bool {
		return strings.HasPrefix(name, "kubelet") || strings.HasPrefix(name, "containerd") || strings.HasPrefix(name, "demo")
	})
}

// skipWithoutRealNodes skips a test of real nodes in -short, and where they cannot run:
// without root, containerd, runc or the CNI plugins (scripts/install-deps.sh installs
// them).
func skipWithoutRealNodes(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab end-to-end test")
	}
	for _, bin := range []string{"containerd", "runc", "ctr", "nsenter", "unshare", "/usr/lib/cni/bridge"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("real nodes need %s (scripts/install-deps.sh): %v", bin, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("real nodes need root (containers, bridges, cgroups)")
	}
}
