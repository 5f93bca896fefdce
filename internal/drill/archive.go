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
// that are gone, counted by sequence number, and how old the oldest of them was when
// the fault struck.
type ArchiveRPO struct {
	Restored string `json:"restored"`
	// Predicted, from the run's record (absent when the lag was never read).
	Predicted      bool          `json:"predicted"`
	LagBytes       int64         `json:"lagBytes"`
	Waiting        time.Duration `json:"waitingNs"`
	ArchiveTimeout time.Duration `json:"archiveTimeoutNs"`
	Bound          time.Duration `json:"boundNs"`
	// Lost is the count of acknowledged writes lost; Window the fault's time minus the
	// acknowledgement of the oldest of them (0 with none lost).
	Lost   int           `json:"lost"`
	Window time.Duration `json:"windowNs"`
	// Within says Window ≤ Bound: the loss stayed within what the ledger predicted.
	Within bool `json:"within"`
}

// archiveRPO measures a phase whose run restored from the archive (nil otherwise).
func archiveRPO(start time.Time, run *runbook.Record, attempts []load.Attempt, lost []int64) *ArchiveRPO {
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
	var oldest time.Time
	for _, a := range attempts {
		if a.OK && gone[a.Seq] && (oldest.IsZero() || a.Done.Before(oldest)) {
			oldest = a.Done
		}
	}
	if !oldest.IsZero() {
		out.Window = max(start.Sub(oldest), 0)
	}
	out.Within = out.Predicted && out.Window <= out.Bound
	return out
}

func printArchiveRPO(w io.Writer, a *ArchiveRPO) {
	fmt.Fprintf(w, "  restored %s from the archive (no copy of the data was left)\n", a.Restored)
	if !a.Predicted {
		fmt.Fprintf(w, "  archive RPO: %d acknowledged writes lost, the oldest acknowledged %s before the fault; no prediction (the archive lag was never read)\n", a.Lost, round(a.Window))
		return
	}
	verdict := "within the prediction"
	if !a.Within {
		verdict = "OVER the prediction"
	}
	fmt.Fprintf(w, "  archive RPO: %d acknowledged writes lost, the oldest acknowledged %s before the fault; predicted ≤ %s (archive lag %d bytes, %s waiting, + archive interval %s): %s\n",
		a.Lost, round(a.Window), a.Bound, a.LagBytes, round(a.Waiting), a.ArchiveTimeout, verdict)
}
