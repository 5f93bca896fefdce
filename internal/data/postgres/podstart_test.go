package postgres

import (
	"errors"
	"testing"
)

func TestDecidePodStart(t *testing.T) {
	req := RebuildRequest("e1", false, "t1")
	fresh := RebuildRequest("e1", true, "t2")
	primaryDir := PodDir{Initialized: true}
	standbyDir := PodDir{Initialized: true, Standby: true}
	for _, tc := range []struct {
		name string
		dir  PodDir
		in   PodInstruction
		want PodStart
		err  error
	}{
		{"empty volume, named primary: initdb", PodDir{}, PodInstruction{Primary: "e0"}, PodInitdb, nil},
		{"empty volume, another is primary: clone", PodDir{}, PodInstruction{Primary: "e1"}, PodClone, nil},
		{"empty volume, nobody named: refuse", PodDir{}, PodInstruction{}, "", ErrNoPrimaryNamed},
		{"a primary restarts, still named: hold (no second writer before hadron decides)", primaryDir, PodInstruction{Primary: "e0"}, PodHold, nil},
		{"a primary restarts, nobody named: hold", primaryDir, PodInstruction{}, PodHold, nil},
		{"a former primary, another named: rewind", primaryDir, PodInstruction{Primary: "e1"}, PodRewind, nil},
		{"a stand-by, another named: follow it", standbyDir, PodInstruction{Primary: "e1"}, PodFollow, nil},
		{"a stand-by named primary: start as it is (promotion is over SQL)", standbyDir, PodInstruction{Primary: "e0"}, PodAsIs, nil},
		{"a stand-by asked to rebuild: rewind", standbyDir, PodInstruction{Primary: "e1", Rebuild: req}, PodRewind, nil},
		{"the same request carried out: follow", PodDir{Initialized: true, Standby: true, Rebuilt: req}, PodInstruction{Primary: "e1", Rebuild: req}, PodFollow, nil},
		{"a fresh clone asked: reclone", PodDir{Initialized: true, Standby: true, Rebuilt: req}, PodInstruction{Primary: "e1", Rebuild: fresh}, PodReclone, nil},
		{"a request to the member named primary is ignored", primaryDir, PodInstruction{Primary: "e0", Rebuild: req}, PodHold, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecidePodStart("e0", tc.dir, tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("DecidePodStart = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
