package drill

import (
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/load"
	"hadron.dev/hadron/internal/runbook"
)

func TestArchiveRPO(t *testing.T) {
	seen := &data.ArchiveSeen{LagBytes: 90_000, Waiting: 500 * time.Millisecond, ArchiveTimeout: 30 * time.Second}
	restored := &data.Restored{Member: "west-0", Timeline: 2}
	attempts := []load.Attempt{
		attempt(1, -40000, -39990, true),
		attempt(2, -20000, -19990, true),
		attempt(3, -10000, -9990, true),
		attempt(4, -5000, -4990, false), // never acknowledged: not a loss
		attempt(5, 8000, 8010, true),
	}
	tests := []struct {
		name string
		run  *runbook.Record
		lost []int64
		want *ArchiveRPO
	}{
		{"no restore: nothing to say", &runbook.Record{Archive: seen}, []int64{2}, nil},
		{"lost within the prediction", &runbook.Record{Archive: seen, Restored: restored}, []int64{2, 3},
			&ArchiveRPO{Restored: "west-0", Predicted: true, LagBytes: 90_000, Waiting: 500 * time.Millisecond,
				ArchiveTimeout: 30 * time.Second, Bound: 30500 * time.Millisecond, Lost: 2, Window: 10 * time.Second, Within: true}},
		{"lost more than predicted", &runbook.Record{Archive: seen, Restored: restored}, []int64{1, 2, 3, 5},
			&ArchiveRPO{Restored: "west-0", Predicted: true, LagBytes: 90_000, Waiting: 500 * time.Millisecond,
				ArchiveTimeout: 30 * time.Second, Bound: 30500 * time.Millisecond, Lost: 4, Window: 48 * time.Second, Within: false}},
		{"nothing lost", &runbook.Record{Archive: seen, Restored: restored}, nil,
			&ArchiveRPO{Restored: "west-0", Predicted: true, LagBytes: 90_000, Waiting: 500 * time.Millisecond,
				ArchiveTimeout: 30 * time.Second, Bound: 30500 * time.Millisecond, Within: true}},
		{"no prediction is never within it", &runbook.Record{Restored: restored}, []int64{3},
			&ArchiveRPO{Restored: "west-0", Lost: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := archiveRPO(tt.run, attempts, tt.lost)
			switch {
			case got == nil && tt.want == nil:
			case got == nil || tt.want == nil || *got != *tt.want:
				t.Errorf("archiveRPO = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestArchiveRPOPrinted(t *testing.T) {
	var b strings.Builder
	printArchiveRPO(&b, &ArchiveRPO{Restored: "west-0", Predicted: true, LagBytes: 1000, ArchiveTimeout: 30 * time.Second,
		Bound: 30 * time.Second, Lost: 500, Window: 12 * time.Second, Within: true})
	for _, want := range []string{"restored west-0 from the archive", "500 acknowledged writes lost", "predicted ≤ 30s", "within the prediction"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
