package runbook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/fleet"
)

// OutsideApps are the ledgers an action on mirror set set goes to: every application
// of f whose data is the set, or, when none is, the set's own name.
func OutsideApps(f *fleet.Fleet, set string) []string {
	var apps []string
	for _, a := range f.Applications {
		if a.Spec.Data != nil && a.Spec.Data.MirrorSet == set {
			apps = append(apps, a.Name)
		}
	}
	if len(apps) == 0 {
		apps = []string{set}
	}
	return apps
}

// RecordOutside puts into the ledger an action that a person took on a mirror set of f
// outside the daemons (Kind Promote): r, closed, is stored once for every application
// in OutsideApps, in one transaction that only creates keys (ErrRecorded when one
// exists). No daemon decided the action, so no leader's token guards the write; etcd's
// majority must still accept it. It returns the records as stored.
func RecordOutside(ctx context.Context, c *clientv3.Client, f *fleet.Fleet, r Record) ([]Record, error) {
	if err := checkOutside(f, &r); err != nil {
		return nil, err
	}
	var (
		out  []Record
		cmps []clientv3.Cmp
		ops  []clientv3.Op
	)
	for _, app := range OutsideApps(f, r.Set) {
		rec := *Clone(&r)
		rec.App = app
		b, err := json.Marshal(&rec)
		if err != nil {
			return nil, fmt.Errorf("record %s of %s: %w", r.Kind, r.Set, err)
		}
		key := coord.LedgerKey(app, r.ID)
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		ops = append(ops, clientv3.OpPut(key, string(b)))
		out = append(out, rec)
	}
	resp, err := c.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return nil, fmt.Errorf("record %s of %s: %w", r.Kind, r.Set, err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("record %s %s of %s: %w", r.Kind, r.ID, r.Set, ErrRecorded)
	}
	return out, nil
}

// checkOutside refuses what is not a closed outside action on a mirror set of f.
func checkOutside(f *fleet.Fleet, r *Record) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrNotOutside, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Kind != Promote:
		return bad("kind %q (only %s is recorded from outside)", r.Kind, Promote)
	case f.MirrorSet(r.Set) == nil:
		return bad("no mirror set %q in the fleet", r.Set)
	case r.ID == "" || r.ID == "open" || strings.Contains(r.ID, "/"):
		return bad("run id %q", r.ID)
	case r.Who == "":
		return bad("no one is named as the decider")
	case r.Closed == nil || (r.Status != StatusDone && r.Status != StatusFailed):
		return bad("status %q: the action must be over", r.Status)
	}
	return nil
}
