package realnode

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"

	"hadron.dev/hadron/lab/internal/topology"
)

func testNode(t *testing.T) Node {
	cfg := topology.Config{FirstRegion: 21, Sites: []topology.SiteConfig{{Name: "east", Region: "us-east-1", Zones: []string{"us-east-1a"}, Role: topology.RoleWorkload}}}
	return New(cfg.Indexed()[0], 0, t.TempDir(), "/lab/sites/east/kubeconfig")
}

// The node's files keep every path inside its directory, bind its own address and
// accept the cgroup v1 host.
func TestWriteConfig(t *testing.T) {
	n := testNode(t)
	if err := n.WriteConfig(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(n.KubeletConfig())
	if err != nil {
		t.Fatal(err)
	}
	var kc map[string]any
	if err := yaml.Unmarshal(b, &kc); err != nil {
		t.Fatalf("kubelet config: %v\n%s", err, b)
	}
	// oomScoreAdj, protectKernelDefaults and makeIPTablesUtilChains: the kubelet must
	// change nothing host-wide (config.go, mountns.go).
	for k, want := range map[string]any{
		"failCgroupV1": false, "address": "10.244.21.1", "cgroupRoot": "/hadron-lab-east-real-0", "containerRuntimeEndpoint": "unix://" + n.Socket(),
		"oomScoreAdj": float64(0), "protectKernelDefaults": true, "makeIPTablesUtilChains": false, "port": float64(10250), "healthzPort": float64(10248),
	} {
		if kc[k] != want {
			t.Errorf("kubelet %s = %v, want %v", k, kc[k], want)
		}
	}
	b, err = os.ReadFile(filepath.Join(n.CNIConfDir(), "10-lab.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	var cni map[string]any
	if err := json.Unmarshal(b, &cni); err != nil {
		t.Fatalf("CNI config: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), `"subnet": "10.244.21.0/24"`) || !strings.Contains(string(b), `"bridge": "hlab21"`) {
		t.Errorf("CNI config:\n%s", b)
	}
	b, err = os.ReadFile(n.ContainerdConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "netns_mounts_under_state_dir = true") {
		t.Errorf("containerd config puts the pods' network namespaces on the host's /run/netns:\n%s", b)
	}
	if !strings.Contains(string(b), "restrict_oom_score_adj = true") {
		t.Errorf("containerd config does not clamp oom_score_adj (RunPodSandbox fails without CAP_SYS_RESOURCE):\n%s", b)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, `"/`); i >= 0 && !strings.Contains(line, n.Dir) && !strings.Contains(line, CNIBinDir) {
			t.Errorf("containerd path outside the node's directory: %s", line)
		}
	}
	args := strings.Join(n.KubeletArgs(), " ")
	if !strings.Contains(args, "--node-ip 10.244.21.1") || strings.Contains(args, "hadron.dev/lab-site") {
		t.Errorf("kubelet args: %s", args)
	}
}

// A site's nodes go round its zones and share its bridge and pod gateway address,
// each with its own addresses and ports.
func TestNodesOfASite(t *testing.T) {
	cfg := topology.Config{FirstRegion: 33, Sites: []topology.SiteConfig{{Name: "east", Region: "us-east-1", Zones: []string{"us-east-1a", "us-east-1b"}, Role: topology.RoleWorkload}}}
	s := cfg.Indexed()[0]
	cases := []struct {
		k                 int
		zone, first, last string
		kubelet, healthz  int
	}{
		{0, "us-east-1a", "10.244.33.10", "10.244.33.69", 10250, 10248},
		{1, "us-east-1b", "10.244.33.70", "10.244.33.129", 10260, 10258},
		{2, "us-east-1a", "10.244.33.130", "10.244.33.189", 10270, 10268},
	}
	for _, c := range cases {
		n := New(s, c.k, t.TempDir(), "kubeconfig")
		first, last := n.PodRange()
		if n.Zone != c.zone || first != c.first || last != c.last || n.KubeletPort() != c.kubelet || n.HealthzPort() != c.healthz {
			t.Errorf("node %d: zone %s, range %s-%s, ports %d/%d; want %+v", c.k, n.Zone, first, last, n.KubeletPort(), n.HealthzPort(), c)
		}
		if !strings.Contains(strings.Join(n.KubeletArgs(), " "), "topology.kubernetes.io/zone="+c.zone) {
			t.Errorf("node %d: kubelet args %v lack its zone", c.k, n.KubeletArgs())
		}
	}
	if z := ZoneOf(nil, 1); z != "" {
		t.Errorf("zone of a site without zones: %q", z)
	}
}

// Every setting the kubelet checks is masked, over /proc/sys, from a file of the
// node's own; and the node's processes run in its mount namespace.
func TestMountNamespace(t *testing.T) {
	n := testNode(t)
	masks := n.maskMounts()
	if len(masks) != len(KubeletSysctls) {
		t.Fatalf("masks %v", masks)
	}
	for _, m := range masks {
		if !strings.HasPrefix(m[0], n.Dir+"/") || !strings.HasPrefix(m[1], "/proc/sys/") {
			t.Errorf("mask %v", m)
		}
		if _, ok := KubeletSysctls[strings.TrimPrefix(m[1], "/proc/sys/")]; !ok {
			t.Errorf("mask %v is not a kubelet setting", m)
		}
	}
	path, args := n.InMountNS("containerd", "--config", "c.toml")
	if path != "nsenter" || strings.Join(args, " ") != "--mount="+n.MountNS()+" -- containerd --config c.toml" {
		t.Errorf("%s %v", path, args)
	}
}

// An image made of a dynamic executable carries its libraries and loader.
func TestBuildImage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "true.tar")
	spec := ImageSpec{Ref: "hadron.dev/lab/test:1", Files: []File{{Host: "/bin/true", Image: "/usr/local/bin/true"}}, Entrypoint: []string{"/usr/local/bin/true"}}
	if err := BuildImage(context.Background(), spec, out); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(spec.Ref)
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	eachEntry(t, img, func(h *tar.Header, _ io.Reader) { names[h.Name] = true })
	for _, want := range []string{"usr/local/bin/true", "tmp/", "lib64/ld-linux-x86-64.so.2"} {
		if !names[want] {
			t.Errorf("layer lacks %s: %v", want, names)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil || cf.Config.Entrypoint[0] != "/usr/local/bin/true" {
		t.Errorf("config: %+v %v", cf, err)
	}
}

// The PostgreSQL image carries the server, initdb and their libraries from the host's
// Debian package.
func TestPostgresImage(t *testing.T) {
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/postgres"); err != nil {
		t.Skip("postgresql-15 not installed")
	}
	spec, err := PostgresSpec(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pg.tar")
	if err := BuildImage(context.Background(), spec, out); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Size() < 10<<20 {
		t.Fatalf("image tarball: %v %v", fi, err)
	}
}

// eachEntry calls fn for every entry of img's one layer, in order.
func eachEntry(t *testing.T, img v1.Image, fn func(*tar.Header, io.Reader)) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(h, tr)
	}
}
