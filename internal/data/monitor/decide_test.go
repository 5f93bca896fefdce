package monitor

import (
	"fmt"
	"testing"

	"hadron.dev/hadron/internal/data"
)

func primary(name, region string, tli uint32) data.MemberStatus {
	return data.MemberStatus{Member: name, Region: region, Role: "primary", Primary: true, Reachable: true, State: data.StatePrimary, Timeline: tli, SystemID: 7, FlushLSN: 1000}
}

func standby(name, region, upstream string, sync bool, state data.State) data.MemberStatus {
	return data.MemberStatus{Member: name, Region: region, Role: "failover", Reachable: true, State: state, Timeline: 1, SystemID: 7, Upstream: upstream, Sync: sync, FlushLSN: 900, ReplayLSN: 900}
}

func down(name string) data.MemberStatus {
	return data.MemberStatus{Member: name, State: data.StateUnreachable}
}

func set(ms ...data.MemberStatus) *data.SetStatus { return &data.SetStatus{Set: "s", Members: ms} }

// heldSet is a set whose pods all restarted: e0, the primary's, held at its start
// (in recovery, following nobody) with WAL up to held; e1 streaming from it
// (cascading) up to e1Flush; w0 reachable or not.
func heldSet(held, e1Flush data.LSN, w0Reachable bool) *data.SetStatus {
	e0 := standby("e0", "east", "", false, data.StateDisconnected)
	e0.Role, e0.FollowsNobody, e0.FlushLSN, e0.ReplayLSN = "primary", true, held, held
	e1 := standby("e1", "east", "e0", false, data.StateStreaming)
	e1.FlushLSN = e1Flush
	w0 := standby("w0", "west", "e0", false, data.StateStreaming)
	if !w0Reachable {
		w0 = down("w0")
	}
	return set(e0, e1, w0)
}

// remembers checks the memory's primary and synchronous member.
func remembers(primary, sync string) func(Memory) error {
	return func(m Memory) error {
		if m.Primary != primary || m.Sync != sync {
			return fmt.Errorf("remembers primary %q sync %q, want %q and %q", m.Primary, m.Sync, primary, sync)
		}
		return nil
	}
}

