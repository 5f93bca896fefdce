package runbook

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/runbook"
)

// The ledger shows the data-loss mode a failover kept and its loss measured against it.
func TestSummaryShowsThePromise(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  runbook.Record
		want []string
	}{
		{"bounded, counted", runbook.Record{Kind: runbook.Failover, App: "shop", From: "east", To: "west", Status: runbook.StatusDone, Promoted: "west-0",
			Promise: &data.Promise{Mode: v1alpha1.DataLossBounded, Bound: 200 * time.Millisecond, InForce: true, Setting: `FIRST 2 ("hadron_bound", "east-1")`},
			RPO:     &data.Loss{Bytes: 22144, Transactions: 127, Counted: true, Window: 180 * time.Millisecond}}, []string{
			`  promise: bounded 200ms, in force when the old primary was last seen (FIRST 2 ("hadron_bound", "east-1"))`,
			"  RPO: 22144 bytes, 127 transactions, committed over 180ms; acknowledged at most those of the 200ms before the DR member stopped confirming, the rest waited",
		}},
		{"synchronous, a holder promoted", runbook.Record{Kind: runbook.Failover, App: "shop", From: "east", To: "west", Status: runbook.StatusDone, Promoted: "west-0",
			Promise: &data.Promise{Mode: v1alpha1.DataLossSynchronous, InForce: true, Holders: []string{"east-1", "west-0"}, Setting: `ANY 2 ("east-1", "west-0")`},
			RPO:     &data.Loss{Bytes: 3888, Transactions: 23, Counted: true}}, []string{
			"  RPO: 3888 bytes, 23 transactions; none was acknowledged: each waited for west-0",
		}},
		{"async", runbook.Record{Kind: runbook.Failover, App: "shop", From: "east", To: "west", Status: runbook.StatusDone, Promoted: "west-0",
			Promise: &data.Promise{Mode: v1alpha1.DataLossAsync},
			RPO:     &data.Loss{Bytes: 406440, Transactions: 2385, Counted: true}}, []string{
			"  promise: async (a lost region costs the replication lag, a cut-off one also what it acknowledged until fenced)",
			"  RPO: 406440 bytes, 2385 transactions\n",
		}},
		{"restored from the archive", runbook.Record{Kind: runbook.Failover, App: "shop", From: "east", To: "west", Status: runbook.StatusDone, Promoted: "west-0",
			Archive:  &data.ArchiveSeen{LagBytes: 90112, Waiting: 1500 * time.Millisecond, ArchiveTimeout: 30 * time.Second},
			Restored: &data.Restored{Member: "west-0", Timeline: 2, End: 0x3000000},
			RPO:      &data.Loss{Bytes: 8192, Transactions: -1}}, []string{
			"  restored west-0 from the archive (no member was left), to 0/3000000 on timeline 2; predicted loss: archive lag 90112 bytes, 1.5s waiting, + archive interval 30s = 31.5s",
			"  RPO: 8192 bytes (transactions not counted)",
		}},
	} {
		var b bytes.Buffer
		Summary(&b, &tc.rec)
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, b.String())
			}
		}
	}
}
