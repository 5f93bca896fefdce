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
