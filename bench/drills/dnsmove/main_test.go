package main

import (
	"testing"
	"time"

	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/runbook"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func ptr(t time.Time) *time.Time { return &t }

func TestMoves(t *testing.T) {
	answers := []sample{
		{at(0), "10.0.0.1"}, {at(1000), "10.0.0.1"}, {at(2000), ""}, {at(3000), "10.0.0.2"},
		{at(4000), "10.0.0.2"}, {at(9000), "10.0.0.2"}, {at(10000), "10.0.0.1"}, {at(12000), "10.0.0.1"},
	}
	run := func(verified int, dnsStep *time.Time) *runbook.Record {
		return &runbook.Record{Verified: ptr(at(verified)), Steps: []runbook.StepRecord{{Name: "fence"}, {Name: "dns", Started: dnsStep}}}
	}
	tests := []struct {
		name     string
		phase    drill.Phase
		want     move
		wantSeen bool
	}{
		{"moved after its dns step", drill.Phase{Start: at(500), Run: run(4000, ptr(at(2500)))},
			move{FromStart: 2500 * time.Millisecond, FromDNSStep: 500 * time.Millisecond, HasDNSStep: true}, true},
		{"published before the dns step", drill.Phase{Start: at(500), Run: run(4000, ptr(at(3500)))},
			move{FromStart: 2500 * time.Millisecond, FromDNSStep: -500 * time.Millisecond, HasDNSStep: true}, true},
		{"a second move in the other direction", drill.Phase{Start: at(9500), Run: run(12000, nil)},
			move{FromStart: 500 * time.Millisecond}, true},
		{"never moved within the phase", drill.Phase{Start: at(4000), Run: run(9000, nil)}, move{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := moves(answers, []labelled{{tt.name, tt.phase}})[0]
			if got.Moved.IsZero() == tt.wantSeen {
				t.Fatalf("seen = %v, want %v", !got.Moved.IsZero(), tt.wantSeen)
			}
			if got.FromStart != tt.want.FromStart || got.FromDNSStep != tt.want.FromDNSStep || got.HasDNSStep != tt.want.HasDNSStep {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
