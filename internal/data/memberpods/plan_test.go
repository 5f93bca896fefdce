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
		primary string // "": east-1
		member  string // "": PlanPrimary
		fresh   bool
		want    []Change
		wantErr error
	}{
		{name: "primary named in the one place", set: set(),
			want: []Change{{Place: east, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "east-1"}, Required: true}}},
		{name: "primary named in every place; only its own must hear it", set: twoPlaces, want: []Change{
			{Place: east, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "east-1"}, Required: true},
			{Place: west, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "east-1"}}}},
		{name: "a primary on a host: no place must hear it", set: set(), primary: "west-0",
			want: []Change{{Place: east, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "west-0"}}}},
		{name: "rewind: request and restart the member's pod", set: set(), member: "east-0",
			want: []Change{{Place: east, ConfigMap: "shop-db-members", DeletePod: "shop-db-east-0-0",
				Data: map[string]string{"primary": "east-1", "rebuild.east-0": "east-1 rewind id1"}, Required: true}}},
		{name: "fresh clone; the other place only learns the primary", set: twoPlaces, member: "west-0", fresh: true, want: []Change{
			{Place: east, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "east-1"}, Required: true},
			{Place: west, ConfigMap: "shop-db-members", DeletePod: "shop-db-west-0-0",
				Data: map[string]string{"primary": "east-1", "rebuild.west-0": "east-1 fresh id1"}, Required: true}}},
		{name: "rejoin at the old primary's site after a region failover: only it must hear", set: twoPlaces, primary: "west-0", member: "east-0", want: []Change{
			{Place: east, ConfigMap: "shop-db-members", DeletePod: "shop-db-east-0-0",
				Data: map[string]string{"primary": "west-0", "rebuild.east-0": "west-0 rewind id1"}, Required: true},
			{Place: west, ConfigMap: "shop-db-members", Data: map[string]string{"primary": "west-0"}, Required: true}}},
		{name: "a member on a host is not ours", set: set(), member: "west-0", wantErr: data.ErrNotManaged},
		{name: "nor is an unknown member", set: set(), member: "east-9", wantErr: data.ErrNotManaged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Change
			var err error
			primary := tc.primary
			if primary == "" {
				primary = "east-1"
			}
			if tc.member == "" {
				got = PlanPrimary(tc.set, primary)
			} else {
				got, err = PlanRebuild(tc.set, tc.member, primary, tc.fresh, "id1")
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
