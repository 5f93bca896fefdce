package chart_test

import (
	"os/exec"
	"strings"
	"testing"

	"hadron.dev/hadron/lab/internal/controlplane/cptest"
)

// siteIP is away from the lab's ranges and the other e2e packages'.
const siteIP = "127.0.197.1"

var crdNames = []string{"sites.hadron.dev", "applications.hadron.dev", "mirrorsets.hadron.dev", "dnsproviders.hadron.dev"}

// The chart installs the three sites' releases into one real API server (the pods do
// not run: it has no real nodes), every object is accepted, the CRDs become
// Established, the service accounts can do what the daemon does and no more, and
// helm uninstall leaves the CRDs (and with them the fleet's objects).
func TestChartInstall(t *testing.T) {
	helm := helmBinary(t)
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed (make deps)")
	}
	dir := t.TempDir()
	kubeconfig := cptest.Start(t, "chart", siteIP, dir)
	must := func(t *testing.T, prog string, args ...string) string {
		t.Helper()
		out, err := run(t, nil, prog, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}

	for _, site := range sites {
		out := must(t, helm, "install", "hadron-"+site, chartDir, "--namespace", "hadron", "--create-namespace", "-f", valuesFile(site))
		t.Logf("helm install hadron-%s: %s", site, firstLine(out))
		// Every object of the release's manifest is there.
		manifest := must(t, helm, "get", "manifest", "hadron-"+site, "--namespace", "hadron")
		out, err := run(t, []byte(manifest), "kubectl", "--kubeconfig", kubeconfig, "get", "-f", "-", "--namespace", "hadron", "-o", "name")
		if err != nil {
			t.Fatalf("%s: %v\n%s", site, err, out)
		}
		if got, want := len(strings.Fields(out)), len(docSep.Split(strings.TrimSpace(manifest), -1))-1; got != want {
			t.Errorf("%s: %d objects in the cluster, %d in the manifest:\n%s", site, got, want, out)
		}
	}
	must(t, "kubectl", append([]string{"wait", "--for", "condition=Established", "--timeout", "60s"}, prefixed("crd/", crdNames)...)...)

	t.Run("every object accepted", func(t *testing.T) {
		for _, site := range sites {
			name := "hadron-" + site
			out := must(t, "kubectl", "get", "statefulset/"+name, "service/"+name, "service/"+name+"-members", "serviceaccount/"+name,
				"--namespace", "hadron", "-o", "name")
			if n := len(strings.Fields(out)); n != 4 {
				t.Errorf("%s: %d namespaced objects, want 4:\n%s", site, n, out)
			}
			must(t, "kubectl", "get", "clusterrole/"+name+"-hadron", "clusterrolebinding/"+name+"-hadron")
		}
		status := must(t, helm, "status", "hadron-east", "--namespace", "hadron")
		if !strings.Contains(status, "STATUS: deployed") {
			t.Errorf("helm status:\n%s", status)
		}
	})

	t.Run("the service accounts' permissions", func(t *testing.T) {
		canI := func(site, verb, resource, ns string) bool {
			resource, sub, _ := strings.Cut(resource, "/")
			args := []string{"auth", "can-i", verb, resource, "--as", "system:serviceaccount:hadron:hadron-" + site}
			if sub != "" {
				args = append(args, "--subresource", sub)
			}
			if ns != "" {
				args = append(args, "--namespace", ns)
			}
			out, _ := run(t, nil, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
			return strings.TrimSpace(out) == "yes"
		}
		for _, tc := range []struct {
			site, verb, resource, ns string
			want                     bool
		}{
			{"east", "watch", "applications.hadron.dev", "", true},
			{"east", "update", "applications.hadron.dev/status", "", true},
			{"east", "update", "applications.hadron.dev", "", true},                         // fleetsync: another site's edit won
			{"east", "update", "customresourcedefinitions.apiextensions.k8s.io", "", false}, // the CRDs are the chart's
			{"east", "create", "events.events.k8s.io", "default", true},
			{"east", "patch", "deployments.apps", "shop", true},
			{"east", "create", "deployments.apps", "shop", true}, // server-side apply of a new copy
			{"east", "update", "deployments.apps", "shop", false},
			{"east", "get", "secrets", "shop", true},
			{"east", "list", "pods", "shop", false},
			{"east", "delete", "nodes", "", false},
			{"witness", "list", "sites.hadron.dev", "", true},
			{"witness", "get", "secrets", "shop", false},
			{"witness", "patch", "deployments.apps", "shop", false},
		} {
			if got := canI(tc.site, tc.verb, tc.resource, tc.ns); got != tc.want {
				t.Errorf("%s can %s %s in %q: %v, want %v", tc.site, tc.verb, tc.resource, tc.ns, got, tc.want)
			}
		}
		// Replication writes by server-side apply, which creates a missing object.
		must(t, "kubectl", "create", "namespace", "shop")
		cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: copied\n  namespace: shop\ndata:\n  k: v\n"
		if out, err := run(t, []byte(cm), "kubectl", "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager", "hadron",
			"--as", "system:serviceaccount:hadron:hadron-east", "-f", "-"); err != nil {
			t.Errorf("server-side apply as east's daemon: %v\n%s", err, out)
		}
	})

	t.Run("uninstall leaves the CRDs", func(t *testing.T) {
		for _, site := range sites {
			must(t, helm, "uninstall", "hadron-"+site, "--namespace", "hadron", "--wait")
		}
		if out, err := run(t, nil, "kubectl", "--kubeconfig", kubeconfig, "get", "statefulsets", "--namespace", "hadron", "-o", "name"); err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("after uninstall: %v %q", err, out)
		}
		must(t, "kubectl", append([]string{"get"}, prefixed("crd/", crdNames)...)...)
	})
}

func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
