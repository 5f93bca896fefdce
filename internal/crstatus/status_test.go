package crstatus

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/runbook"
)

var t0 = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

// healthy is an application with every part as it should be.
func healthy() api.App {
	return api.App{Name: "shop", Active: "east", Verdicts: map[string]string{"east": "up", "west": "up"},
		Data: &api.DataSet{Name: "shop-db", Primary: "east-0", Members: []api.DataMember{
			{Name: "east-0", Site: "east", Role: "primary", State: "primary"},
			{Name: "west-0", Site: "west", Role: "dr-async", State: "streaming", LagBytes: 120, LagSeconds: 0.25},
		}, Promise: &api.DataPromise{Mode: "bounded", InForce: true, Summary: "bounded 200ms: in force, west-0 80ms behind"}},
		Readiness: &api.Readiness{At: t0, Active: "east", Findings: []api.ReadinessFinding{{Check: "capacity", Site: "west", Level: "ok", Message: "fits"}}},
	}
}

func TestApplicationConditions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*api.App)
		// want is type → status/reason.
		want map[string]string
		// msg is a text one condition's message must hold: type → text.
		msg map[string]string
	}{
		{"healthy", func(*api.App) {}, map[string]string{
			"Ready": "True/ActiveSiteUp", "Replicated": "True/InSync", "Protected": "True/StandbyReady",
			"FailingOver": "False/NoRun", "Degraded": "False/AsExpected"}, nil},
		{"active down", func(a *api.App) { a.Verdicts["east"] = "down" }, map[string]string{
			"Ready": "False/ActiveSiteDown", "Degraded": "True/SiteDown"}, map[string]string{"Degraded": "east is down by quorum"}},
		{"stand-by down", func(a *api.App) { a.Verdicts["west"] = "down" }, map[string]string{
			"Ready": "True/ActiveSiteUp", "Degraded": "True/SiteDown"}, nil},
		{"no verdict yet", func(a *api.App) { delete(a.Verdicts, "east") }, map[string]string{"Ready": "Unknown/ActiveSiteUnknown"}, nil},
		{"lag over the bound", func(a *api.App) {
			a.Data.Promise = &api.DataPromise{Mode: "bounded", Summary: "bounded 200ms: NOT in force, west-0 3s behind"}
		}, map[string]string{"Replicated": "False/LossBoundNotKept", "Degraded": "True/LossBoundNotKept"},
			map[string]string{"Replicated": "3s behind"}},
		{"member unreachable", func(a *api.App) { a.Data.Members[1].Error = "dial tcp: refused" }, map[string]string{
			"Replicated": "False/MemberUnreachable", "Degraded": "True/MemberUnreachable"}, nil},
		{"data unreadable", func(a *api.App) { a.Data.Error = "no driver" }, map[string]string{"Replicated": "Unknown/DataUnreadable"}, nil},
		{"objects drifted", func(a *api.App) {
			a.Readiness.Parity = []api.SiteParity{{Site: "west", Off: []api.ParityLine{{Object: "deploy/web", State: "drifted"}}, More: 2}}
		}, map[string]string{"Replicated": "False/ObjectsNotInSync"}, map[string]string{"Replicated": "west: 3 objects"}},
		{"no data", func(a *api.App) { a.Data = nil }, map[string]string{"Replicated": "True/NoData"}, nil},
		{"archive over bound", func(a *api.App) {
			a.Data.Archive = &api.ArchiveLag{OverBound: true, WaitingSeconds: 300, Bound: "2m0s"}
		},
			map[string]string{"Degraded": "True/ArchiveLagOverBound"}, nil},
		{"not checked", func(a *api.App) { a.Readiness = nil }, map[string]string{"Protected": "Unknown/NotCheckedYet"}, nil},
		{"check failed", func(a *api.App) { a.Readiness.Error = "west unreachable" }, map[string]string{"Protected": "Unknown/CheckFailed"}, nil},
		{"stand-by not ready", func(a *api.App) {
			a.Readiness.Findings = append(a.Readiness.Findings, api.ReadinessFinding{Check: "objects", Site: "west", Level: "fail", Message: "deploy/web missing"})
		}, map[string]string{"Protected": "False/StandbyNotReady"}, map[string]string{"Protected": "west: deploy/web missing"}},
		{"run open", func(a *api.App) {
			a.Run = &api.OpenRun{ID: "r1", Kind: "failover", From: "east", To: "west", Who: "auto", Status: "running", Step: 3, Steps: 7, StepName: "promote"}
		}, map[string]string{"FailingOver": "True/RunRunning"}, map[string]string{"FailingOver": "step 3/7 promote"}},
		{"run stopped", func(a *api.App) {
			a.Run = &api.OpenRun{ID: "r1", Kind: "failover", Status: "failed", Error: "promote: postgres://hadron:s3cret@east-0:5432 refused"}
		}, map[string]string{"FailingOver": "True/RunStopped"}, map[string]string{"FailingOver": "postgres://hadron:***@east-0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := healthy()
			tc.change(&a)
			st := Application(a, nil)
			if len(st.Conditions) != len(v1alpha1.ConditionTypes) {
				t.Fatalf("%d conditions, want %d", len(st.Conditions), len(v1alpha1.ConditionTypes))
			}
			for typ, want := range tc.want {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil {
					t.Fatalf("no condition %s", typ)
				}
				if got := string(c.Status) + "/" + c.Reason; got != want {
					t.Errorf("%s = %s (%s), want %s", typ, got, c.Message, want)
				}
			}
			for typ, text := range tc.msg {
				if c := meta.FindStatusCondition(st.Conditions, typ); c == nil || !strings.Contains(c.Message, text) {
					t.Errorf("%s message %q, want it to hold %q", typ, c.Message, text)
				}
			}
			for _, c := range st.Conditions {
				if strings.Contains(c.Message, "s3cret") {
					t.Errorf("%s message carries a password: %q", c.Type, c.Message)
				}
			}
			if st.ActiveSite != a.Active {
				t.Errorf("activeSite %q, want %q", st.ActiveSite, a.Active)
			}
		})
	}
}

