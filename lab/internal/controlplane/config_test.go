package controlplane

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"hadron.dev/hadron/lab/internal/controlplane/roles"
	"hadron.dev/hadron/lab/internal/nodes"
)

func TestConfigDefaultsAndValidation(t *testing.T) {
	good := Config{Name: "east", Region: "us-east-1", Zones: []string{"a", "b"}, IP: "127.0.1.1", Dir: "/tmp/x"}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"good", func(*Config) {}, ""},
		{"no name", func(c *Config) { c.Name = "" }, "name"},
		{"no zones", func(c *Config) { c.Zones = nil }, "no zones"},
		{"repeated zone", func(c *Config) { c.Zones = []string{"a", "a"} }, "repeated"},
		{"not loopback", func(c *Config) { c.IP = "10.0.0.1" }, "loopback"},
		{"no dir", func(c *Config) { c.Dir = "" }, "state dir"},
		{"bad autoscaler", func(c *Config) { c.Autoscaler = "karpenter" }, "namespace/name"},
		{"negative nodes", func(c *Config) { c.NodesPerZone = -1 }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			got, err := c.withDefaults()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.NodesPerZone != 2 || got.CADir != "/tmp/x/pki" || got.ReadyTimeout == 0 || got.Log == nil {
					t.Errorf("defaults not filled: %+v", got)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want ErrInvalidConfig mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestComponentsBindToTheSiteAddress(t *testing.T) {
	c, err := Config{Name: "west", Region: "r", Zones: []string{"z"}, IP: "127.0.2.1", Dir: "/s"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	args := componentArgs(c, layout{dir: c.Dir, caDir: c.CADir})
	for _, role := range []string{roles.APIServer, roles.ControllerManager, roles.Scheduler} {
		if !slices.Contains(args[role], "--bind-address=127.0.2.1") {
			t.Errorf("%s does not bind to the site address: %v", role, args[role])
		}
	}
	if !slices.Contains(args[roles.APIServer], "--etcd-servers=http://127.0.2.1:2379") {
		t.Errorf("kube-apiserver etcd: %v", args[roles.APIServer])
	}
	if !slices.Contains(args[roles.Kwok], "--manage-nodes-with-label-selector="+nodes.ManagedSelector()) {
		t.Errorf("kwok does not select heart-beaten nodes: %v", args[roles.Kwok])
	}
}

func TestNodeSpecs(t *testing.T) {
	c := Config{Name: "east", Region: "us-east-1", Zones: []string{"us-east-1a", "us-east-1b"}, NodesPerZone: 2}
	got := nodeSpecs(c)
	if len(got) != 4 || got[0].Name != "east-us-east-1a-w0" || got[3].Zone != "us-east-1b" {
		t.Errorf("workers = %+v", got)
	}
	c.Autoscaler = "kube-system/karpenter"
	got = nodeSpecs(c)
	if len(got) != 2 || got[0].Group != nodes.GroupControl {
		t.Errorf("cold stand-by = %+v", got)
	}
}

func TestPlanWorkers(t *testing.T) {
	c := Config{Name: "west", Region: "us-west-2", Zones: []string{"a", "b"}, NodesPerZone: 2}
	tests := []struct {
		name     string
		existing []string
		pending  int
		want     []string
	}{
		{"nothing pending", nil, 0, nil},
		{"first of each zone", nil, 3, []string{"west-a-w0", "west-b-w0"}},
		{"fills the gaps", []string{"west-a-w0"}, 1, []string{"west-a-w1", "west-b-w0"}},
		{"full", []string{"west-a-w0", "west-a-w1", "west-b-w0", "west-b-w1"}, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			existing := map[string]bool{}
			for _, n := range tt.existing {
				existing[n] = true
			}
			var got []string
			for _, s := range planWorkers(c, existing, tt.pending) {
				got = append(got, s.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
