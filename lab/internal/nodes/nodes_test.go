package nodes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestSpecObject(t *testing.T) {
	worker := Spec{Name: Name("east", "us-east-1a", "", 0), Site: "east", Region: "us-east-1", Zone: "us-east-1a"}.Object()
	if worker.Name != "east-us-east-1a-w0" {
		t.Errorf("name = %s", worker.Name)
	}
	want := map[string]string{LabelSite: "east", LabelRegion: "us-east-1", LabelZone: "us-east-1a", LabelGroup: GroupWorker}
	for k, v := range want {
		if worker.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, worker.Labels[k], v)
		}
	}
	sel, err := labels.Parse(ManagedSelector())
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(worker.Labels)) {
		t.Errorf("a new node is not selected by kwok's selector %s", ManagedSelector())
	}
	if len(worker.Spec.Taints) != 0 {
		t.Errorf("worker taints = %v", worker.Spec.Taints)
	}
	control := Spec{Name: Name("west", "us-west-2a", GroupControl, 0), Site: "west", Region: "us-west-2", Zone: "us-west-2a", Group: GroupControl}.Object()
	if control.Name != "west-us-west-2a-c0" || len(control.Spec.Taints) != 1 || control.Spec.Taints[0].Key != TaintControl {
		t.Errorf("control node = %s %v", control.Name, control.Spec.Taints)
	}
}

func TestSchedulable(t *testing.T) {
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue}
	unknown := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}
	tests := []struct {
		name  string
		conds []corev1.NodeCondition
		taint string
		want  bool
	}{
		{"ready", []corev1.NodeCondition{ready}, "", true},
		{"no condition yet", nil, "", false},
		{"unknown", []corev1.NodeCondition{unknown}, corev1.TaintNodeUnreachable, false},
		{"ready but still tainted", []corev1.NodeCondition{ready}, corev1.TaintNodeNotReady, false},
		{"ready with another taint", []corev1.NodeCondition{ready}, TaintControl, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &corev1.Node{Status: corev1.NodeStatus{Conditions: tt.conds}}
			if tt.taint != "" {
				n.Spec.Taints = []corev1.Taint{{Key: tt.taint, Effect: corev1.TaintEffectNoSchedule}}
			}
			if got := Schedulable(n); got != tt.want {
				t.Errorf("Schedulable = %v, want %v", got, tt.want)
			}
		})
	}
}