func TestLastMove(t *testing.T) {
	closed := t0.Add(40 * time.Second)
	for _, tc := range []struct {
		name     string
		rec      *runbook.Record
		want     string // kind from→to ok rto rpo, "" for no move
		wantNone bool
	}{
		{"none", nil, "", true},
		{"failover with a fault", &runbook.Record{ID: "r1", Kind: runbook.Failover, From: "east", To: "west", Decided: t0, Closed: &closed,
			Status: runbook.StatusDone, RTO: runbook.Duration(40 * time.Second), SystemRTO: runbook.Duration(50 * time.Second),
			RPO: &data.Loss{Bytes: 800, Transactions: 3, Counted: true, Window: 1500 * time.Millisecond}}, "failover east→west true 50s 1.5s", false},
		{"switchover loses nothing", &runbook.Record{ID: "r2", Kind: runbook.Switchover, From: "east", To: "west", Decided: t0, Closed: &closed,
			Status: runbook.StatusDone, RTO: runbook.Duration(12 * time.Second), RPO: &data.Loss{Counted: true}}, "switchover east→west true 12s 0s", false},
		{"aborted, no data", &runbook.Record{ID: "r3", Kind: runbook.Failback, From: "west", To: "east", Decided: t0, Closed: &closed,
			Status: runbook.StatusAborted}, "failback west→east false - -", false},
		{"a person's promotion is no move", &runbook.Record{ID: "r4", Kind: runbook.Promote, Decided: t0, Closed: &closed}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := move(tc.rec)
			if tc.wantNone {
				if m != nil {
					t.Fatalf("move %+v, want none", m)
				}
				return
			}
			d := func(x *metav1.Duration) string {
				if x == nil {
					return "-"
				}
				return x.Duration.String()
			}
			got := string(m.Kind) + " " + m.From + "→" + m.To + " " + map[bool]string{true: "true", false: "false"}[m.Succeeded] + " " + d(m.RTO) + " " + d(m.RPO)
			if got != tc.want {
				t.Errorf("move %q, want %q", got, tc.want)
			}
			if m.Run != tc.rec.ID || !m.FinishedAt.Time.Equal(closed) || !m.StartedAt.Time.Equal(t0) {
				t.Errorf("run %q %v–%v", m.Run, m.StartedAt, m.FinishedAt)
			}
		})
	}
}

