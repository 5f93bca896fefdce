package plan

import (
	"strings"
	"testing"

	"hadron.dev/hadron/internal/fleet"
)

func TestTopologyGroupsByRegionAndZone(t *testing.T) {
	f, err := fleet.Parse(fleet.Source{Name: "fleet.yaml", Data: []byte(`
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: a1}
spec: {region: r1, zones: [z1, z2], daemon: {api: {address: "127.0.0.1:1"}}}
---
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: b}
spec: {region: r2}
---
apiVersion: hadron.dev/v1alpha1
kind: Site
metadata: {name: a2}
spec: {region: r1, daemon: {api: {address: "127.0.0.1:2"}}}
---
apiVersion: hadron.dev/v1alpha1
kind: MirrorSet
metadata: {name: db}
spec:
  engine: postgres
  members:
  - {name: m0, site: a1, zone: z2, role: primary, address: {address: "127.0.0.1:5432"}}
  - {name: m1, site: a2, role: failover, address: {address: "127.0.0.1:5433"}}
  - {name: m2, site: b, role: dr-async, address: {address: "127.0.0.1:5434"}}
`)})
	if err != nil {
		t.Fatal(err)
	}
	top := TopologyOf(f)
	var regions []string
	for _, r := range top.Regions {
		var sites []string
		for _, s := range r.Sites {
			var zones []string
			for _, z := range s.Zones {
				var ms []string
				for _, m := range z.Members {
					ms = append(ms, m.Member)
				}
				zones = append(zones, z.Name+"="+strings.Join(ms, "+"))
			}
			sites = append(sites, s.Name+"{"+strings.Join(zones, " ")+"}")
		}
		regions = append(regions, r.Name+":"+strings.Join(sites, ","))
	}
	// Regions in fleet order, sites in fleet order within their region, members by
	// zone, members without a zone in an unnamed group.
	want := "r1:a1{z1= z2=m0},a2{=m1} | r2:b{=m2}"
	if got := strings.Join(regions, " | "); got != want {
		t.Errorf("regions = %s, want %s", got, want)
	}
	if v := top.Voting; strings.Join(v.Sites, ",") != "a1,a2" || v.Majority != 2 {
		t.Errorf("voting = %+v", v)
	}
	if m := top.MirrorSets[0]; !m.Synchronous || m.Members[2].Region != "r2" {
		t.Errorf("mirror set = %+v", m)
	}
}
