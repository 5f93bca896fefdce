package memberpods

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"hadron.dev/hadron/api/v1alpha1"
)

// TestRebuildOnACluster applies a rebuild to a fake cluster: the keys are merged into
// the ConfigMap (fleet.yaml and other requests kept) and the member's pod is gone.
func TestRebuildOnACluster(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewSimpleClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-members", Namespace: "shop"},
			Data: map[string]string{"fleet.yaml": "x", "primary": "east-0", "rebuild.east-1": "east-0 rewind old"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-east-0-0", Namespace: "shop"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-east-1-0", Namespace: "shop"}},
	)
	p := &Pods{Set: set(), Kube: func(site string) (kubernetes.Interface, error) { return kube, nil },
		Now: func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }}
	if err := p.Rebuild(ctx, "east-0", "east-1", false); err != nil {
		t.Fatal(err)
	}
	cm, err := kube.CoreV1().ConfigMaps("shop").Get(ctx, "shop-db-members", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fleet.yaml": "x", "primary": "east-1", "rebuild.east-1": "east-0 rewind old",
		"rebuild.east-0": "east-1 rewind 2026-12-07T12:00:00Z"}
	for k, v := range want {
		if cm.Data[k] != v {
			t.Errorf("%s = %q, want %q", k, cm.Data[k], v)
		}
	}
	if _, err := kube.CoreV1().Pods("shop").Get(ctx, "shop-db-east-0-0", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("east-0's pod still there (%v)", err)
	}
	if _, err := kube.CoreV1().Pods("shop").Get(ctx, "shop-db-east-1-0", metav1.GetOptions{}); err != nil {
		t.Errorf("east-1's pod: %v", err)
	}
	// A pod already gone is what was asked for.
	if err := p.Rebuild(ctx, "east-0", "east-1", true); err != nil {
		t.Errorf("second rebuild: %v", err)
	}
}

// TestSetPrimaryWithoutConfigMap: the ConfigMap is never created here (it would lack
// the fleet file every pod needs).
func TestSetPrimaryWithoutConfigMap(t *testing.T) {
	kube := fake.NewSimpleClientset()
	p := &Pods{Set: set(), Kube: func(string) (kubernetes.Interface, error) { return kube, nil }}
	if err := p.SetPrimary(context.Background(), "east-1"); !apierrors.IsNotFound(err) {
		t.Errorf("err %v, want not found", err)
	}
}

// TestSetPrimaryWithAPlaceOutOfReach: failing over out of a lost region must not wait
// for its API server — the promoted member's own place must hear the name, the lost
// one may not.
func TestSetPrimaryWithAPlaceOutOfReach(t *testing.T) {
	ctx := context.Background()
	s := set()
	s.Spec.Members[2].DataDir, s.Spec.Members[2].Pod = "", &v1alpha1.MemberPod{Namespace: "shop"}
	west := fake.NewSimpleClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-members", Namespace: "shop"},
		Data: map[string]string{"primary": "east-0"}})
	lost := errors.New("dial tcp 127.2.1.30:6443: connection refused")
	p := &Pods{Set: s, Kube: func(site string) (kubernetes.Interface, error) {
		if site == "east" {
			return nil, lost
		}
		return west, nil
	}}
	if err := p.SetPrimary(ctx, "west-0"); err != nil {
		t.Fatalf("set primary west-0 with east out of reach: %v", err)
	}
	cm, err := west.CoreV1().ConfigMaps("shop").Get(ctx, "shop-db-members", metav1.GetOptions{})
	if err != nil || cm.Data["primary"] != "west-0" {
		t.Fatalf("west's instructions: %v %v", cm, err)
	}
	// Naming east-1 needs east itself; rebuilding east-0 too.
	if err := p.SetPrimary(ctx, "east-1"); !errors.Is(err, lost) {
		t.Errorf("set primary east-1 with east out of reach: %v, want %v", err, lost)
	}
	if err := p.Rebuild(ctx, "east-0", "west-0", false); !errors.Is(err, lost) {
		t.Errorf("rebuild east-0 with east out of reach: %v, want %v", err, lost)
	}
}

// TestRebuildWaitsForTheOldPodToGo: a rebuild returns only once the member's old pod
// is replaced (a new UID from its StatefulSet), not while it terminates: until then
// its server still answers with the state the rebuild is to change.
func TestRebuildWaitsForTheOldPodToGo(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewSimpleClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-members", Namespace: "shop"}, Data: map[string]string{"fleet.yaml": "x"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-east-0-0", Namespace: "shop", UID: "old"}},
	)
	// The API server marks the pod terminating; the pod object stays.
	kube.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, nil })
	var replaced atomic.Bool
	go func() {
		time.Sleep(600 * time.Millisecond)
		replaced.Store(true)
		_ = kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"),
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-east-0-0", Namespace: "shop", UID: "new"}}, "shop")
	}()
	p := &Pods{Set: set(), Kube: func(string) (kubernetes.Interface, error) { return kube, nil }}
	if err := p.Rebuild(ctx, "east-0", "east-1", false); err != nil {
		t.Fatal(err)
	}
	if !replaced.Load() {
		t.Fatal("Rebuild returned while the old pod was still there")
	}
}
