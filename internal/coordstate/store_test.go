package coordstate_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/coordstate"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
)

func TestSharedStateAcrossMembers(t *testing.T) {
	_, members := coordtest.StartCluster(t, coordtest.Fleet(213))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	// Every member follows the application state and the observations.
	stores := make([]*coordstate.Store, len(members))
	var mu sync.Mutex
	seen := map[string][]probe.Observation{}
	for i, m := range members {
		stores[i] = coordstate.NewStore(m.Client, log)
		go stores[i].Run(ctx)
		obs := &coordstate.Observations{Client: m.Client, Log: log, Record: func(ob probe.Observation) {
			mu.Lock()
			seen[m.Name] = append(seen[m.Name], ob)
			mu.Unlock()
		}}
		go obs.Run(ctx)
	}

	// One observer publishes; every member receives it in the same form.
	pub := coordstate.NewPublisher(members[2].Client, log)
	go pub.Run(ctx)
	pub.Record(probe.Observation{App: "shop", Observer: "witness", Site: "east", OK: false, Err: "refused", At: time.Now()})
	coordtest.Eventually(t, 10*time.Second, "every member saw the observation", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range members {
			if len(seen[m.Name]) == 0 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	for _, m := range members {
		ob := seen[m.Name][0]
		if ob.Observer != "witness" || ob.Site != "east" || ob.App != "shop" || ob.OK || ob.Err != "refused" {
			t.Errorf("%s saw %+v", m.Name, ob)
		}
	}
	mu.Unlock()

	// The leader's verdicts reach every member's store at the same version.
	el := coord.NewElector(members[0].Client, members[0].Name, 10*time.Second)
	tok, err := el.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]probe.Verdict{"east": probe.Down, "west": probe.Up}
	if err := coordstate.PublishHealth(ctx, members[0].Client, tok, "shop", verdicts); err != nil {
		t.Fatal(err)
	}
	var version uint64
	for i, s := range stores {
		coordtest.Eventually(t, 10*time.Second, members[i].Name+" store has the verdicts", func() bool {
			st, _ := s.Current(ctx)
			return st.Apps["shop"].Health["east"] == probe.Down
		})
		st, _ := s.Current(ctx)
		if i == 0 {
			version = st.Version
		} else if st.Version != version {
			t.Errorf("%s answers version %d, %s %d", members[i].Name, st.Version, members[0].Name, version)
		}
	}

	// A deposed leader's verdicts are refused and change nothing.
	if err := el.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	err = coordstate.PublishHealth(ctx, members[1].Client, tok, "shop", map[string]probe.Verdict{"east": probe.Up})
	if !coord.IsFenced(err) {
		t.Fatalf("publish with a stale token: %v", err)
	}
	if st, _ := stores[1].Current(ctx); st.Apps["shop"].Health["east"] != probe.Down || st.Version != version {
		t.Errorf("state changed by a stale token: %+v", st)
	}

	// The store is a gslb.Store: a watcher gets the current state first.
	var _ gslb.Store = stores[0]
	ch, err := stores[0].Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := <-ch; st.Version != version {
		t.Errorf("watch starts at version %d, want %d", st.Version, version)
	}

	// A run makes east (down while it was a scaled-down stand-by) active: its down
	// becomes unknown in the same write, west's verdict stays; a deposed leader's
	// activation is refused and writes neither.
	el2 := coord.NewElector(members[2].Client, members[2].Name, 10*time.Second)
	tok2, err := el2.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer el2.Resign(context.Background())
	if err := coordstate.Activate(ctx, members[1].Client, tok, "shop", "west"); !coord.IsFenced(err) {
		t.Fatalf("activate with a stale token: %v", err)
	}
	if err := coordstate.Activate(ctx, members[2].Client, tok2, "shop", "east"); err != nil {
		t.Fatal(err)
	}
	coordtest.Eventually(t, 10*time.Second, "every store has east active", func() bool {
		for _, s := range stores {
			if st, _ := s.Current(ctx); st.Apps["shop"].Active != "east" {
				return false
			}
		}
		return true
	})
	for i, s := range stores {
		st, _ := s.Current(ctx)
		if h := st.Apps["shop"].Health; h["east"] != probe.Unknown || h["west"] != probe.Up {
			t.Errorf("%s: verdicts after east was made active %v, want east unknown, west up", members[i].Name, h)
		}
	}

	// A region lost at once: the verdicts of more applications than one etcd
	// transaction may carry are written by one call, and every observation of as many
	// applications, recorded in one burst, reaches every member.
	const many = 2*coord.MaxTxnOps + 7
	lost := map[string]map[string]probe.Verdict{}
	for i := range many {
		app := fmt.Sprintf("app-%03d", i)
		lost[app] = map[string]probe.Verdict{"east": probe.Down, "west": probe.Up}
		pub.Record(probe.Observation{App: app, Observer: "witness", Site: "east", Err: "refused", At: time.Now()})
	}
	done, err := coordstate.PublishHealthOf(ctx, members[2].Client, tok2, lost)
	if err != nil || len(done) != many {
		t.Fatalf("published %d of %d applications' verdicts: %v", len(done), many, err)
	}
	coordtest.Eventually(t, 10*time.Second, "every store has every application's verdicts", func() bool {
		for _, s := range stores {
			st, _ := s.Current(ctx)
			for app := range lost {
				if st.Apps[app].Health["east"] != probe.Down {
					return false
				}
			}
		}
		return true
	})
	coordtest.Eventually(t, 10*time.Second, "every member saw every application's observation", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range members {
			apps := map[string]bool{}
			for _, ob := range seen[m.Name] {
				apps[ob.App] = true
			}
			if len(apps) < many+1 {
				return false
			}
		}
		return true
	})
	if _, err := coordstate.PublishHealthOf(ctx, members[1].Client, tok, lost); !coord.IsFenced(err) {
		t.Errorf("many verdicts with a stale token: %v", err)
	}
}

// TestNothingIsAnsweredBeforeEtcdIsRead is the regression of chaos seed 7's first
// finding: a restarted daemon's name server answered the policy's default (fenced)
// site for a second, from the empty state its store held before it had read etcd.
// Neither the store nor the fence overlay may hand a watcher a state before then.
func TestNothingIsAnsweredBeforeEtcdIsRead(t *testing.T) {
	_, members := coordtest.StartCluster(t, coordtest.Fleet(217))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := members[0].Client
	if _, err := c.Put(ctx, coord.ActiveKey("shop"), "west"); err != nil {
		t.Fatal(err)
	}
	store := coordstate.NewStore(c, slog.New(slog.DiscardHandler))
	fence := coordstate.NewFence(store, "witness", []string{"shop"})
	fromStore, err := store.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fromFence, err := fence.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = fence.Run(ctx) }()
	fence.SetFenced(false) // the majority is reached before the state is read
	select {
	case st := <-fromStore:
		t.Fatalf("the store handed out %+v before reading etcd", st)
	case st := <-fromFence:
		t.Fatalf("the fence handed out %+v before its store read etcd", st)
	case <-time.After(300 * time.Millisecond):
	}
	if store.Synced() {
		t.Fatal("synced before Run")
	}

	go store.Run(ctx)
	for name, ch := range map[string]<-chan gslb.State{"store": fromStore, "fence": fromFence} {
		select {
		case st := <-ch:
			if got := st.Apps["shop"].Active; got != "west" {
				t.Errorf("%s's first state has shop active at %q, want west (etcd's)", name, got)
			}
		case <-ctx.Done():
			t.Fatalf("%s handed out no state after etcd was read", name)
		}
	}
}
