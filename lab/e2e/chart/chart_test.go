// Package chart_test checks hadron's Helm chart (charts/hadron) with the Helm CLI
// built from its Go module (make helm: bin/helm): helm lint, what helm template
// renders for the lab's east, west and witness (least RBAC, a non-root pod, the
// daemon's arguments, its volume and its ports), and helm install into a real lab
// kube-apiserver: every object accepted, the CRDs established, the service account's
// permissions as the ClusterRole says, and helm uninstall leaving the CRDs.
package chart_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/lab/internal/controlplane/cptest"
)

// TestMain lets the test binary stand in for hadron-lab (cptest.Main).
func TestMain(m *testing.M) { cptest.Main(m) }

var (
	root     = filepath.Join("..", "..", "..")
	chartDir = filepath.Join(root, "charts", "hadron")
)

// sites are the chart's example values (charts/hadron/ci), one per lab site.
var sites = []string{"east", "west", "witness"}

func valuesFile(site string) string {
	return filepath.Join(chartDir, "ci", site+"-values.yaml")
}

// helmBinary is bin/helm (make helm), else helm on PATH. Without either the test is
// skipped, or fails when HADRON_REQUIRE_TOOLS is set (make test-chart). Unlike
// internal/testenv's tools, CI=true alone does not fail it: make test does not build
// helm (minutes cold, docs/design/helm-chart.md).
func helmBinary(t *testing.T) string {
	t.Helper()
	if p, err := filepath.Abs(filepath.Join(root, "bin", "helm")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	msg := "bin/helm is missing: run make helm (Helm v4, built from its Go module)"
	if os.Getenv("HADRON_REQUIRE_TOOLS") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// run runs a program and returns its standard output; a failure carries stderr.
func run(t *testing.T, stdin []byte, prog string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String() + errOut.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(prog), strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

func TestChartLint(t *testing.T) {
	helm := helmBinary(t)
	for _, site := range sites {
		out, err := run(t, nil, helm, "lint", "--strict", chartDir, "-f", valuesFile(site))
		if err != nil {
			t.Fatalf("%s: %v\n%s", site, err, out)
		}
		if strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
			t.Errorf("helm lint with %s's values:\n%s", site, out)
		}
	}
}

// rendered is what helm template writes for one site, by kind.
type rendered struct {
	statefulSet  appsv1.StatefulSet
	services     []corev1.Service
	clusterRoles []rbacv1.ClusterRole
	kinds        []string
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func render(t *testing.T, helm string, args ...string) rendered {
	t.Helper()
	out, err := run(t, nil, helm, append([]string{"template", "hadron-test", chartDir, "--namespace", "hadron"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r rendered
	for _, doc := range docSep.Split(out, -1) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if meta.Kind == "" {
			continue
		}
		r.kinds = append(r.kinds, meta.Kind)
		var into any
		switch meta.Kind {
		case "StatefulSet":
			into = &r.statefulSet
		case "Service":
			r.services = append(r.services, corev1.Service{})
			into = &r.services[len(r.services)-1]
		case "ClusterRole":
			r.clusterRoles = append(r.clusterRoles, rbacv1.ClusterRole{})
			into = &r.clusterRoles[len(r.clusterRoles)-1]
		default:
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Fatalf("%s: %v\n%s", meta.Kind, err, doc)
		}
	}
	return r
}

func TestChartTemplate(t *testing.T) {
	helm := helmBinary(t)
	for _, site := range sites {
		t.Run(site, func(t *testing.T) {
			r := render(t, helm, "-f", valuesFile(site))
			for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "StatefulSet", "Service"} {
				if !slices.Contains(r.kinds, kind) {
					t.Errorf("no %s rendered (%v)", kind, r.kinds)
				}
			}
			checkRBAC(t, site, r.clusterRoles)
			checkPod(t, site, r.statefulSet)
			checkService(t, r.services)
		})
	}
	t.Run("site is required", func(t *testing.T) {
		out, err := run(t, nil, helm, "template", "x", chartDir)
		if err == nil || !strings.Contains(out, "site is required") {
			t.Errorf("helm template without a site: err %v\n%s", err, out)
		}
	})
	t.Run("the values' schema", func(t *testing.T) {
		// values.schema.json: a role outside workload and witness, and a privileged
		// container port, are refused before anything renders.
		for _, tc := range []struct{ set, want string }{
			{"role=sideways", "/role"},
			{"ports.dns=53", "/ports/dns"},
		} {
			out, err := run(t, nil, helm, "template", "x", chartDir, "--set", "site=east", "--set", tc.set)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("--set %s: err %v\n%s", tc.set, err, out)
			}
		}
	})
	t.Run("on the node's network the daemon listens on the pod's IP only", func(t *testing.T) {
		r := render(t, helm, "-f", valuesFile("east"), "--set", "hostNetwork=true", "--set", "localListen=127.0.1.40",
			"--set", "kubernetesAPI.host=127.0.1.1", "--set", "kubernetesAPI.port=6443")
		pod := r.statefulSet.Spec.Template.Spec
		if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
			t.Errorf("hostNetwork %v, dnsPolicy %q: want the node's network and ClusterFirstWithHostNet", pod.HostNetwork, pod.DNSPolicy)
		}
		c := pod.Containers[0]
		args := strings.Join(c.Args, " ")
		for _, a := range []string{"--peer-listen $(POD_IP):2380", "--local-listen 127.0.1.40", "--api-listen $(POD_IP):8443", "--dns-listen $(POD_IP):5353"} {
			if !strings.Contains(args, a) {
				t.Errorf("args %q lack %q", args, a)
			}
		}
		env := map[string]corev1.EnvVar{}
		for _, e := range c.Env {
			env[e.Name] = e
		}
		if f := env["POD_IP"].ValueFrom; f == nil || f.FieldRef == nil || f.FieldRef.FieldPath != "status.podIP" {
			t.Errorf("POD_IP %+v, want the downward API's status.podIP", env["POD_IP"])
		}
		if env["KUBERNETES_SERVICE_HOST"].Value != "127.0.1.1" || env["KUBERNETES_SERVICE_PORT"].Value != "6443" {
			t.Errorf("the API server's address %+v %+v, want 127.0.1.1:6443", env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"])
		}
		// By default: the pod's own network, every address, the kubernetes Service.
		def := render(t, helm, "-f", valuesFile("east")).statefulSet.Spec.Template.Spec
		for _, e := range def.Containers[0].Env {
			if strings.HasPrefix(e.Name, "KUBERNETES_") {
				t.Errorf("default values set %s", e.Name)
			}
		}
		if def.HostNetwork {
			t.Error("default values put the daemon on the node's network")
		}
	})
	t.Run("a fleet file from a ConfigMap needs its name", func(t *testing.T) {
		out, err := run(t, nil, helm, "template", "x", chartDir, "--set", "site=east", "--set", "fleet.fromCluster=false")
		if err == nil || !strings.Contains(out, "configMap") {
			t.Errorf("helm template without a fleet: err %v\n%s", err, out)
		}
	})
}

// checkRBAC: no wildcard anywhere; a witness may only read hadron's resources and
// write their status and Events; a workload site's daemon writes what replication
// copies but only deletes pods.
func checkRBAC(t *testing.T, site string, roles []rbacv1.ClusterRole) {
	t.Helper()
	if len(roles) != 1 {
		t.Fatalf("%d ClusterRoles, want 1", len(roles))
	}
	for i, rule := range roles[0].Rules {
		for _, list := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs, rule.ResourceNames, rule.NonResourceURLs} {
			for _, v := range list {
				if strings.Contains(v, "*") {
					t.Errorf("rule %d holds a wildcard %q: %+v", i, v, rule)
				}
			}
		}
		for _, res := range rule.Resources {
			if res == "pods" && !slices.Equal(rule.Verbs, []string{"get", "delete"}) {
				t.Errorf("rule %d: pods %v, the daemon only reads and deletes a member's pod", i, rule.Verbs)
			}
		}
		if site == "witness" {
			for _, g := range rule.APIGroups {
				if g != "hadron.dev" && g != "events.k8s.io" {
					t.Errorf("the witness's rule %d reaches group %q: %+v", i, g, rule)
				}
			}
		}
	}
	has := func(group, resource, verb string) bool {
		for _, rule := range roles[0].Rules {
			if slices.Contains(rule.APIGroups, group) && slices.Contains(rule.Resources, resource) && slices.Contains(rule.Verbs, verb) {
				return true
			}
		}
		return false
	}
	for _, want := range [][3]string{
		{"hadron.dev", "applications", "watch"}, {"hadron.dev", "sites", "list"}, {"hadron.dev", "applications", "update"}, {"hadron.dev", "mirrorsets", "delete"},
		{"hadron.dev", "sites/status", "update"}, {"hadron.dev", "applications/status", "update"}, {"hadron.dev", "mirrorsets/status", "update"},
		{"events.k8s.io", "events", "create"},
	} {
		if !has(want[0], want[1], want[2]) {
			t.Errorf("no rule allows %s on %s.%s", want[2], want[1], want[0])
		}
	}
	if site != "witness" {
		for _, want := range [][3]string{{"apps", "deployments", "patch"}, {"", "secrets", "get"}, {"", "configmaps", "update"}, {"", "pods", "delete"}, {"", "pods", "get"}} {
			if !has(want[0], want[1], want[2]) {
				t.Errorf("no rule allows %s on %s (group %q)", want[2], want[1], want[0])
			}
		}
		if has("", "pods", "list") || has("", "secrets", "update") || has("", "nodes", "get") {
			t.Error("the rules grant more than the daemon uses (pods list, secrets update or nodes get)")
		}
	}
}

// checkPod: one replica, non-root, read-only root, no capability, the daemon's
// arguments, the data volume at --data-dir and every container port above 1024.
func checkPod(t *testing.T, site string, ss appsv1.StatefulSet) {
	t.Helper()
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1", ss.Spec.Replicas)
	}
	pod := ss.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want non-root 65532 and seccomp RuntimeDefault", psc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 || sc.Privileged != nil && *sc.Privileged {
		t.Errorf("container securityContext %+v: want a read-only root, no escalation, every capability dropped", sc)
	}
	if c.Image != "hadron.dev/hadron:dev" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %s (%s), want hadron.dev/hadron:dev IfNotPresent", c.Image, c.ImagePullPolicy)
	}
	args := strings.Join(c.Args, " ")
	want := "serve --site " + site + " --pki /etc/hadron/pki --data-dir /var/lib/hadron "
	if !strings.HasPrefix(args, want) {
		t.Errorf("args %q, want them to start %q", args, want)
	}
	fleet := "--fleet-from-cluster"
	if site == "west" {
		fleet = "-f /etc/hadron/fleet/fleet.yaml"
	}
	for _, a := range []string{fleet, "--peer-listen 0.0.0.0:2380", "--api-listen 0.0.0.0:8443", "--dns-listen 0.0.0.0:5353"} {
		if !strings.Contains(args, a) {
			t.Errorf("args %q lack %q", args, a)
		}
	}
	for _, p := range c.Ports {
		if p.ContainerPort <= 1024 {
			t.Errorf("container port %s %d needs privileges", p.Name, p.ContainerPort)
		}
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	if mounts["data"].MountPath != "/var/lib/hadron" || mounts["pki"].MountPath != "/etc/hadron/pki" || !mounts["pki"].ReadOnly || mounts["tmp"].MountPath != "/tmp" {
		t.Errorf("mounts %+v", mounts)
	}
	for _, v := range pod.Volumes {
		if v.Name == "pki" && (v.Secret == nil || v.Secret.SecretName != "hadron-pki-"+site) {
			t.Errorf("pki volume %+v, want Secret hadron-pki-%s", v, site)
		}
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("%d volume claim templates, want 1", len(ss.Spec.VolumeClaimTemplates))
	}
	pvc := ss.Spec.VolumeClaimTemplates[0]
	size, class := "2Gi", ""
	if site == "west" {
		size, class = "1Gi", "hadron-lab-local"
	}
	got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	gotClass := ""
	if pvc.Spec.StorageClassName != nil {
		gotClass = *pvc.Spec.StorageClassName
	}
	if pvc.Name != "data" || got.String() != size || gotClass != class {
		t.Errorf("volume claim %s: %s of class %q, want data: %s of %q", pvc.Name, got.String(), gotClass, size, class)
	}
}

// checkService: the LoadBalancer carries the peer, the API and DNS on 53 over UDP and
// TCP onto the container's unprivileged port, and not the etcd client port.
func checkService(t *testing.T, svcs []corev1.Service) {
	t.Helper()
	var lb *corev1.Service
	for i := range svcs {
		if svcs[i].Spec.Type == corev1.ServiceTypeLoadBalancer {
			lb = &svcs[i]
		}
	}
	if lb == nil {
		t.Fatal("no Service of type LoadBalancer")
	}
	got := map[string]string{}
	for _, p := range lb.Spec.Ports {
		got[fmt.Sprintf("%d/%s", p.Port, p.Protocol)] = p.TargetPort.String()
	}
	want := map[string]string{"2380/TCP": "etcd-peer", "8443/TCP": "api", "53/UDP": "dns-udp", "53/TCP": "dns-tcp"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("LoadBalancer ports %v, want %v", got, want)
	}
}