func TestMirrorSet(t *testing.T) {
	ds := healthy().Data
	ds.Members = append(ds.Members, api.DataMember{Name: "east-1", Site: "east", Role: "failover", Error: "timeout"})
	st := MirrorSet(ds)
	if st.Primary != "east-0" || len(st.Members) != 3 {
		t.Fatalf("primary %q, %d members", st.Primary, len(st.Members))
	}
	w := st.Members[1]
	if w.Role != v1alpha1.RoleDRAsync || !w.Reachable || w.LagBytes == nil || *w.LagBytes != 120 || w.LagTime.Duration != 250*time.Millisecond {
		t.Errorf("west-0 %+v", w)
	}
	if p := st.Members[0]; p.LagBytes != nil || p.Role != v1alpha1.RolePrimary {
		t.Errorf("the primary %+v: no lag, role primary", p)
	}
	if e := st.Members[2]; e.Reachable || e.LagBytes != nil {
		t.Errorf("an unreachable member %+v", e)
	}
	for typ, want := range map[string]string{"Ready": "True", "Replicated": "False", "Degraded": "True"} {
		if c := meta.FindStatusCondition(st.Conditions, typ); c == nil || string(c.Status) != want {
			t.Errorf("%s = %+v, want %s", typ, c, want)
		}
	}

	// After a failover the old primary follows: its role now is failover.
	ds = healthy().Data
	ds.Primary = "west-0"
	ds.Members[0].State, ds.Members[1].State = "streaming", "primary"
	st = MirrorSet(ds)
	if st.Members[0].Role != v1alpha1.RoleFailover || st.Members[1].Role != v1alpha1.RolePrimary {
		t.Errorf("roles after a failover: %s, %s", st.Members[0].Role, st.Members[1].Role)
	}
	if st := MirrorSet(nil); meta.FindStatusCondition(st.Conditions, "Ready").Status != metav1.ConditionUnknown {
		t.Errorf("a set never read: %+v", st.Conditions)
	}
}

func TestMergeConditionsKeepsTransitionTimes(t *testing.T) {
	a := healthy()
	old := MergeConditions(nil, Application(a, nil).Conditions, 1, t0)
	same := MergeConditions(old, Application(a, nil).Conditions, 1, t0.Add(time.Hour))
	for i := range old {
		if !old[i].LastTransitionTime.Equal(&same[i].LastTransitionTime) || same[i].ObservedGeneration != 1 {
			t.Errorf("%s: transition %v → %v with no change", old[i].Type, old[i].LastTransitionTime, same[i].LastTransitionTime)
		}
	}
	a.Verdicts["east"] = "down"
	later := t0.Add(2 * time.Hour)
	moved := MergeConditions(same, Application(a, nil).Conditions, 2, later)
	r := meta.FindStatusCondition(moved, "Ready")
	if !r.LastTransitionTime.Time.Equal(later) || r.ObservedGeneration != 2 {
		t.Errorf("Ready went False: transition %v generation %d, want %v, 2", r.LastTransitionTime, r.ObservedGeneration, later)
	}
	if p := meta.FindStatusCondition(moved, "Protected"); !p.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("Protected kept its status: transition %v, want %v", p.LastTransitionTime, t0)
	}
}
