package compute

import (
	"fmt"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/replicate"
)

func TestRaiseTo(t *testing.T) {
	cases := []struct {
		current int64
		want    int32
		to      int64
		raise   bool
	}{
		{0, 1, 1, true},
		{1, 1, 1, false},
		{3, 1, 3, false}, // raised further by its owner: not lowered
		{1, 4, 4, true},
	}
	for _, c := range cases {
		if to, raise := raiseTo(c.current, c.want); to != c.to || raise != c.raise {
			t.Errorf("raiseTo(%d, %d) = %d %v, want %d %v", c.current, c.want, to, raise, c.to, c.raise)
		}
	}
}

func TestCapacityOf(t *testing.T) {
	cases := []struct {
		name, y string
		want    capacity
		ok      bool
		line    string
	}{
		{"deployment ready", `{apiVersion: apps/v1, kind: Deployment, status: {readyReplicas: 1}}`,
			capacity{Ready: 1, Want: 1, Reported: true}, true, "capacity c → 1 ready"},
		{"deployment with nothing ready omits the field", `{apiVersion: apps/v1, kind: Deployment, status: {replicas: 1}}`,
			capacity{Want: 1, Reported: true}, false, "capacity c → 0 ready"},
		{"custom kind reporting ready replicas", `{apiVersion: example.com/v1, kind: NodePool, status: {readyReplicas: 0}}`,
			capacity{Want: 1, Reported: true}, false, "capacity c → 0 ready"},
		{"custom kind without readiness counts once raised", `{apiVersion: example.com/v1, kind: NodePool, status: {}}`,
			capacity{Want: 1}, true, "capacity c → 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := capacityOf("c", obj(t, c.y), 1)
			c.want.Name = "c"
			if got != c.want || got.OK() != c.ok || got.String() != c.line {
				t.Errorf("capacityOf = %+v ok %v %q, want %+v ok %v %q", got, got.OK(), got.String(), c.want, c.ok, c.line)
			}
		})
	}
	ref := v1alpha1.CapacityRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "kube-system", Name: "autoscaler", Replicas: 1}
	if got := capacityName(ref); got != "apps/v1 Deployment kube-system/autoscaler" {
		t.Errorf("capacityName = %q", got)
	}
}

func TestActivateDetail(t *testing.T) {
	caps := []capacity{{Name: "apps/v1 Deployment kube-system/autoscaler", Ready: 1, Want: 1, Reported: true}}
	acts := []replicate.Activation{
		{Object: "deployments/shop/shop-web", Action: "scaled", Replicas: 2},
		{Object: "deployments/shop/idle", Action: "scaled", Replicas: 0},
		{Object: "HorizontalPodAutoscaler.autoscaling/shop/web", Action: "applied"},
		{Object: "Deployment.apps/shop/api", Action: "applied", Replicas: 3},
	}
	ws := []readiness{{Object: "a", Ready: 2, Want: 2}, {Object: "b"}, {Object: "c", Ready: 3, Want: 3}}
	many := make([]replicate.Activation, 8)
	for i := range many {
		many[i] = replicate.Activation{Object: fmt.Sprintf("deployments/shop/w%d", i), Action: "scaled", Replicas: 1}
	}
	cases := []struct {
		name     string
		caps     []capacity
		acts     []replicate.Activation
		restored []string
		ws       []readiness
		want     string
	}{
		{"failover", caps, acts, nil, ws,
			"capacity apps/v1 Deployment kube-system/autoscaler → 1 ready; scaled deployments/shop/shop-web → 2; " +
				"scaled deployments/shop/idle → 0; applied HorizontalPodAutoscaler.autoscaling/shop/web; " +
				"applied Deployment.apps/shop/api → 3; 3 workloads ready in 1.2s"},
		{"failback restores the application's own workloads", nil, nil, []string{"restored deployments/shop/web → 3"}, ws[:1],
			"restored deployments/shop/web → 3; 1 workload ready in 1.2s"},
		{"nothing to scale", nil, nil, nil, nil, "no workloads"},
		{"long lists are folded", nil, many, nil, ws,
			"scaled deployments/shop/w0 → 1; scaled deployments/shop/w1 → 1; scaled deployments/shop/w2 → 1; " +
				"scaled deployments/shop/w3 → 1; scaled deployments/shop/w4 → 1; scaled deployments/shop/w5 → 1; " +
				"2 more; 3 workloads ready in 1.2s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := activateDetail(c.caps, c.acts, c.restored, c.ws, 1234*time.Millisecond); got != c.want {
				t.Errorf("detail\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestRoughly(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "0s"}, {3400 * time.Microsecond, "3ms"}, {999 * time.Millisecond, "999ms"}, {1234 * time.Millisecond, "1.2s"}, {95 * time.Second, "1m35s"}} {
		if got := roughly(c.d); got != c.want {
			t.Errorf("roughly(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestStandByDetail(t *testing.T) {
	web := standBy{Object: "deployments/shop/web", Record: "3", From: 3, ScaleDown: true}
	db := standBy{Object: "statefulsets/shop/db", From: 1, ScaleDown: true}
	warm := standBy{Object: "deployments/shop/web", Record: "3", From: 3}
	cases := []struct {
		name      string
		style     v1alpha1.StandbyStyle
		done      []standBy
		unchanged int
		want      string
	}{
		{"pilot-light", v1alpha1.StandbyPilotLight, []standBy{web, db}, 0,
			"pilot-light stand-by: deployments/shop/web 3 → 0 (recorded 3); statefulsets/shop/db 1 → 0"},
		{"warm", v1alpha1.StandbyWarm, []standBy{warm}, 1, "warm stand-by: deployments/shop/web recorded 3; 1 already standing by"},
		{"second run", v1alpha1.StandbyCold, nil, 2, "cold stand-by: 2 already standing by"},
		{"nothing there", v1alpha1.StandbyCold, nil, 0, "cold stand-by: no workloads"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := standByDetail(c.style, c.done, c.unchanged); got != c.want {
				t.Errorf("detail\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestNotReady(t *testing.T) {
	ws := []readiness{
		{Object: "deployments/shop/web", Ready: 1, Want: 2},
		{Object: "deployments/shop/ok", Ready: 1, Want: 1},
		{Object: "statefulsets/shop/db", Want: 1, Stale: true},
	}
	want := "deployments/shop/web 1/2 ready, statefulsets/shop/db 0/1 ready (spec not yet observed)"
	if got := notReady(ws); got != want {
		t.Errorf("notReady\n got %q\nwant %q", got, want)
	}
	if got := notReady(ws[1:2]); got != "" {
		t.Errorf("notReady of ready workloads = %q", got)
	}
}
