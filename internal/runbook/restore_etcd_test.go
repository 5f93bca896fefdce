package runbook_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/memory"
	"hadron.dev/hadron/internal/runbook"
)

// allLost is a set whose every member is gone: east's region and the DR member west-0,
// whose copy is lost too; the archive ends 0x800 bytes before east-0's last flush.
func allLost() *memory.ArchiveSet {
	set := &memory.Set{SystemID: 7, Members: []*memory.Member{
		{Name: "east-0", Site: "east", Region: "us-east-1", Role: "primary", Primary: true, Timeline: 1, Flush: 0x5000, Replay: 0x5000},
		{Name: "east-1", Site: "east", Region: "us-east-1", Role: "failover", Timeline: 1, Flush: 0x5000, Replay: 0x5000},
		{Name: "west-0", Site: "west", Region: "us-west-2", Role: "dr-async", Timeline: 1, Flush: 0x4f00, Replay: 0x4f00},
	}}
	return &memory.ArchiveSet{Set: set, End: 0x4800, Lost: map[string]bool{"west-0": true}}
}

// The failover's promote step, with no member left anywhere, restores the target's
// member from the archive where the policy allows it (recording the archive lag seen
// before the fault and what it restored), waits where it does not, and in mode
// synchronous stops for a person; through the engine and real etcd.
func TestFailoverRestoresFromTheArchiveWhenNoMemberIsLeft(t *testing.T) {
	ctx, c, tok := leading(t, 196)
	seen := &data.ArchiveSeen{Primary: "east-0", LagBytes: 0x900, Waiting: 0, ArchiveTimeout: 30 * time.Second}
	env := func(set *memory.ArchiveSet, allowed bool, mode v1alpha1.DataLossMode) *runbook.Env {
		return &runbook.Env{Client: c, Data: set, RestoreWhenNoMember: allowed, LossMode: mode,
			LastKnownFlush: func() data.LSN { return 0x5000 },
			LastArchive:    func() *data.ArchiveSeen { s := *seen; return &s }}
	}

	t.Run("allowed: restored, predicted and measured", func(t *testing.T) {
		set := allLost()
		rec, err := runbook.Launch(ctx, c, tok, runbook.Failover, "shop", "east", "west", "auto", false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e := env(set, true, v1alpha1.DataLossAsync)
		if err := (&runbook.Engine{Client: c, Steps: e.Steps(), Budget: 20 * time.Second}).Run(ctx, tok, rec); err != nil {
			t.Fatalf("failover: %v (calls %v)", err, set.Calls)
		}
		hist, err := runbook.History(ctx, c, "shop")
		if err != nil || len(hist) != 1 {
			t.Fatalf("history: %+v %v", hist, err)
		}
		h := hist[0]
		if h.Status != runbook.StatusDone || h.Promoted != "west-0" || h.Restored == nil || h.Restored.Member != "west-0" || h.Restored.End != 0x4800 {
			t.Fatalf("ledger: status %s, promoted %s, restored %+v", h.Status, h.Promoted, h.Restored)
		}
		if h.Archive == nil || h.Archive.LagBytes != 0x900 || h.Archive.Bound() != 30*time.Second {
			t.Errorf("ledger's prediction %+v, want the archive lag seen before the fault", h.Archive)
		}
		if h.RPO == nil || h.RPO.Bytes != 0x800 {
			t.Errorf("ledger RPO %+v, want 0x800 bytes (last flush − end of the archive)", h.RPO)
		}
		if !slices.Contains(set.Calls, "restore west-0") || slices.Contains(set.Calls, "promote west-0") {
			t.Errorf("calls %v: want a restore of west-0 and no promotion", set.Calls)
		}
	})

	t.Run("not allowed: the step waits for a member", func(t *testing.T) {
		set := allLost()
		rec, err := runbook.Launch(ctx, c, tok, runbook.Failover, "shop-off", "east", "west", "auto", false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e := env(set, false, v1alpha1.DataLossAsync)
		err = (&runbook.Engine{Client: c, Steps: e.Steps(), Budget: 2 * time.Second}).Run(ctx, tok, rec)
		if !errors.Is(err, runbook.ErrNoTarget) {
			t.Fatalf("failover without the policy: %v, want ErrNoTarget", err)
		}
		if slices.Contains(set.Calls, "restore west-0") {
			t.Errorf("restored without the policy: %v", set.Calls)
		}
	})

	t.Run("a restore begun by an earlier attempt: finished, never promoted early", func(t *testing.T) {
		set := allLost()
		// The restored server replays the archive: it answers as a stand-by.
		set.Members[2].Reachable = true
		set.InProgress = map[string]bool{"west": true}
		rec, err := runbook.Launch(ctx, c, tok, runbook.Failover, "shop-resumed", "east", "west", "auto", false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e := env(set, true, v1alpha1.DataLossAsync)
		if err := (&runbook.Engine{Client: c, Steps: e.Steps(), Budget: 20 * time.Second}).Run(ctx, tok, rec); err != nil {
			t.Fatalf("failover: %v (calls %v)", err, set.Calls)
		}
		if !slices.Contains(set.Calls, "finish restore west-0") || slices.Contains(set.Calls, "promote west-0") {
			t.Errorf("calls %v: want the restore finished and no promotion of the replaying server", set.Calls)
		}
	})

	t.Run("synchronous: a person decides", func(t *testing.T) {
		set := allLost()
		rec, err := runbook.Launch(ctx, c, tok, runbook.Failover, "shop-sync", "east", "west", "auto", false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e := env(set, true, v1alpha1.DataLossSynchronous)
		err = (&runbook.Engine{Client: c, Steps: e.Steps(), Budget: 20 * time.Second}).Run(ctx, tok, rec)
		if !errors.Is(err, runbook.ErrLossBound) {
			t.Fatalf("automatic restore in mode synchronous: %v, want ErrLossBound", err)
		}
		open, err := runbook.Open(ctx, c, "shop-sync")
		if err != nil || open == nil || !open.NeedsForce {
			t.Fatalf("open run %+v %v: want one that needs a person's force", open, err)
		}
		if slices.Contains(set.Calls, "restore west-0") {
			t.Errorf("restored in mode synchronous: %v", set.Calls)
		}
	})
}
