package postgres

import (
	"errors"
	"net"
	"testing"

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
