package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"hadron.dev/hadron/lab/internal/topology"
	"hadron.dev/hadron/lab/internal/world"
)

// daemonPodsConfig is a lab whose daemons are pods that hadron's Helm chart installs,
// one release per site (the witness gets a cluster of its own for it), on regions
// 61-63, and whose mirror set's members are pods too (memberPods): two real nodes per
// workload site carry them, the witness's one its daemon, and the members archive from
// their pods to the lab's object store. The demo's application stays a host process
// behind the sites' load balancers. With every member in a pod the
// daemons drive them through the API alone — which a failback needs (a member on a
// host is rewound in its files, out of a pod's reach).
const daemonPodsConfig = `
firstRegion: 61
latency: 10ms
realNodes: 2
daemonPods: true
memberPods: true
sites:
  - {name: east, region: us-east-1, zones: [us-east-1a, us-east-1b], nodesPerZone: 1}
  - {name: west, region: us-west-2, zones: [us-west-2a, us-west-2b], nodesPerZone: 1}
  - {name: witness, region: eu-central-1, role: witness}
`

// daemonPodsTools are what the test needs beyond real nodes: helm (make helm) and
// hadron's image (make images). Without them it skips, or fails where
// HADRON_REQUIRE_TOOLS is set (make test-chart).
func daemonPodsTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, f := range []string{"helm", filepath.Join("images", "hadron.tar")} {
		if _, err := os.Stat(filepath.Join("..", "..", "bin", f)); err != nil {
			missing = append(missing, "bin/"+f)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("%s missing: run make helm images", strings.Join(missing, ", "))
	if os.Getenv("HADRON_REQUIRE_TOOLS") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// TestDaemonPods installs hadron into east, west and the witness with its chart and
// checks that the daemons run in pods (containers of the sites' real nodes, reached
// through the Services of type LoadBalancer the lab serves at the fleet's daemon
// addresses), that `kubectl get applications -A` shows the demo with its conditions,
// that the region-loss drill fails over with these daemons and fails back, that the
// Application's status and Events in west show the failover's steps, and that
// `kubectl hadron history shop` prints the ledger.
func TestDaemonPods(t *testing.T) {
	skipWithoutRealNodes(t)
	daemonPodsTools(t)
	l := upLab(t, daemonPodsConfig, 20*time.Minute, "the daemons in pods", func(l *lab) {
		l.dumpRealNodeLogs(60)
		l.dumpPodLogs(80, world.DaemonNamespace, "hadron-0")
	})
	cfg, err := topology.Load(filepath.Join(l.dir, "lab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHadronCLI(t, l.dir)
	ctx := context.Background()

	l.applyDemoAtEast(t, cfgSite(t, cfg, "east").Ingress())

	t.Run("the chart runs each site's daemon in a pod behind a load balancer at the fleet's address", func(t *testing.T) {
		for _, s := range cfg.Indexed() {
			c := l.siteClient(t, s.Name)
			var p *corev1.Pod
			eventually(t, 2*time.Minute, s.Name+"'s daemon pod ready", func() (bool, string) {
				var err error
				p, err = c.CoreV1().Pods(world.DaemonNamespace).Get(ctx, "hadron-0", metav1.GetOptions{})
				if err != nil {
					return false, err.Error()
				}
				return podReady(*p), fmt.Sprintf("phase %s on %q", p.Status.Phase, p.Spec.NodeName)
			})
			if !strings.HasPrefix(p.Spec.NodeName, s.Name+"-real-") || !p.Spec.HostNetwork {
				t.Errorf("%s: pod hadron-0 on %q, hostNetwork %v; want a real node of the site, its network", s.Name, p.Spec.NodeName, p.Spec.HostNetwork)
			}
			svc, err := c.CoreV1().Services(world.DaemonNamespace).Get(ctx, "hadron", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: the daemon's Service: %v", s.Name, err)
			}
			want := strings.Split(s.DaemonAPI(), ":")[0]
			if ing := svc.Status.LoadBalancer.Ingress; len(ing) != 1 || ing[0].IP != want {
				t.Errorf("%s: Service hadron's load balancer %+v, want %s", s.Name, ing, want)
			}
			// The daemon is the container's process: its own mount namespace (it shares
			// only the node's network), the pod's Secret at /etc/hadron/pki.
			pid, err := servePID(s.Name)
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			theirs, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
			ours, err2 := os.Readlink("/proc/self/ns/mnt")
			if err1 != nil || err2 != nil || theirs == ours {
				t.Errorf("%s: hadron serve (pid %d) in mount namespace %q, the test in %q (%v %v): want a container's own", s.Name, pid, theirs, ours, err1, err2)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/root/etc/hadron/pki/%s.crt", pid, s.Name)); err != nil {
				t.Errorf("%s: hadron serve (pid %d) does not see its pod's PKI Secret: %v", s.Name, pid, err)
			}
			t.Logf("%s: pod %s on %s (%s), Service at %s, hadron serve pid %d", s.Name, p.Name, p.Spec.NodeName, p.Status.PodIP, want, pid)
		}
		st, err := h.leading()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("leader %s, quorum %v (the daemons asked through their load balancers)", st.Leader, st.Etcd.Quorum)
	})

	kubectl := func(t *testing.T, site string, args ...string) string {
		t.Helper()
		cmd := exec.Command("kubectl", append([]string{"--kubeconfig", filepath.Join(l.dir, "kubeconfig"), "--context", topology.KubeContext(site)}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}

	t.Run("kubectl get applications -A shows the demo with its conditions", func(t *testing.T) {
		for _, site := range []string{"east", "west", "witness"} {
			var table string
			eventually(t, 2*time.Minute, "shop Ready in "+site, func() (bool, string) {
				table = kubectl(t, site, "get", "applications", "-A")
				ready := kubectl(t, site, "get", "application", "shop", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
				return ready == "True", table
			})
			t.Logf("%s: kubectl get applications -A\n%s", site, table)
			conds := kubectl(t, site, "get", "application", "shop", "-o", `jsonpath={range .status.conditions[*]}{.type}={.status} {end}`)
			for _, c := range []string{"Ready=", "Replicated=", "Protected=", "FailingOver=", "Degraded="} {
				if !strings.Contains(conds, c) {
					t.Errorf("%s: shop's conditions %q lack %s", site, conds, strings.TrimSuffix(c, "="))
				}
			}
		}
	})

	var failoverID string
	t.Run("the region-loss drill fails over with the daemons in pods and fails back", func(t *testing.T) {
		rep := regionLossAndFailback(t, l, h)
		failoverID = rep.Drill.Run.ID
		// East's daemon came back in its pod, with its etcd member's data (the node's
		// local volume outlives the power loss).
		eventually(t, 3*time.Minute, "east's daemon back in its pod", func() (bool, string) {
			st, err := h.status("east")
			return err == nil && st.Etcd.Quorum, fmt.Sprintf("%+v %v", st.Etcd, err)
		})
		// The members archive from their pods whoever is primary, the daemons in pods
		// beside them: a backup in the store, the failback's primary archiving.
		eventually(t, 3*time.Minute, "a backup in the store, the primary archiving", func() (bool, string) {
			st, raw := h.backupStatus(20 * time.Second)
			return strings.HasPrefix(st.Archive.Primary, "east-") && st.Backups >= 1 && st.Archive.Waiting == 0 && st.RepoError == "", raw
		})
	})

	t.Run("west's Application shows the failover's steps as Events and its status", func(t *testing.T) {
		if failoverID == "" {
			t.Skip("no failover")
		}
		west := l.siteClient(t, "west")
		reasons := shopEventReasons(t, west)
		for _, want := range []string{"FailoverDecided", "RunStarted", "StepFinished", "RunFinished"} {
			if !slices.Contains(reasons, want) {
				t.Errorf("west's Events of shop %v lack %s", reasons, want)
			}
		}
		t.Logf("west's Events of shop: %s", strings.Join(reasons, ", "))
		t.Logf("kubectl describe application shop (west):\n%s", kubectl(t, "west", "describe", "application", "shop"))
	})

	t.Run("kubectl hadron history shop prints the ledger", func(t *testing.T) {
		if failoverID == "" {
			t.Skip("no failover")
		}
		bin := filepath.Dir(hadronBinary(t))
		if _, err := os.Stat(filepath.Join(bin, "kubectl-hadron")); err != nil {
			t.Fatalf("kubectl-hadron (make build): %v", err)
		}
		cmd := exec.Command("kubectl", "hadron", "history", demoApp, "-f", h.fleet, "--pki", h.pki)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl hadron history: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), failoverID) {
			t.Errorf("kubectl hadron history shop lacks the drill's failover %s:\n%s", failoverID, out)
		}
		t.Logf("kubectl hadron history shop:\n%s", out)
	})
}

func cfgSite(t *testing.T, cfg topology.Config, name string) topology.Site {
	t.Helper()
	s, ok := cfg.Site(name)
	if !ok {
		t.Fatalf("no site %s in the lab", name)
	}
	return s
}

// servePID finds the `hadron serve --site SITE` process.
func servePID(site string) (int, error) {
	pid, err := findProc(func(args []string) bool {
		return flagIs(args, "--site", site) && filepath.Base(args[0]) == "hadron" && slices.Contains(args, "serve")
	})
	if err != nil {
		return 0, fmt.Errorf("no hadron serve --site %s: %w", site, err)
	}
	return pid, nil
}

// shopEventReasons lists the reasons of the Events about the Application shop.
func shopEventReasons(t *testing.T, c kubernetes.Interface) []string {
	t.Helper()
	list, err := c.EventsV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "Application" && e.Regarding.Name == demoApp {
			out = append(out, e.Reason)
		}
	}
	return out
}

// dumpPodLogs prints the tail of the containers' logs of the pods ns/pod* (the kubelet
// writes them under the node's pod-logs: kubectl logs needs a kubelet client
// certificate the lab's API servers lack).
func (l *lab) dumpPodLogs(n int, ns, pod string) {
	matches, _ := filepath.Glob(filepath.Join(l.dir, "sites", "*", "nodes", "*", "*", ns+"_"+pod+"*", "*", "*.log"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		l.t.Logf("== %s ==\n%s", m, strings.Join(lines, "\n"))
	}
}
