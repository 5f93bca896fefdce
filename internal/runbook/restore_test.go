package runbook

import (
	"errors"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

func TestDecideRestore(t *testing.T) {
	limit := int64(1 << 20)
	seen := &data.ArchiveSeen{LagBytes: 40_000, Waiting: 0, ArchiveTimeout: 30 * time.Second}
	behind := &data.ArchiveSeen{LagBytes: 5 << 20, ArchiveTimeout: 30 * time.Second}
	base := restoreInput{Allowed: true, Capable: true, Mode: v1alpha1.DataLossAsync, Auto: true, Predicted: seen}
	with := func(f func(*restoreInput)) restoreInput { in := base; f(&in); return in }
	cases := []struct {
		name      string
		in        restoreInput
		want      bool
		lossBound bool // a permanent ErrLossBound
	}{
		{"every copy lost, async, allowed", base, true, false},
		{"the policy does not allow it", with(func(in *restoreInput) { in.Allowed = false }), false, false},
		{"the driver cannot restore", with(func(in *restoreInput) { in.Capable = false }), false, false},
		{"a member still answers somewhere", with(func(in *restoreInput) { in.Answering = []string{"east-1"} }), false, false},
		{"bounded mode, automatic", with(func(in *restoreInput) { in.Mode = v1alpha1.DataLossBounded }), false, true},
		{"synchronous mode, automatic", with(func(in *restoreInput) { in.Mode = v1alpha1.DataLossSynchronous }), false, true},
		{"synchronous mode, a person forced it", with(func(in *restoreInput) { in.Mode = v1alpha1.DataLossSynchronous; in.Force = true }), true, false},
		{"synchronous mode, a person's decision", with(func(in *restoreInput) { in.Mode = v1alpha1.DataLossSynchronous; in.Auto = false }), true, false},
		{"lag within maxLagOnFailover", with(func(in *restoreInput) { in.MaxAutoLoss = &limit }), true, false},
		{"lag above maxLagOnFailover", with(func(in *restoreInput) { in.MaxAutoLoss = &limit; in.Predicted = behind }), false, true},
		{"lag never read, with maxLagOnFailover", with(func(in *restoreInput) { in.MaxAutoLoss = &limit; in.Predicted = nil }), false, true},
		{"lag never read, no bound", with(func(in *restoreInput) { in.Predicted = nil }), true, false},
		{"a restore begun earlier is finished though its server answers", with(func(in *restoreInput) { in.InProgress = true; in.Answering = []string{"west-0"} }), true, false},
		{"a restore begun earlier is finished in any mode", with(func(in *restoreInput) { in.InProgress = true; in.Mode = v1alpha1.DataLossSynchronous }), true, false},
		{"members answer and the policy refuses: waits", with(func(in *restoreInput) { in.Answering = []string{"west-0"}; in.Mode = v1alpha1.DataLossSynchronous }), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, why, err := decideRestore(c.in)
			if ok != c.want {
				t.Errorf("restore = %v (%q, %v), want %v", ok, why, err, c.want)
			}
			var perm *retry.PermanentError
			gotBound := err != nil && errors.Is(err, ErrLossBound) && errors.As(err, &perm)
			if gotBound != c.lossBound {
				t.Errorf("err = %v, want a permanent ErrLossBound: %v", err, c.lossBound)
			}
			if !ok && err == nil && why == "" {
				t.Errorf("no restore and no reason")
			}
		})
	}
}

func TestRestoreLoss(t *testing.T) {
	res := data.Restored{Member: "west-0", End: 0x3000000}
	l := restoreLoss(&Record{LastFlush: 0x3000800}, res)
	if l.Bytes != 0x800 || l.Counted || l.Transactions != -1 {
		t.Errorf("loss = %+v, want 2048 bytes, not counted", l)
	}
	// The daemons' last flush is up to one observation old: never a negative loss.
	if l := restoreLoss(&Record{LastFlush: 0x2000000}, res); l.Bytes != 0 {
		t.Errorf("loss with an older flush = %d bytes, want 0", l.Bytes)
	}
	// The archive reading comes later in an observation than the flush: the newer counts.
	if l := restoreLoss(&Record{LastFlush: 0x3000800, Archive: &data.ArchiveSeen{Current: 0x3001000}}, res); l.Bytes != 0x1000 {
		t.Errorf("loss with a newer archive reading = %d bytes, want 4096", l.Bytes)
	}
	if l := restoreLoss(&Record{}, res); l.Bytes != -1 {
		t.Errorf("loss with no position = %d bytes, want -1 (unknown)", l.Bytes)
	}
}
