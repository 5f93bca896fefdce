package chaosrun

import (
	"reflect"
	"testing"
	"time"
)

var top = Topology{
	Workload: []string{"east", "west"}, Witness: "witness",
	Zones:   map[string][]string{"east": {"a1", "b1"}, "west": {"a2"}},
	Members: []string{"east-0", "east-1", "west-0"},
	Nodes:   map[string][]string{"a1": {"east-a1-w0"}, "a2": {"west-a2-w0"}},
}

func TestPlanIsReproducible(t *testing.T) {
	a, err := Plan(42, 10*time.Minute, AllKinds, top)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Plan(42, 10*time.Minute, AllKinds, top)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two schedules")
	}
	c, _ := Plan(43, 10*time.Minute, AllKinds, top)
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
	if len(a) < 10 {
		t.Fatalf("10 minutes gave %d steps", len(a))
	}
}

func TestPlanShape(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		steps, err := Plan(seed, 5*time.Minute, AllKinds, top)
		if err != nil {
			t.Fatal(err)
		}
		open := map[string]bool{}
		var last time.Duration
		for _, s := range steps {
			if s.At < last {
				t.Fatalf("seed %d: steps out of order: %v", seed, steps)
			}
			last = s.At
			if s.At > 5*time.Minute {
				t.Fatalf("seed %d: step %s at %s past the end", seed, s, s.At)
			}
			if s.Kills != "" {
				if s.Repair != open[s.Kills] {
					t.Fatalf("seed %d: %s: site %s open=%v", seed, s, s.Kills, open[s.Kills])
				}
				open[s.Kills] = !s.Repair
			}
		}
		if len(open) > 0 {
			for site, o := range open {
				if o {
					t.Fatalf("seed %d: site %s never restored", seed, site)
				}
			}
		}
	}
}

func TestPlanRefuses(t *testing.T) {
	if _, err := Plan(1, time.Minute, []string{"meteor"}, top); err == nil {
		t.Error("an unknown fault was accepted")
	}
	if _, err := Plan(1, time.Minute, AllKinds, Topology{Workload: []string{"east"}}); err == nil {
		t.Error("one workload site was accepted")
	}
	if _, err := Plan(1, time.Minute, []string{KindWitness}, Topology{Workload: []string{"east", "west"}}); err == nil {
		t.Error("witness faults without a witness were accepted")
	}
}
