package data

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/site"
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

func TestPassword(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HADRON_TEST_PW", "from-env")
	f := &fleet.Fleet{Dir: dir, Sites: []*v1alpha1.Site{
		{ObjectMeta: metav1.ObjectMeta{Name: "witness"}, Spec: v1alpha1.SiteSpec{Role: v1alpha1.SiteRoleWitness}},
	}}
	secret := func(site string) *v1alpha1.SecretRef {
		return &v1alpha1.SecretRef{Secret: &v1alpha1.KubeSecretKeyRef{Site: site, Namespace: "shop", Name: "pg", Key: "password"}}
	}
	for _, tc := range []struct {
		name string
		ref  *v1alpha1.SecretRef
		want string
		// errWants are in the error, for a missing password.
		errWants []string
	}{
		{"file relative to the fleet", &v1alpha1.SecretRef{File: "pw"}, "s3cret", nil},
		{"env", &v1alpha1.SecretRef{Env: "HADRON_TEST_PW"}, "from-env", nil},
		{"missing file", &v1alpha1.SecretRef{File: "nope"}, "", []string{"passwordFrom.file"}},
		{"unset env", &v1alpha1.SecretRef{Env: "HADRON_TEST_UNSET"}, "", []string{"$HADRON_TEST_UNSET"}},
		{"secret on a site not in the fleet", secret("east"), "", []string{"shop/pg", `"password"`, "site east", "not in the fleet"}},
		{"nothing", nil, "", []string{"not set"}},
	} {
		got, err := Password(context.Background(), tc.ref, f)
		if tc.want == "" {
			if !errors.Is(err, ErrPasswordMissing) {
				t.Errorf("%s: err = %v, want ErrPasswordMissing", tc.name, err)
				continue
			}
			for _, w := range tc.errWants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %q does not say %q", tc.name, err, w)
				}
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
	// A witness has no cluster to keep a Secret in; the error says which site and
	// secret. (Secrets on a real API server: lab/e2e/credentials.)
	if _, err := Password(context.Background(), secret("witness"), f); err == nil ||
		!errors.Is(err, site.ErrNoCluster) || !strings.Contains(err.Error(), "shop/pg") {
		t.Errorf("secret on the witness: %v", err)
	}
}
