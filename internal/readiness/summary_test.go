package readiness

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"hadron.dev/hadron/internal/replicate"
)

func TestSummarize(t *testing.T) {
	at := time.Date(2026, 12, 6, 21, 0, 0, 0, time.FixedZone("x", 3600))
	var parity []replicate.Parity
	for i := range MaxOff + 3 {
		parity = append(parity, replicate.Parity{Site: "west", Object: fmt.Sprintf("ConfigMap/shop/c%d", i), State: replicate.StateMissing})
	}
	parity = append(parity,
		replicate.Parity{Site: "west", Object: "Deployment/shop/web", State: replicate.StateInSync},
		replicate.Parity{Site: "west", Object: "Secret/shop/tls", State: replicate.StateDeferred},
		replicate.Parity{Site: "far", Object: "Deployment/shop/web", State: replicate.StateDrifted, Reason: "changed"})
	r := &replicate.Readiness{Parity: parity, Findings: []replicate.Finding{
		{Check: "capacity", Site: "west", Level: replicate.LevelFail, Message: "short", Action: "add nodes"}}}

	got := Summarize("witness", "east", r, nil, at)
	if !got.At.Equal(at) || got.At.Location() != time.UTC || got.Leader != "witness" || got.Active != "east" || got.Error != "" {
		t.Errorf("header %+v", got)
	}
	if len(got.Findings) != 1 || got.Findings[0].Level != "fail" || got.Findings[0].Action != "add nodes" {
		t.Errorf("findings %+v", got.Findings)
	}
	if len(got.Parity) != 2 || got.Parity[0].Site != "far" || got.Parity[1].Site != "west" {
		t.Fatalf("parity sites %+v, want far then west", got.Parity)
	}
	far, west := got.Parity[0], got.Parity[1]
	if far.Counts["drifted"] != 1 || len(far.Off) != 1 || far.Off[0].Reason != "changed" || far.More != 0 {
		t.Errorf("far %+v", far)
	}
	// In sync and deferred copies are counted, never listed; past MaxOff, counted only.
	if west.Counts["missing"] != MaxOff+3 || west.Counts["in-sync"] != 1 || west.Counts["deferred"] != 1 ||
		len(west.Off) != MaxOff || west.More != 3 {
		t.Errorf("west %+v", west)
	}

	failed := Summarize("witness", "east", nil, errors.New("connecting to west: refused"), at)
	if failed.Error != "connecting to west: refused" || failed.Findings != nil || failed.Parity != nil {
		t.Errorf("a check that failed: %+v", failed)
	}
}
