package runbook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/runbook"
)

// A person's promotion outside the daemons enters the ledger of every application of
// its mirror set (of the set's own name when none uses it), closed, without a leader's
// token; a record already there is not overwritten, and what is not a closed outside
// action on a set of the fleet is refused.
func TestRecordOutside(t *testing.T) {
	f := coordtest.Fleet(209)
	_, members := coordtest.StartCluster(t, f)
	c := members[0].Client
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range []string{"shop-db", "spare-db"} {
		f.MirrorSets = append(f.MirrorSets, &v1alpha1.MirrorSet{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	for _, name := range []string{"shop", "shop-admin"} {
		f.Applications = append(f.Applications, &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.ApplicationSpec{Data: &v1alpha1.DataRef{MirrorSet: "shop-db"}}})
	}
	now := time.Now()
	promotion := func(set string) runbook.Record {
		return runbook.Record{ID: runbook.NewID(runbook.Promote, now), Kind: runbook.Promote, Set: set, From: "east", To: "west",
			Who: "alice", Force: true, Decided: now, Closed: &now, Status: runbook.StatusDone, Promoted: "west-0",
			RPO: &data.Loss{Bytes: 100, Transactions: 2, Counted: true}}
	}

	recs, err := runbook.RecordOutside(ctx, c, f, promotion("shop-db"))
	if err != nil || len(recs) != 2 || recs[0].App != "shop" || recs[1].App != "shop-admin" {
		t.Fatalf("recorded %+v, %v; want one record per application of the set", recs, err)
	}
	for _, app := range []string{"shop", "shop-admin"} {
		hist, err := runbook.History(ctx, c, app)
		if err != nil || len(hist) != 1 || hist[0].Who != "alice" || hist[0].RPO.Transactions != 2 || hist[0].App != app {
			t.Fatalf("history of %s: %+v, %v", app, hist, err)
		}
	}
	if _, err := runbook.RecordOutside(ctx, c, f, promotion("shop-db")); !errors.Is(err, runbook.ErrRecorded) {
		t.Fatalf("the same record again: %v, want ErrRecorded", err)
	}
	if recs, err := runbook.RecordOutside(ctx, c, f, promotion("spare-db")); err != nil || len(recs) != 1 || recs[0].App != "spare-db" {
		t.Fatalf("a set no application uses: %+v, %v", recs, err)
	}

	for name, change := range map[string]func(*runbook.Record){
		"a failover":      func(r *runbook.Record) { r.Kind = runbook.Failover },
		"an unknown set":  func(r *runbook.Record) { r.Set = "shop-bd" },
		"still running":   func(r *runbook.Record) { r.Status, r.Closed = runbook.StatusRunning, nil },
		"no decider":      func(r *runbook.Record) { r.Who = "" },
		"a key in its id": func(r *runbook.Record) { r.ID = "../open" },
	} {
		r := promotion("shop-db")
		r.ID += "-refused"
		change(&r)
		if _, err := runbook.RecordOutside(ctx, c, f, r); !errors.Is(err, runbook.ErrNotOutside) {
			t.Errorf("%s: %v, want ErrNotOutside", name, err)
		}
	}
}
