package runbook

import (
	"errors"
	"testing"

	"hadron.dev/hadron/internal/data"
)

func TestAutoLossAllowed(t *testing.T) {
	limit := int64(1024)
	zero := int64(0)
	tests := []struct {
		name  string
		rec   Record
		flush data.LSN
		limit *int64
		ok    bool
	}{
		{"a person is not bounded", Record{Who: "alice", LastFlush: 1 << 20}, 0, &zero, true},
		{"forced is not bounded", Record{Who: "auto", Force: true, LastFlush: 1 << 20}, 0, &zero, true},
		{"no bound", Record{Who: "auto", LastFlush: 1 << 20}, 0, nil, true},
		{"within the bound", Record{Who: "auto", OldPrimary: "east-0", LastFlush: 5000}, 4000, &limit, true},
		{"at the bound", Record{Who: "auto", OldPrimary: "east-0", LastFlush: 5024}, 4000, &limit, true},
		{"above the bound", Record{Who: "auto", OldPrimary: "east-0", LastFlush: 6000}, 4000, &limit, false},
		{"zero bound, nothing lost", Record{Who: "auto", OldPrimary: "east-0", LastFlush: 4000}, 4000, &zero, true},
		{"unknown loss", Record{Who: "auto"}, 4000, &limit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := autoLossAllowed(&tt.rec, tt.flush, tt.limit)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			var perm *data.PermanentError
			if err != nil && (!errors.Is(err, ErrLossBound) || !errors.As(err, &perm)) {
				t.Fatalf("err %v: want a permanent ErrLossBound", err)
			}
		})
	}
}
