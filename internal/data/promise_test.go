package data

import (
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
)

// hadron status prints the promise in one line: the mode, whether commits wait for it,
// and the DR member's lag against the bound.
func TestPromiseString(t *testing.T) {
	bounded := func(p Promise) *Promise {
		p.Mode, p.Bound, p.DR, p.ConfirmedLag = v1alpha1.DataLossBounded, 200*time.Millisecond, "west-0", 0.08
		return &p
	}
	for _, tc := range []struct {
		p    *Promise
		want string
	}{
		{nil, "unknown (no primary)"},
		{&Promise{Mode: v1alpha1.DataLossAsync, DR: "west-0", ConfirmedLag: 0.07}, "async, west-0 70ms behind"},
		{bounded(Promise{InForce: true, Keeper: true}), "bounded 200ms: in force, west-0 80ms behind"},
		{bounded(Promise{InForce: true, Keeper: true, Holding: true}), "bounded 200ms: commits wait: the DR member is behind the bound, west-0 80ms behind"},
		{bounded(Promise{InForce: true, Holding: true}), "bounded 200ms: commits wait: no bound keeper streams from the primary, west-0 80ms behind"},
		{bounded(Promise{}), "bounded 200ms: not in force (released or waiting for the DR member to catch up), west-0 80ms behind"},
		{bounded(Promise{Restorable: true}), "bounded 200ms: not in force, being restored, west-0 80ms behind"},
		{&Promise{Mode: v1alpha1.DataLossSynchronous, InForce: true, Holding: true}, "synchronous: commits wait for the DR member"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
	p := &Promise{Mode: v1alpha1.DataLossSynchronous, InForce: true, Holders: []string{"east-1", "west-0"}}
	if !p.Holds("west-0") || p.Holds("west-1") {
		t.Errorf("holders %v", p.Holders)
	}
	p.InForce = false
	if p.Holds("west-0") {
		t.Error("a promise not in force holds nothing")
	}
}
