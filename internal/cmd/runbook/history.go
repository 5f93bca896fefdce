package runbook

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/runbook"
)

// HistoryKind is the kind of history's document (-o json|yaml).
const HistoryKind = "History"

// historyDoc is the ledger's runs, oldest first.
type historyDoc struct {
	Runs []runbook.Record `json:"runs"`
}

// History returns `hadron history [APP]`.
func History() *cobra.Command {
	var (
		c       conn
		output  cli.Output
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "history [APP] [-o FORMAT]",
		Short: "Show the ledger: every closed switchover, failover and failback (done or aborted) with its steps, RTO and RPO",
		Long: `Show the ledger: every closed switchover, failover and failback (done or aborted),
and every promotion a person forced outside the daemons, with its steps, who decided,
the fencing tokens, the RTO and the RPO.

-o json|yaml prints a document of kind History: its runs, oldest first.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: cli.CompleteApplications,
		RunE: func(cmd *cobra.Command, args []string) error {
			app := ""
			if len(args) == 1 {
				app = args[0]
			}
			f, err := c.load(app)
			if err != nil {
				return err
			}
			clients, err := c.dial(f)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			recs, err := first(ctx, &c, clients, func(ctx context.Context, cl *api.Client) ([]runbook.Record, error) {
				return cl.History(ctx, app)
			})
			if err != nil {
				return err
			}
			if recs == nil {
				recs = []runbook.Record{}
			}
			return output.Print(cmd.OutOrStdout(), HistoryKind, historyDoc{Runs: recs}, func(out io.Writer) error {
				if len(recs) == 0 {
					fmt.Fprintln(out, "no runs in the ledger")
				}
				for i := range recs {
					Print(out, &recs[i])
					fmt.Fprintln(out)
				}
				return nil
			})
		},
	}
	c.flags(cmd.Flags())
	cli.TimeoutFlag(cmd.Flags(), &timeout, 30*time.Second, "")
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}
