package data

import (
	"errors"
	"testing"

	"hadron.dev/hadron/api/v1alpha1"
)

func TestParseLSN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want LSN
		bad  bool
	}{
		{"0/0", 0, false},
		{"0/3000148", 0x3000148, false},
		{"16/B374D848", 0x16B374D848, false},
		{"FFFFFFFF/FFFFFFFF", 0xFFFFFFFFFFFFFFFF, false},
		{"", 0, true},
		{"3000148", 0, true},
		{"0/xyz", 0, true},
		{"100000000/0", 0, true},
	} {
		got, err := ParseLSN(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadLSN) {
				t.Errorf("ParseLSN(%q) err = %v, want ErrBadLSN", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.in {
			t.Errorf("ParseLSN(%q) = %v (%s), %v; want %v", tc.in, uint64(got), got, err, uint64(tc.want))
		}
	}
	if d := LSN(100).Sub(LSN(40)); d != 60 {
		t.Errorf("Sub = %d", d)
	}
	if d := LSN(40).Sub(LSN(100)); d != 0 {
		t.Errorf("Sub of a position ahead = %d, want 0", d)
	}
}

func FuzzParseLSN(f *testing.F) {
	f.Add("0/3000148")
	f.Add("16/B374D848")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLSN(s)
		if err != nil {
			return
		}
		back, err := ParseLSN(l.String())
		if err != nil || back != l {
			t.Fatalf("%q -> %s -> %v %v", s, l, back, err)
		}
	})
}

func TestMostAdvanced(t *testing.T) {
	st := func(name string, role v1alpha1.MemberRole, tli uint32, flush, replay LSN, sync bool) MemberStatus {
		return MemberStatus{Member: name, Role: role, Timeline: tli, FlushLSN: flush, ReplayLSN: replay, Sync: sync, Reachable: true, SystemID: 7}
	}
	for _, tc := range []struct {
		name    string
		members []MemberStatus
		want    []string
	}{
		{"higher timeline wins over position", []MemberStatus{
			st("a", v1alpha1.RoleFailover, 1, 900, 900, true),
			st("b", v1alpha1.RoleDRAsync, 2, 100, 100, false),
		}, []string{"b", "a"}},
		{"flush (received) before replay", []MemberStatus{
			st("a", v1alpha1.RoleFailover, 1, 500, 500, true),
			st("b", v1alpha1.RoleDRAsync, 1, 600, 300, false),
		}, []string{"b", "a"}},
		{"replay breaks a flush tie", []MemberStatus{
			st("a", v1alpha1.RoleFailover, 1, 500, 400, true),
			st("b", v1alpha1.RoleDRAsync, 1, 500, 450, false),
		}, []string{"b", "a"}},
		{"sync before async at equal positions", []MemberStatus{
			st("b", v1alpha1.RoleDRAsync, 1, 500, 500, false),
			st("a", v1alpha1.RoleDRAsync, 1, 500, 500, true),
		}, []string{"a", "b"}},
		{"failover role before DR, then name", []MemberStatus{
			st("z", v1alpha1.RoleDRAsync, 1, 500, 500, false),
			st("y", v1alpha1.RoleFailover, 1, 500, 500, false),
			st("x", v1alpha1.RoleDRAsync, 1, 500, 500, false),
		}, []string{"y", "x", "z"}},
		{"primaries, unreachable members and other systems are not candidates", []MemberStatus{
			{Member: "p", Primary: true, Reachable: true, SystemID: 7, Timeline: 3, FlushLSN: 999},
			{Member: "gone", Reachable: false, SystemID: 7, Timeline: 3, FlushLSN: 999},
			{Member: "alien", Reachable: true, SystemID: 8, Timeline: 3, FlushLSN: 999},
			st("a", v1alpha1.RoleDRAsync, 1, 1, 1, false),
		}, []string{"a"}},
		{"none", []MemberStatus{{Member: "p", Primary: true, Reachable: true}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order, best := MostAdvanced(tc.members, 7)
			var got []string
			for _, m := range order {
				got = append(got, m.Member)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("order %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("order %v, want %v", got, tc.want)
				}
			}
			if (best == nil) != (len(tc.want) == 0) || (best != nil && best.Member != tc.want[0]) {
				t.Fatalf("best %v, want %v", best, tc.want)
			}
		})
	}
}

func TestEstimateLoss(t *testing.T) {
	l := EstimateLoss(0x4038080, 0x402BAF8)
	if l.Bytes != 50568 || l.Transactions != -1 || l.Counted || l.From != 0x402BAF8 || l.To != 0x4038080 {
		t.Fatalf("%+v", l)
	}
	if l := EstimateLoss(100, 200); l.Bytes != 0 || !l.None() {
		t.Fatalf("member ahead of the last known flush: %+v", l)
	}
}
