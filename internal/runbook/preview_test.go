package runbook

import (
	"context"
	"strings"
	"testing"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/memory"
)

// The previews of the data steps say, from the driver's Status, which member each
// step would fence or promote and the loss expected from the positions now; each
// notes on the shared scratch record what the steps after it need. None acts.
func TestDataStepPreviews(t *testing.T) {
	member := func(name, site string, primary bool, flush, replay data.LSN) *memory.Member {
		m := &memory.Member{Name: name, Site: site, Region: site, Role: "standby", Primary: primary,
			Reachable: true, Timeline: 1, Flush: flush, Replay: replay}
		if primary {
			m.Role = "primary"
		} else {
			m.Upstream = "east-0"
		}
		return m
	}
	limit := int64(1024)
	regionLost := func() []*memory.Member {
		e := member("east-0", "east", true, 0x5000, 0x5000)
		e.Reachable = false
		return []*memory.Member{e, member("west-0", "west", false, 0x5000, 0x5000)}
	}
	type want struct {
		step      string
		would     []string // substrings of the preview
		stopsWith string   // substring of the error; "" none
	}
	tests := []struct {
		name    string
		members func() []*memory.Member
		env     func(*Env)
		rec     Record
		steps   []Def
		want    []want
	}{{
		name: "failover with the old primary reachable",
		members: func() []*memory.Member {
			return []*memory.Member{member("east-0", "east", true, 0x5000, 0x5000), member("west-0", "west", false, 0x4000, 0x4000)}
		},
		rec:   Record{Kind: Failover, From: "east", To: "west", Who: "alice"},
		steps: []Def{fence, promote},
		want: []want{
			{StepFence, []string{"dns → west", "fence east-0 (primary at east, flushed 0/5000)", "last flush 0/5000"}, ""},
			{StepPromote, []string{"promote west-0 (streaming, flushed 0/4000, timeline 1)", "expected loss 4096 bytes (0/5000 − 0/4000)"}, ""},
		},
	}, {
		name: "failover after the region is lost: the most advanced member, at least the loss since the last flush seen",
		members: func() []*memory.Member {
			e := member("east-0", "east", true, 0x5000, 0x5000)
			e.Reachable = false
			return []*memory.Member{e, member("west-0", "west", false, 0x4000, 0x4000), member("west-1", "west", false, 0x4800, 0x4800)}
		},
		env:   func(env *Env) { env.LastKnownFlush = func() data.LSN { return 0x6000 } },
		rec:   Record{Kind: Failover, From: "east", To: "west", Who: "alice"},
		steps: []Def{fence, promote},
		want: []want{
			{StepFence, []string{"east-0 unreachable", "no reachable primary at east", "last flush 0/6000"}, ""},
			{StepPromote, []string{"promote west-1", "expected loss 6144 bytes", "at least"}, ""},
		},
	}, {
		name: "failover with no position known",
		members: func() []*memory.Member {
			e := member("east-0", "east", true, 0x5000, 0x5000)
			e.Reachable = false
			return []*memory.Member{e, member("west-0", "west", false, 0x4000, 0x4000)}
		},
		rec:   Record{Kind: Failover, From: "east", To: "west", Who: "alice"},
		steps: []Def{fence, promote},
		want: []want{
			{StepFence, []string{"no reachable primary at east", "no primary position known"}, ""},
			{StepPromote, []string{"promote west-0", "loss unknown"}, ""},
		},
	}, {
		name: "automatic failover above the loss bound stops at promote",
		members: func() []*memory.Member {
			return []*memory.Member{member("east-0", "east", true, 0x5000, 0x5000), member("west-0", "west", false, 0x4000, 0x4000)}
		},
		env:   func(env *Env) { env.MaxAutoLoss = &limit },
		rec:   Record{Kind: Failover, From: "east", To: "west", Who: "auto"},
		steps: []Def{fence, promote},
		want: []want{
			{StepFence, []string{"fence east-0"}, ""},
			{StepPromote, nil, "would lose 4096 bytes, more than maxLagOnFailover 1024"},
		},
	}, {
		name:    "mode synchronous, region lost: the automatic failover promotes a member every commit waited for",
		members: regionLost,
		env: func(env *Env) {
			env.LossMode = v1alpha1.DataLossSynchronous
			env.LastPromise = func() *data.Promise {
				return &data.Promise{Mode: v1alpha1.DataLossSynchronous, InForce: true, Holders: []string{"east-1", "west-0"}, Setting: `ANY 2 ("east-1", "west-0")`}
			}
		},
		rec:   Record{Kind: Failover, From: "east", To: "west", Who: "auto"},
		steps: []Def{fence, promote},
		want: []want{
			{StepFence, []string{"no reachable primary at east"}, ""},
			{StepPromote, []string{"promote west-0"}, ""},
		},
	}, {
		name:    "mode synchronous, region lost: not a member every commit waited for, a person decides",
		members: regionLost,
		env: func(env *Env) {
			env.LossMode = v1alpha1.DataLossSynchronous
			env.LastPromise = func() *data.Promise {
				return &data.Promise{Mode: v1alpha1.DataLossSynchronous, InForce: true, Holders: []string{"east-1", "west-1"}}
			}
		},
		rec:   Record{Kind: Failover, From: "east", To: "west", Who: "auto"},
		steps: []Def{fence, promote},
		want: []want{
			{StepFence, nil, ""},
			{StepPromote, nil, "west-0 is not one of the members every commit waited for (east-1, west-1)"},
		},
	}, {
		name:    "mode synchronous, region lost, promise not in force: a person decides",
		members: regionLost,
		env: func(env *Env) {
			env.LossMode = v1alpha1.DataLossSynchronous
			env.LastPromise = func() *data.Promise {
				return &data.Promise{Mode: v1alpha1.DataLossSynchronous, Setting: `ANY 1 ("east-1")`}
			}
		},
		rec:   Record{Kind: Failover, From: "east", To: "west", Who: "auto"},
		steps: []Def{fence, promote},
		want: []want{
			{StepFence, nil, ""},
			{StepPromote, nil, `mode synchronous was not in force when the old primary was last seen (ANY 1 ("east-1"))`},
		},
	}, {
		name:    "mode synchronous, never seen: a person decides; a person's own failover goes on",
		members: regionLost,
		env:     func(env *Env) { env.LossMode = v1alpha1.DataLossSynchronous },
		rec:     Record{Kind: Failover, From: "east", To: "west", Who: "auto"},
		steps:   []Def{fence, promote},
		want: []want{
			{StepFence, nil, ""},
			{StepPromote, nil, "how the old primary kept it was never seen"},
		},
	}, {
		name:    "mode synchronous: a person's failover is not held back",
		members: regionLost,
		env:     func(env *Env) { env.LossMode = v1alpha1.DataLossSynchronous },
		rec:     Record{Kind: Failover, From: "east", To: "west", Who: "alice"},
		steps:   []Def{fence, promote},
		want: []want{
			{StepFence, nil, ""},
			{StepPromote, []string{"promote west-0"}, ""},
		},
	}, {
		name: "switchover: fence the primary, wait for replay, promote losing nothing, rejoin the old site",
		members: func() []*memory.Member {
			return []*memory.Member{member("east-0", "east", true, 0x5000, 0x5000), member("west-0", "west", false, 0x5000, 0x4000)}
		},
		rec:   Record{Kind: Switchover, From: "east", To: "west", Who: "alice"},
		steps: []Def{ready, fenceWrites, drain, dataSwitchover, standbyOld},
		want: []want{
			{StepReady, []string{"primary east-0; west-0 streaming, 4096 bytes behind"}, ""},
			{StepFenceWrites, []string{"fence east-0 (primary, flushed 0/5000 now)"}, ""},
			{StepDrain, []string{"wait until west-0 has replayed 0/5000: at 0/4000 now, 4096 bytes to go"}, ""},
			{StepDataSwitchover, []string{"promote west-0 (timeline 1) once it has replayed 0/5000", "expected loss none"}, ""},
			{StepStandbyOld, []string{"rejoin east-0 to follow west-0"}, ""},
		},
	}, {
		name: "switchover with no member at the target",
		members: func() []*memory.Member {
			w := member("west-0", "west", false, 0x4000, 0x4000)
			w.Reachable = false
			return []*memory.Member{member("east-0", "east", true, 0x5000, 0x5000), w}
		},
		rec:   Record{Kind: Switchover, From: "east", To: "west", Who: "alice"},
		steps: []Def{ready},
		want:  []want{{StepReady, nil, "west: no member at the target site can take over"}},
	}, {
		name: "failback: the fenced old primary rejoins the promoted one",
		members: func() []*memory.Member {
			e := member("east-0", "east", true, 0x5000, 0x5000)
			e.Fenced = true
			w := member("west-0", "west", true, 0x7000, 0x7000)
			w.Timeline = 2
			return []*memory.Member{e, w}
		},
		rec:   Record{Kind: Failback, From: "west", To: "east", Who: "alice"},
		steps: []Def{rejoin},
		want:  []want{{StepRejoin, []string{"rejoin east-0 (fenced, timeline 1) to follow west-0"}, ""}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &memory.Set{SystemID: 7, Members: tt.members()}
			env := &Env{Data: set}
			if tt.env != nil {
				tt.env(env)
			}
			r := tt.rec
			for i, d := range tt.steps {
				w := tt.want[i]
				if d.Name != w.step {
					t.Fatalf("step %d is %s, want %s", i, d.Name, w.step)
				}
				got, err := d.Preview(env, context.Background(), &r)
				if w.stopsWith != "" {
					if err == nil || !strings.Contains(err.Error(), w.stopsWith) {
						t.Fatalf("%s: %q, %v; want it to stop with %q", d.Name, got, err, w.stopsWith)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", d.Name, err)
				}
				for _, s := range w.would {
					if !strings.Contains(got, s) {
						t.Errorf("%s: %q lacks %q", d.Name, got, s)
					}
				}
			}
			if len(set.Calls) != 0 {
				t.Fatalf("a preview acted: %v", set.Calls)
			}
		})
	}
}
