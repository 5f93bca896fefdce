package data

import (
	"bytes"
	"strings"
	"testing"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
)

// set is a mirror set observed with east-0 the primary at 0/3000, east-1 streaming
// caught up, west-0 behind at 0/2000.
func set() *data.SetStatus {
	return &data.SetStatus{Set: "shop-db", Primary: "east-0", Members: []data.MemberStatus{
		{Member: "east-0", Primary: true, Reachable: true, State: data.StatePrimary, Timeline: 1, FlushLSN: 0x3000},
		{Member: "east-1", Reachable: true, State: data.StateStreaming, Timeline: 1, FlushLSN: 0x3000, Upstream: "east-0"},
		{Member: "west-0", Reachable: true, State: data.StateCatchingUp, Timeline: 1, FlushLSN: 0x2000, Upstream: "east-0"},
	}}
}

func TestPlanPromotion(t *testing.T) {
	noPrimary := set()
	noPrimary.Primary = ""
	noPrimary.Members[0] = data.MemberStatus{Member: "east-0", State: data.StateUnreachable, Error: "east-0: connection refused"}
	for _, tc := range []struct {
		name       string
		st         *data.SetStatus
		member     string
		refused    string
		fence      string
		lossBytes  int64
		needsForce bool
	}{
		{"in-region synchronous member: nothing lost", set(), "east-1", "", "east-0", 0, false},
		{"DR member behind: loses the difference", set(), "west-0", "", "east-0", 0x1000, true},
		{"the primary itself", set(), "east-0", "already the primary", "", 0, false},
		{"unreachable member", noPrimary, "east-0", "unreachable: connection refused", "", 0, false},
		{"no primary: loss unknown", noPrimary, "west-0", "", "", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanPromotion(tc.st, tc.member)
			if p.Refused != tc.refused || p.Fence != tc.fence || p.NeedsForce != tc.needsForce {
				t.Fatalf("plan %+v", p)
			}
			if tc.refused == "" && p.Loss.Bytes != tc.lossBytes {
				t.Errorf("loss %d bytes, want %d", p.Loss.Bytes, tc.lossBytes)
			}
			var b bytes.Buffer
			if err := p.Write(&b); err != nil || !strings.Contains(b.String(), "dry run: nothing is changed") {
				t.Errorf("text %q %v", b.String(), err)
			}
		})
	}
}

func TestPlanRejoin(t *testing.T) {
	failedOver := set()
	failedOver.Primary = "west-0"
	failedOver.Members[2] = data.MemberStatus{Member: "west-0", Primary: true, Reachable: true, State: data.StatePrimary, Timeline: 2}
	failedOver.Members[0].State = data.StateFenced
	for _, tc := range []struct {
		name   string
		st     *data.SetStatus
		member v1alpha1.Member
		action string
	}{
		{"streaming already", set(), v1alpha1.Member{Name: "east-1"}, RejoinNone},
		{"catching up from the primary on its timeline", set(), v1alpha1.Member{Name: "west-0"}, RejoinRepoint},
		{"the primary", set(), v1alpha1.Member{Name: "east-0"}, RejoinRefused},
		{"a standby of the old primary: repointed", failedOver, v1alpha1.Member{Name: "east-1"}, RejoinRepoint},
		{"the old primary, with its data here: rewound", failedOver, v1alpha1.Member{Name: "east-0", DataDir: "/pg/east-0"}, RejoinRewind},
		{"the old primary, elsewhere: cannot", failedOver, v1alpha1.Member{Name: "east-0"}, RejoinRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := PlanRejoin(tc.st, tc.member); p.Action != tc.action {
				t.Errorf("action %s (%s), want %s", p.Action, p.Reason, tc.action)
			}
		})
	}
}

func TestPlanBootstrap(t *testing.T) {
	ms := &v1alpha1.MirrorSet{Spec: v1alpha1.MirrorSetSpec{Members: []v1alpha1.Member{
		{Name: "east-0", Role: v1alpha1.RolePrimary, DataDir: "/pg/east-0"},
		{Name: "east-1", Role: v1alpha1.RoleFailover, DataDir: "/pg/east-1"},
		{Name: "west-0", Role: v1alpha1.RoleDRAsync},
	}}}
	ms.Name = "shop-db"
	fresh := PlanBootstrap(ms, nil, func(string) bool { return false })
	again := PlanBootstrap(ms, set(), func(string) bool { return true })
	stopped := PlanBootstrap(ms, nil, func(string) bool { return true })
	for i, want := range [][3]string{{"initdb", "none", "start"}, {"clone", "none", "start"}, {"skip", "skip", "skip"}} {
		got := [3]string{fresh.Members[i].Action, again.Members[i].Action, stopped.Members[i].Action}
		if got != want {
			t.Errorf("%s: fresh/running/stopped %v, want %v", ms.Spec.Members[i].Name, got, want)
		}
	}
}
