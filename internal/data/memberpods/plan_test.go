package memberpods

import (
	"errors"
	"reflect"
	"testing"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
)

// set has east's two members in pods in namespace shop and west's DR member on a host.
func set() *v1alpha1.MirrorSet {
	s := &v1alpha1.MirrorSet{}
	s.Name = "shop-db"
	s.Spec.Members = []v1alpha1.Member{
		{Name: "east-0", Site: "east", Role: v1alpha1.RolePrimary, Pod: &v1alpha1.MemberPod{Namespace: "shop"}},
		{Name: "east-1", Site: "east", Role: v1alpha1.RoleFailover, Pod: &v1alpha1.MemberPod{Namespace: "shop"}},
		{Name: "west-0", Site: "west", Role: v1alpha1.RoleDRAsync, DataDir: "/var/lib/hadron/west-0"},
	}
	return s
}

func TestPlans(t *testing.T) {
	east := Place{Site: "east", Namespace: "shop"}
	twoPlaces := set()
	twoPlaces.Spec.Members[2].DataDir, twoPlaces.Spec.Members[2].Pod = "", &v1alpha1.MemberPod{Namespace: "db"}
	west := Place{Site: "west", Namespace: "db"}
	for _, tc := range []struct {
		name    string
		set     *v1alpha1.MirrorSet
		member  string // "": PlanPrimary
		fresh   bool
		want    []Change
		wantErr error
	}{
		{name: "primary named in the one place", set: set(),
			want: []Change{{Place: east, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "east-1"}}}},
		{name: "primary named in every place", set: twoPlaces, want: []Change{
			{Place: east, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "east-1"}},
			{Place: west, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "east-1"}}}},
		{name: "rewind: request and restart the member's pod", set: set(), member: "east-0",
			want: []Change{{Place: east, ConfigMap: "shop-db-members", DeletePod: "shop-db-east-0-0",
				Data: map[string]string{"primary": "east-1", "rebuild.east-0": "east-1 rewind id1"}}}},
		{name: "fresh clone; the other place only learns the primary", set: twoPlaces, member: "west-0", fresh: true, want: []Change{
			{Place: east, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "east-1"}},
			{Place: west, ConfigMap: "shop-db-members", DeletePod: "shop-db-west-0-0",
				Data: map[string]string{"primary": "east-1", "rebuild.west-0": "east-1 fresh id1"}}}},
		{name: "a member on a host is not ours", set: set(), member: "west-0", wantErr: data.ErrNotManaged},
		{name: "nor is an unknown member", set: set(), member: "east-9", wantErr: data.ErrNotManaged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Change
			var err error
			if tc.member == "" {
				got = PlanPrimary(tc.set, "east-1")
			} else {
				got, err = PlanRebuild(tc.set, tc.member, "east-1", tc.fresh, "id1")
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestInPods(t *testing.T) {
	s := set()
	if !InPods(s) {
		t.Error("east's members are in pods")
	}
	for i := range s.Spec.Members {
		s.Spec.Members[i].Pod = nil
	}
	if InPods(s) {
		t.Error("no member is in a pod")
	}
}
