package postgres

import (
	"errors"
	"net"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
)

func TestSyncStandbyNames(t *testing.T) {
	m := func(name, region string, state data.State) data.MemberStatus {
		return data.MemberStatus{Member: name, Region: region, State: state, Reachable: true}
	}
	for _, tc := range []struct {
		name    string
		members []data.MemberStatus
		sync    bool
		want    string
	}{
		{"in-region streaming standby is synchronous, DR is not",
			[]data.MemberStatus{m("e0", "east", data.StatePrimary), m("e1", "east", data.StateStreaming), m("w0", "west", data.StateStreaming)},
			true, `ANY 1 ("e1")`},
		{"several in-region standbys: any one of them",
			[]data.MemberStatus{m("e0", "east", data.StatePrimary), m("e2", "east", data.StateCatchingUp), m("e1", "east", data.StateStreaming)},
			true, `ANY 1 ("e1", "e2")`},
		{"in-region standby down: asynchronous so that commits do not hang",
			[]data.MemberStatus{m("e0", "east", data.StatePrimary), m("e1", "east", data.StateUnreachable), m("w0", "west", data.StateStreaming)},
			true, ""},
		{"synchronous replication turned off", []data.MemberStatus{m("e0", "east", data.StatePrimary), m("e1", "east", data.StateStreaming)},
			false, ""},
		{"quotes in names are doubled", []data.MemberStatus{m("e0", "east", data.StatePrimary), m(`a"b`, "east", data.StateStreaming)},
			true, `ANY 1 ("a""b")`},
	} {
		if got := SyncStandbyNames("e0", "east", tc.members, tc.sync); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestConninfoAddr(t *testing.T) {
	for in, want := range map[string]string{
		`host='127.0.0.1' port=23003 user='replicator' password='pw-S\'x y' application_name='west-0'`: "127.0.0.1:23003",
		`user=foo password=bar channel_binding=prefer host=10.0.0.5 port=5433 sslmode=disable`:         "10.0.0.5:5433",
		`host=db.example`: "db.example:5432",
		``:                "",
	} {
		if got := conninfoAddr(in); got != want {
			t.Errorf("conninfoAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSlotName(t *testing.T) {
	for in, want := range map[string]string{"east-0": "hadron_east_0", "West.DR": "hadron_west_dr"} {
		if got := slotName(in); got != want {
			t.Errorf("slotName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzConninfoAddr: primary_conninfo comes from a server; parsing it must never panic
// and never return anything but host:port.
func FuzzConninfoAddr(f *testing.F) {
	f.Add(`host='127.0.0.1' port=23003 user='r' password='p\'q' application_name='w'`)
	f.Add(`host=a port=1`)
	f.Add(`'`)
	f.Fuzz(func(t *testing.T, ci string) {
		a := conninfoAddr(ci)
		if a == "" {
			return
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			t.Fatalf("conninfoAddr(%q) = %q: %v", ci, a, err)
		}
	})
}

func TestParseHistory(t *testing.T) {
	got := parseHistory("1\t0/400C2E0\tno recovery target specified\n\n2\t0/5000000\tno recovery target specified\n")
	if got[1] != 0x400C2E0 || got[2] != 0x5000000 || len(got) != 2 {
		t.Fatalf("%v", got)
	}
}

func TestUnfenceAllowed(t *testing.T) {
	fenced := func(name string, tli uint32) data.MemberStatus {
		return data.MemberStatus{Member: name, Reachable: true, Primary: true, State: data.StateFenced, Timeline: tli}
	}
	primary := func(name string, tli uint32) data.MemberStatus {
		return data.MemberStatus{Member: name, Reachable: true, Primary: true, State: data.StatePrimary, Timeline: tli}
	}
	standby := data.MemberStatus{Member: "e1", Reachable: true, State: data.StateStreaming, Timeline: 1}
	tests := []struct {
		name string
		st   []data.MemberStatus
		err  error
	}{
		{"the only primary, fenced", []data.MemberStatus{fenced("e0", 1), standby}, nil},
		{"not fenced", []data.MemberStatus{primary("e0", 1), standby}, data.ErrNotFenced},
		{"a standby", []data.MemberStatus{fenced("e1", 1), {Member: "e0", Reachable: true, State: data.StateStreaming}}, data.ErrNotFenced},
		{"another primary took over", []data.MemberStatus{fenced("e0", 1), primary("w0", 2)}, data.ErrOvertaken},
		{"a fenced primary on a later timeline", []data.MemberStatus{fenced("e0", 1), fenced("w0", 2)}, data.ErrOvertaken},
		{"an unreachable other member is no evidence", []data.MemberStatus{fenced("e0", 1), {Member: "w0", Primary: true, Timeline: 2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := unfenceAllowed(&data.SetStatus{Members: tt.st}, "e0")
			if (tt.err == nil) != (err == nil) || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Fatalf("unfenceAllowed = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestWantedSyncPerMode(t *testing.T) {
	m := func(name, region string, role v1alpha1.MemberRole, state data.State, lag float64) data.MemberStatus {
		return data.MemberStatus{Member: name, Region: region, Role: role, State: state, Reachable: true, LagSeconds: lag, LagBytes: int64(lag * 1000)}
	}
	healthy := []data.MemberStatus{
		{Member: "e0", Region: "east", Primary: true, State: data.StatePrimary},
		m("e2", "east", v1alpha1.RoleFailover, data.StateStreaming, 0),
		m("e1", "east", v1alpha1.RoleFailover, data.StateStreaming, 0),
		m("w0", "west", v1alpha1.RoleDRAsync, data.StateStreaming, 0.07),
	}
	drCut := []data.MemberStatus{healthy[0], healthy[1], healthy[2], m("w0", "west", v1alpha1.RoleDRAsync, data.StateDisconnected, 3)}
	drBehind := []data.MemberStatus{healthy[0], healthy[1], healthy[2], m("w0", "west", v1alpha1.RoleDRAsync, data.StateStreaming, 30)}
	twoDR := []data.MemberStatus{healthy[0], healthy[2], m("w0", "west", v1alpha1.RoleDRAsync, data.StateDisconnected, 3),
		{Member: "w1", Region: "west", Role: v1alpha1.RoleDRAsync, State: data.StateStreaming, Reachable: true}}
	bounded := func(cur string) SyncPolicy {
		return SyncPolicy{InRegion: true, Mode: v1alpha1.DataLossBounded, Bound: 200 * time.Millisecond, Current: cur}
	}
	sync := func(cur string) SyncPolicy {
		return SyncPolicy{InRegion: true, Mode: v1alpha1.DataLossSynchronous, Current: cur}
	}
	for _, tc := range []struct {
		name    string
		members []data.MemberStatus
		p       SyncPolicy
		want    string
	}{
		{"async: any in-region standby, as ever", healthy, SyncPolicy{InRegion: true}, `ANY 1 ("e1", "e2")`},
		{"bounded: the keeper first, then one in-region standby", healthy, bounded(""), `FIRST 2 ("hadron_bound", "e1")`},
		{"bounded without in-region synchrony: the keeper alone", healthy, SyncPolicy{Mode: v1alpha1.DataLossBounded, Bound: time.Second}, `FIRST 1 ("hadron_bound")`},
		{"bounded, DR cut: the keeper stays named (it holds)", drCut, bounded(`FIRST 2 ("hadron_bound", "e1")`), `FIRST 2 ("hadron_bound", "e1")`},
		{"bounded, released, DR still cut: stays released", drCut, bounded(`FIRST 1 ("e1")`), `FIRST 1 ("e1")`},
		{"bounded, released, DR streams far behind: stays released", drBehind, bounded(`FIRST 1 ("e1")`), `FIRST 1 ("e1")`},
		{"bounded, released, DR back within the bound: restored", healthy, bounded(`FIRST 1 ("e1")`), `FIRST 2 ("hadron_bound", "e1")`},
		{"synchronous: one in-region standby and the DR member", healthy, sync(""), `ANY 2 ("e1", "w0")`},
		{"synchronous, DR cut: stays named (commits wait)", drCut, sync(`ANY 2 ("e1", "w0")`), `ANY 2 ("e1", "w0")`},
		{"synchronous, never named and cut: not named", drCut, sync(`ANY 1 ("e1")`), `ANY 1 ("e1")`},
		{"synchronous, streaming far behind: not named yet", drBehind, sync(""), `ANY 1 ("e1")`},
		{"synchronous, the named DR member cut, another caught up: it takes over", twoDR, sync(`ANY 2 ("e1", "w0")`), `ANY 2 ("e1", "w1")`},
		{"synchronous, in-region standby down: the DR member alone", []data.MemberStatus{healthy[0], m("e1", "east", v1alpha1.RoleFailover, data.StateUnreachable, 0), healthy[3]},
			sync(`ANY 2 ("e1", "w0")`), `ANY 1 ("w0")`},
	} {
		if got := WantedSync("e0", "east", tc.members, tc.p); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSyncNamesIn(t *testing.T) {
	for in, want := range map[string][]string{
		`FIRST 2 ("hadron_bound", "east-1")`: {"hadron_bound", "east-1"},
		`ANY 1 ("a""b", c)`:                  {`a"b`, "c"},
		`"x"`:                                {"x"},
		``:                                   nil,
		`2 (A, b)`:                           {"a", "b"},
	} {
		got := syncNamesIn(in)
		if len(got) != len(want) {
			t.Errorf("syncNamesIn(%q) = %v, want %v", in, got, want)
			continue
		}
		for _, w := range want {
			if !got[w] {
				t.Errorf("syncNamesIn(%q) = %v, want %v", in, got, want)
			}
		}
	}
}

// The keeper's judgement: everything received is confirmed while the oldest WAL the DR
// member has not confirmed is younger than the bound; nothing new past it.
func TestKeeperJudge(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	j := &judge{bound: 200 * time.Millisecond, start: 1000, end: 1000}
	if p := j.decide(at(0)); p != 0 || !j.holding {
		t.Fatalf("before the DR member reached the stream's start: confirmed %d, holding %v", p, j.holding)
	}
	j.drConfirmed(1000)
	if p := j.decide(at(1)); p != 1000 || j.holding {
		t.Fatalf("DR at the start: confirmed %d, holding %v", p, j.holding)
	}
	j.received(1100, at(10))
	j.received(1200, at(50))
	if p := j.decide(at(60)); p != 1200 {
		t.Fatalf("DR 50 ms behind: confirmed %d, want 1200", p)
	}
	j.drConfirmed(1100) // the oldest unconfirmed WAL now arrived at 50
	j.received(1300, at(240))
	if p := j.decide(at(240)); p != 1300 || j.holding {
		t.Fatalf("oldest unconfirmed 190 ms old: confirmed %d, holding %v", p, j.holding)
	}
	j.received(1400, at(260))
	if p := j.decide(at(260)); p != 1300 || !j.holding {
		t.Fatalf("oldest unconfirmed 210 ms old: confirmed %d (want 1300 kept), holding %v", p, j.holding)
	}
	j.drConfirmed(1300)
	if p := j.decide(at(270)); p != 1400 || j.holding {
		t.Fatalf("DR caught up to 1300 (oldest unconfirmed arrived at 260): confirmed %d, holding %v", p, j.holding)
	}
	j.drConfirmed(1400)
	if a := j.age(at(10000)); a != 0 {
		t.Fatalf("all confirmed: age %s", a)
	}
}

func TestKeeperJudgeMergesMarksSafely(t *testing.T) {
	t0 := time.Now()
	j := &judge{bound: time.Hour, start: 0, end: 0, dr: 0}
	for i := 1; i <= maxMarks+10; i++ {
		j.received(data.LSN(i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if len(j.marks) > maxMarks {
		t.Fatalf("%d marks kept", len(j.marks))
	}
	// The oldest unconfirmed WAL's time may only get older by merging.
	j.drConfirmed(100)
	if j.marks[0].at.After(t0.Add(101 * time.Millisecond)) {
		t.Fatalf("after merging, the oldest unconfirmed WAL looks younger: %s", j.marks[0].at.Sub(t0))
	}
}

func TestBoundHolding(t *testing.T) {
	const bound = 200 * time.Millisecond
	for _, c := range []struct {
		name                         string
		inForce, keeper, unconfirmed bool
		lag                          time.Duration
		want                         bool
	}{
		{"released: nothing waits", false, false, false, time.Hour, false},
		{"no keeper streams: commits wait", true, false, false, 0, true},
		{"keeper keeps up, DR within the bound", true, true, false, 50 * time.Millisecond, false},
		{"keeper a little behind, DR within the bound", true, true, true, 50 * time.Millisecond, false},
		{"DR behind the bound after a quiet spell: the next commit passes", true, true, false, time.Second, false},
		{"DR behind the bound and the keeper holding WAL back", true, true, true, time.Second, true},
		{"exactly at the bound", true, true, true, bound, true},
	} {
		if got := boundHolding(c.inForce, c.keeper, c.unconfirmed, c.lag, bound); got != c.want {
			t.Errorf("%s: holding %v, want %v", c.name, got, c.want)
		}
	}
}
