package probe

import (
	"testing"
	"time"
)

func TestTrackerReportsChanges(t *testing.T) {
	now := t0
	var changes []string
	tr := &Tracker{Now: func() time.Time { return now },
		OnChange: func(app, site string, v Verdict) { changes = append(changes, app+"/"+site+"="+string(v)) }}
	tr.Watch("shop", []string{"a", "b", "c"}, []string{"east", "west"}, Settings{Rise: 2, Fall: 2, Interval: time.Second, Timeout: time.Second})
	feed := func(ok bool, observers ...string) {
		for _, o := range observers {
			tr.Record(Observation{App: "shop", Observer: o, Site: "east", OK: ok, At: now})
			tr.Record(Observation{App: "shop", Observer: o, Site: "west", OK: true, At: now})
		}
		now = now.Add(time.Second)
	}
	feed(true, "a", "b", "c")
	feed(true, "a", "b", "c")
	feed(false, "a")
	feed(false, "a") // one observer of three: nothing changes
	feed(false, "a", "b")
	feed(false, "a", "b") // two of three for fall=2: down
	want := []string{"shop/east=up", "shop/west=up", "shop/east=unknown", "shop/east=down"}
	// The first two may come in either order (same observation round).
	if len(changes) != len(want) || changes[2] != want[2] || changes[3] != want[3] {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	if v := tr.Verdicts("shop"); v["east"] != Down || v["west"] != Up {
		t.Fatalf("verdicts %v", v)
	}
	tr.Record(Observation{App: "unknown-app", Observer: "a", Site: "east"}) // ignored
}

// A site made active starts over: its old "down" is forgotten at once, probes taken
// before the restart (in flight, or from a slow observer) are ignored, and the verdict
// comes back from probes taken since.
func TestTrackerRestartForgetsTheStandbyVerdict(t *testing.T) {
	now := t0
	var changes []string
	tr := &Tracker{Now: func() time.Time { return now },
		OnChange: func(app, site string, v Verdict) { changes = append(changes, site+"="+string(v)) }}
	tr.Watch("shop", []string{"a", "b", "c"}, []string{"east", "west"}, Settings{Rise: 2, Fall: 2, Interval: time.Second, Timeout: time.Second})
	probe := func(westOK bool, at time.Time) {
		for _, o := range []string{"a", "b", "c"} {
			tr.Record(Observation{App: "shop", Observer: o, Site: "east", OK: true, At: at})
			tr.Record(Observation{App: "shop", Observer: o, Site: "west", OK: westOK, Reached: true, At: at})
		}
	}
	probe(false, now)
	now = now.Add(time.Second)
	probe(false, now)
	if v := tr.Verdicts("shop")["west"]; v != Down {
		t.Fatalf("the stand-by is %s, want down", v)
	}
	changes = nil
	madeActive := now.Add(500 * time.Millisecond)
	now = madeActive
	tr.Restart("shop", "west", madeActive)
	if v := tr.Verdicts("shop")["west"]; v != Unknown || len(changes) != 1 || changes[0] != "west=unknown" {
		t.Fatalf("after the restart west is %s (changes %v), want unknown, reported", v, changes)
	}
	probe(false, madeActive.Add(-100*time.Millisecond)) // taken before: ignored
	probe(false, madeActive.Add(-50*time.Millisecond))
	if v := tr.Verdicts("shop")["west"]; v != Unknown {
		t.Fatalf("probes from before the restart made west %s", v)
	}
	tr.Restart("shop", "west", madeActive.Add(-time.Hour)) // an older restart changes nothing
	now = now.Add(time.Second)
	probe(true, now)
	now = now.Add(time.Second)
	probe(true, now)
	if v := tr.Verdicts("shop")["west"]; v != Up {
		t.Fatalf("west is %s after two passing rounds since the restart, want up", v)
	}
}
