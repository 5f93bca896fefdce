package runbook

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/runbook"
)

// A drill breaks a promise when it loses data that its move may not lose: planned
// moves never may, a failover only when the policy promises RPO 0 and it stays in
// the region.
func TestBroken(t *testing.T) {
	app := func(rpo *metav1.Duration) *v1alpha1.Application {
		return &v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Policy: v1alpha1.Policy{RPO: rpo}}}
	}
	phase := func(kind runbook.Kind, lost int, tx int64) *drill.Phase {
		return &drill.Phase{Kind: kind, From: "east", To: "west", Lost: make([]int64, lost), RPOTransactions: tx}
	}
	inRegion := func(p *drill.Phase) *drill.Phase { p.To = "east-2"; return p }
	sync := func(a *v1alpha1.Application) *v1alpha1.Application {
		a.Spec.Policy.DataLoss = &v1alpha1.DataLoss{Mode: v1alpha1.DataLossSynchronous}
		return a
	}
	region := func(site string) string {
		return map[string]string{"east": "us-east-1", "east-2": "us-east-1", "west": "us-west-2"}[site]
	}
	zero := &metav1.Duration{}
	for _, tc := range []struct {
		name   string
		app    *v1alpha1.Application
		report drill.Report
		want   string
	}{
		{"failover without a promise may lose", app(nil), drill.Report{Drill: phase(runbook.Failover, 3, 2)}, ""},
		{"in-region failover promised RPO 0 lost writes", app(zero), drill.Report{Drill: inRegion(phase(runbook.Failover, 3, -1))},
			"failover east → east-2 lost 3 acknowledged writes (the policy promises RPO 0 in the region)"},
		{"in-region failover promised RPO 0 lost nothing", app(zero), drill.Report{Drill: inRegion(phase(runbook.Failover, 0, 0))}, ""},
		{"cross-region failover: RPO 0 is an in-region promise", app(zero), drill.Report{Drill: phase(runbook.Failover, 3, 2)}, ""},
		{"failback lost transactions", app(nil), drill.Report{Drill: phase(runbook.Failover, 1, 1), Failback: phase(runbook.Failback, 0, 2)},
			"failback east → west lost 0 acknowledged writes, 2 transactions (a planned move loses nothing)"},
		{"switchover lost nothing", app(nil), drill.Report{Drill: phase(runbook.Switchover, 0, -1)}, ""},
		{"a drill that did not happen", app(zero), drill.Report{}, ""},
		{"cross-region failover, mode synchronous, acknowledged writes lost", sync(app(nil)), drill.Report{Drill: phase(runbook.Failover, 2, 5)},
			"failover east → west lost 2 acknowledged writes (data-loss mode synchronous loses none with a region)"},
		{"cross-region failover, mode synchronous, only unacknowledged commits lost", sync(app(nil)), drill.Report{Drill: phase(runbook.Failover, 0, 5)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(Broken(tc.app, region, []drill.Report{tc.report}), "; ")
			if got != tc.want {
				t.Errorf("broken %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckDrill(t *testing.T) {
	for _, tc := range []struct {
		cfg    drill.Config
		repeat int
		want   string
	}{
		{drill.Config{Trigger: drill.TriggerAuto, Fault: "x"}, 1, ""},
		{drill.Config{Trigger: drill.TriggerSwitchover}, 3, ""},
		{drill.Config{Trigger: drill.TriggerAuto}, 1, "--fault CMD is required"},
		{drill.Config{Trigger: "chaos", Fault: "x"}, 1, `--trigger "chaos"`},
		{drill.Config{Trigger: drill.TriggerFailover, Fault: "x"}, 2, "--repeat 2 needs --failback"},
	} {
		err := checkDrill(tc.cfg, tc.repeat)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v repeat %d: %v, want %q", tc.cfg, tc.repeat, err, tc.want)
		}
	}
}