func TestDecide(t *testing.T) {
	healthy := Memory{Primary: "e0", PrimaryFlush: 1000, Timeline: 1, SystemID: 7, Region: "east", Sync: "e1"}
	for _, tc := range []struct {
		name    string
		mem     Memory
		st      *data.SetStatus
		want    []string
		cfg     Config
		wantMem func(Memory) error
	}{
		{
			name: "healthy set: remember primary and sync member, no action",
			st: set(primary("e0", "east", 1), standby("e1", "east", "e0", true, data.StateStreaming),
				standby("w0", "west", "e0", false, data.StateStreaming)),
			wantMem: func(m Memory) error {
				if m.Primary != "e0" || m.Sync != "e1" || m.Down != 0 || m.Timeline != 1 {
					return fmt.Errorf("%+v", m)
				}
				return nil
			},
		},
		{
			name: "the sync member flickers out of the primary's list while streaming: still remembered",
			mem:  healthy,
			st: set(primary("e0", "east", 1), standby("e1", "east", "e0", false, data.StateStreaming),
				standby("w0", "west", "e0", false, data.StateStreaming)),
			wantMem: remembers("e0", "e1"),
		},
		{
			name: "an in-region stand-by streams again by itself, nobody synchronous, the set wants one: resync",
			mem:  Memory{Primary: "e1", Timeline: 2, SystemID: 7, Region: "east"},
			st: set(primary("e1", "east", 1), standby("e0", "east", "e1", false, data.StateStreaming),
				standby("w0", "west", "e1", false, data.StateStreaming)),
			cfg:     Config{Synchronous: true},
			want:    []string{"resync e1"},
			wantMem: remembers("e1", ""),
		},
		{
			name: "the same for a set that wants no synchronous member: nothing",
			mem:  Memory{Primary: "e1", Timeline: 2, SystemID: 7, Region: "east"},
			st: set(primary("e1", "east", 1), standby("e0", "east", "e1", false, data.StateStreaming),
				standby("w0", "west", "e1", false, data.StateStreaming)),
			wantMem: remembers("e1", ""),
		},
		{
			name:    "only a DR member streams: nothing to make synchronous in-region",
			mem:     Memory{Primary: "e1", Timeline: 2, SystemID: 7, Region: "east"},
			st:      set(primary("e1", "east", 1), down("e0"), standby("w0", "west", "e1", false, data.StateStreaming)),
			cfg:     Config{Synchronous: true},
			wantMem: remembers("e1", ""),
		},
		{
			name: "the sync member stopped streaming: forgotten",
			mem:  healthy,
			st: set(primary("e0", "east", 1), standby("e1", "east", "e0", false, data.StateDisconnected),
				standby("w0", "west", "e0", false, data.StateStreaming)),
			want:    []string{"resync e0"},
			wantMem: remembers("e0", ""),
		},
		{
			name: "a data-loss promise not in force that could be: resync puts it back",
			mem:  healthy,
			st: func() *data.SetStatus {
				st := set(primary("e0", "east", 1), standby("e1", "east", "e0", true, data.StateStreaming),
					standby("w0", "west", "e0", false, data.StateStreaming))
				st.Promise = &data.Promise{Mode: "bounded", Restorable: true}
				return st
			}(),
			want:    []string{"resync e0"},
			wantMem: remembers("e0", "e1"),
		},
		{
			name: "a data-loss promise not in force, DR member still out: nothing to do",
			mem:  healthy,
			st: func() *data.SetStatus {
				st := set(primary("e0", "east", 1), standby("e1", "east", "e0", true, data.StateStreaming),
					standby("w0", "west", "e0", false, data.StateDisconnected))
				st.Promise = &data.Promise{Mode: "bounded"}
				return st
			}(),
			wantMem: remembers("e0", "e1"),
		},
		{
			name: "a new primary: the old sync member is not carried over",
			mem:  healthy,
			st: set(primary("e1", "east", 2), standby("e0", "east", "e1", false, data.StateStreaming),
				standby("w0", "west", "e1", false, data.StateStreaming)),
			wantMem: remembers("e1", ""),
		},
		{
			name: "primary down once: wait",
			mem:  healthy,
			st:   set(down("e0"), standby("e1", "east", "e0", false, data.StateDisconnected), standby("w0", "west", "e0", false, data.StateDisconnected)),
			wantMem: func(m Memory) error {
				if m.Down != 1 {
					return fmt.Errorf("down = %d", m.Down)
				}
				return nil
			},
		},
		{
			name: "primary down for FailAfter: promote the sync member",
			mem:  func() Memory { m := healthy; m.Down = 2; return m }(),
			st:   set(down("e0"), standby("e1", "east", "e0", false, data.StateDisconnected), standby("w0", "west", "e0", false, data.StateDisconnected)),
			want: []string{"promote e1"},
		},
		{
			name: "the whole set restarted, the primary's pod held at its start, a new leader: promote the held one",
			mem:  Memory{Down: 2},
			st:   heldSet(1000, 1000, true),
			want: []string{"promote e0"},
		},
		{
			name: "the whole set restarted, the held one not yet down for FailAfter: wait",
			mem:  Memory{Down: 0},
			st:   heldSet(1000, 1000, true),
		},
		{
			name: "a held member but another member ahead of it: a person's decision",
			mem:  Memory{Down: 2},
			st:   heldSet(1000, 1100, true),
		},
		{
			name: "a held member but a member out of reach (it may hold more): a person's decision",
			mem:  Memory{Down: 2},
			st:   heldSet(1000, 1000, false),
		},
		{
			name: "primary fenced on purpose (a runbook, a self-fence): never promote",
			mem:  func() Memory { m := healthy; m.Down = 5; return m }(),
			st: set(func() data.MemberStatus { p := primary("e0", "east", 1); p.State = data.StateFenced; return p }(),
				standby("e1", "east", "e0", true, data.StateStreaming), standby("w0", "west", "e0", false, data.StateStreaming)),
			wantMem: func(m Memory) error {
				if m.Down != 0 {
					return fmt.Errorf("down = %d, want the count reset", m.Down)
				}
				return nil
			},
		},
		{
			name: "no sync member known: never promote automatically",
			mem:  func() Memory { m := healthy; m.Down = 9; m.Sync = ""; return m }(),
			st:   set(down("e0"), standby("e1", "east", "e0", false, data.StateDisconnected), standby("w0", "west", "e0", false, data.StateDisconnected)),
		},
		{
			name: "no sync member, MaxLag allows the in-region standby within reach",
			mem:  func() Memory { m := healthy; m.Down = 2; m.Sync = ""; return m }(),
			st: set(down("e0"), standby("e1", "east", "e0", false, data.StateDisconnected),
				func() data.MemberStatus {
					s := standby("w0", "west", "e0", false, data.StateDisconnected)
					s.FlushLSN = 1000
					return s
				}()),
			cfg:  Config{FailAfter: 3, MaxLag: 100},
			want: []string{"promote e1"},
		},
		{
			name: "no sync member, in-region standby lags beyond MaxLag: nothing (the DR member is never chosen)",
			mem:  func() Memory { m := healthy; m.Down = 2; m.Sync = ""; return m }(),
			st: set(down("e0"), standby("e1", "east", "e0", false, data.StateDisconnected),
				func() data.MemberStatus {
					s := standby("w0", "west", "e0", false, data.StateDisconnected)
					s.FlushLSN = 1000
					return s
				}()),
			cfg: Config{FailAfter: 3, MaxLag: 99},
		},
		{
			name: "sync member unreachable too: nothing to promote",
			mem:  func() Memory { m := healthy; m.Down = 5; return m }(),
			st:   set(down("e0"), down("e1"), standby("w0", "west", "e0", false, data.StateDisconnected)),
		},
		{
			name: "sync member on another timeline: refuse",
			mem:  func() Memory { m := healthy; m.Down = 5; return m }(),
			st: set(down("e0"), func() data.MemberStatus {
				s := standby("e1", "east", "e0", false, data.StateDisconnected)
				s.Timeline = 2
				return s
			}()),
		},
		{
			// Seen in the lab: west-0 promoted on timeline 8 by a failover, then
			// self-fenced (its site lost the etcd majority for a moment); the restored
			// east brought its old primary back writable on timeline 7. That one must
			// be fenced, never taken for the primary that west-0 is rewound to — which
			// would discard every write of timeline 8.
			name: "the newest primary is fenced and an old primary came back writable: fence the old one, rewind nobody",
			mem:  Memory{Primary: "w0", Timeline: 8, SystemID: 7, Region: "west"},
			st: set(func() data.MemberStatus { p := primary("w0", "west", 8); p.State = data.StateFenced; return p }(),
				primary("e1", "east", 7), standby("e0", "east", "e1", true, data.StateStreaming)),
			want: []string{"fence e1"},
			wantMem: func(m Memory) error {
				if m.Primary == "e1" {
					return fmt.Errorf("took the old timeline's writer for the primary: %+v", m)
				}
				return nil
			},
		},
		{
			name:    "a writer on an older timeline than the newest writer is fenced and rejoined to it",
			mem:     Memory{Primary: "w0", Timeline: 8, SystemID: 7, Region: "west"},
			st:      set(primary("w0", "west", 8), primary("e1", "east", 7), standby("e0", "east", "e1", false, data.StateStreaming)),
			want:    []string{"fence e1", "rejoin e1", "rejoin e0"},
			wantMem: remembers("w0", ""),
		},
		{
			name: "after failover: DR member repointed, old primary back on old timeline fenced and rejoined",
			mem:  Memory{Primary: "e1", Timeline: 2, SystemID: 7},
			st: set(primary("e0", "east", 1), primary("e1", "east", 2),
				standby("w0", "west", "e0", false, data.StateDisconnected)),
			want: []string{"fence e0", "rejoin e0", "rejoin w0"},
			wantMem: func(m Memory) error {
				if m.Primary != "e1" || m.Timeline != 2 {
					return fmt.Errorf("%+v", m)
				}
				return nil
			},
		},
		{
			name: "a standby without a WAL stream is counted, not rejoined at once",
			mem:  Memory{Primary: "e0", Timeline: 1, SystemID: 7, Stalled: map[string]int{"w0": 3}},
			cfg:  Config{StalledAfter: 5},
			st: set(primary("e0", "east", 1), standby("e1", "east", "e0", true, data.StateStreaming),
				standby("w0", "west", "", false, data.StateDisconnected)),
			wantMem: func(m Memory) error {
				if m.Stalled["w0"] != 4 {
					return fmt.Errorf("stalled %v, want w0 at 4", m.Stalled)
				}
				return nil
			},
		},
		{
			name: "a standby without a WAL stream for StalledAfter observations is rejoined, and counted afresh",
			mem:  Memory{Primary: "e0", Timeline: 1, SystemID: 7, Stalled: map[string]int{"w0": 4}},
			cfg:  Config{StalledAfter: 5},
			st: set(primary("e0", "east", 1), standby("e1", "east", "e0", true, data.StateStreaming),
				standby("w0", "west", "", false, data.StateDisconnected)),
			want: []string{"rejoin w0"},
			wantMem: func(m Memory) error {
				if m.Stalled["w0"] != 0 {
					return fmt.Errorf("stalled %v after the rejoin, want w0 counted afresh", m.Stalled)
				}
				return nil
			},
		},
		{
			name: "a standby that follows nobody (held at its pod's start) is rejoined at once",
			mem:  Memory{Primary: "e1", Timeline: 2, SystemID: 7},
			cfg:  Config{StalledAfter: 5},
			st: func() *data.SetStatus {
				held := standby("e0", "east", "", false, data.StateDisconnected)
				held.FollowsNobody = true
				return set(primary("e1", "east", 2), held, standby("w0", "west", "e1", false, data.StateStreaming))
			}(),
			want: []string{"rejoin e0"},
		},
		{
			name: "a stream that comes back clears the count",
			mem:  Memory{Primary: "e0", Timeline: 1, SystemID: 7, Stalled: map[string]int{"w0": 4}},
			cfg:  Config{StalledAfter: 5},
			st: set(primary("e0", "east", 1), standby("e1", "east", "e0", true, data.StateStreaming),
				standby("w0", "west", "e0", false, data.StateCatchingUp)),
			wantMem: func(m Memory) error {
				if m.Stalled["w0"] != 0 {
					return fmt.Errorf("stalled %v, want w0 cleared", m.Stalled)
				}
				return nil
			},
		},
		{
			name: "a member whose rejoin was cut off is rejoined (a lost one, merely down, is not)",
			mem:  Memory{Primary: "e1", Timeline: 2, SystemID: 7},
			st: set(primary("e1", "east", 2), data.MemberStatus{Member: "e0", State: data.StateRejoining},
				down("w0")),
			want:    []string{"rejoin e0"},
			wantMem: remembers("e1", ""),
		},
		{
			name: "a cut-off rejoin waits while no primary is up (there is nothing to rejoin to)",
			mem:  Memory{Primary: "e1", Timeline: 2, SystemID: 7, Down: 1},
			st:   set(down("e1"), data.MemberStatus{Member: "e0", State: data.StateRejoining}),
		},
		{
			name: "sync member stopped streaming while the primary lives: resync",
			mem:  healthy,
			st:   set(primary("e0", "east", 1), down("e1"), standby("w0", "west", "e0", false, data.StateStreaming)),
			want: []string{"resync e0"},
			wantMem: func(m Memory) error {
				if m.Sync != "" {
					return fmt.Errorf("sync = %q, want none", m.Sync)
				}
				return nil
			},
		},
		{
			name: "a DR member is never the sync member",
			st: set(primary("e0", "east", 1), func() data.MemberStatus {
				s := standby("w0", "west", "e0", true, data.StateStreaming)
				return s
			}()),
			wantMem: func(m Memory) error {
				if m.Sync != "" {
					return fmt.Errorf("sync = %q", m.Sync)
				}
				return nil
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.FailAfter == 0 {
				cfg.FailAfter = 3
			}
			mem, acts := Decide(tc.mem, tc.st, cfg)
			var got []string
			for _, a := range acts {
				got = append(got, fmt.Sprintf("%s %s", a.Kind, a.Member))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("actions %v, want %v", got, tc.want)
			}
			for _, a := range acts {
				if a.Kind == Promote && (a.Token.SystemID != 7 || a.Token.Timeline != 1) {
					t.Fatalf("token %+v", a.Token)
				}
			}
			if tc.wantMem != nil {
				if err := tc.wantMem(mem); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
