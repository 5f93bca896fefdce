package drill

import (
	"fmt"
	"io"
	"time"

	"hadron.dev/hadron/internal/load"
	"hadron.dev/hadron/internal/runbook"
)

// ArchiveRPO is what a failover that restored from the archive (every copy lost)
// predicted and lost. The prediction is the ledger's: the archive lag the daemons read
// before the fault, which bounds the loss in time by the archive interval plus the wait
// of the oldest unarchived segment. The loss is the client's: its acknowledged writes
// that are gone, counted by sequence number, and the time they span.
type ArchiveRPO struct {
	Restored string `json:"restored"`
	// Predicted, from the run's record (absent when the lag was never read).
	Predicted      bool          `json:"predicted"`
	LagBytes       int64         `json:"lagBytes"`
	Waiting        time.Duration `json:"waitingNs"`
	ArchiveTimeout time.Duration `json:"archiveTimeoutNs"`
	Bound          time.Duration `json:"boundNs"`
	// Lost is the count of acknowledged writes lost; Window the time from the
	// acknowledgement of the oldest of them to the newest's (0 with none lost). The
	// archive holds a prefix of the primary's commits, so the lost writes are the last
	// ones the old primary acknowledged: Window is how much time of writes the restore
	// lost, measured from the primary's end, not from the fault's start (a fault may take
	// seconds, or begin elsewhere, as the drill's does with the DR member).
	Lost   int           `json:"lost"`
	Window time.Duration `json:"windowNs"`
	// Within says Window ≤ Bound: the loss stayed within what the ledger predicted.
	Within bool `json:"within"`
}

// archiveRPO measures a phase whose run restored from the archive (nil otherwise).
func archiveRPO(run *runbook.Record, attempts []load.Attempt, lost []int64) *ArchiveRPO {
	if run == nil || run.Restored == nil {
		return nil
	}
	out := &ArchiveRPO{Restored: run.Restored.Member, Lost: len(lost)}
	if a := run.Archive; a != nil {
		out.Predicted = true
		out.LagBytes, out.Waiting, out.ArchiveTimeout, out.Bound = a.LagBytes, a.Waiting, a.ArchiveTimeout, a.Bound()
	}
	gone := make(map[int64]bool, len(lost))
	for _, s := range lost {
		gone[s] = true
	}
	var oldest, newest time.Time
	for _, a := range attempts {
		if !a.OK || !gone[a.Seq] {
			continue
		}
		if oldest.IsZero() || a.Done.Before(oldest) {
			oldest = a.Done
		}
		if a.Done.After(newest) {
			newest = a.Done
		}
	}
	out.Window = newest.Sub(oldest)
	out.Within = out.Predicted && out.Window <= out.Bound
	return out
}

func printArchiveRPO(w io.Writer, a *ArchiveRPO) {
	fmt.Fprintf(w, "  restored %s from the archive (no copy of the data was left)\n", a.Restored)
	if !a.Predicted {
		fmt.Fprintf(w, "  archive RPO: %d acknowledged writes lost, spanning %s; no prediction (the archive lag was never read)\n", a.Lost, round(a.Window))
		return
	}
	verdict := "within the prediction"
	if !a.Within {
		verdict = "OVER the prediction"
	}
	fmt.Fprintf(w, "  archive RPO: %d acknowledged writes lost, spanning %s of writes; predicted ≤ %s (archive lag %d bytes, %s waiting, + archive interval %s): %s\n",
		a.Lost, round(a.Window), a.Bound, a.LagBytes, round(a.Waiting), a.ArchiveTimeout, verdict)
}
