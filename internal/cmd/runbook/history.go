package runbook

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/runbook"
)

// History returns `hadron history [APP]`.
func History() *cobra.Command {
	var (
		c      conn
		output string
	)
	cmd := &cobra.Command{
		Use:   "history [APP]",
		Short: "Show the ledger: every closed switchover, failover and failback (done or aborted) with its steps, RTO and RPO",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %s: want text or json", output)
			}
			app := ""
			if len(args) == 1 {
				app = args[0]
			}
			_, clients, err := c.clients()
			if err != nil {
				return err
			}
			recs, err := first(cmd.Context(), &c, clients, func(ctx context.Context, cl *api.Client) ([]runbook.Record, error) {
				return cl.History(ctx, app)
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(recs)
			}
			if len(recs) == 0 {
				fmt.Fprintln(out, "no runs in the ledger")
			}
			for i := range recs {
				Print(out, &recs[i])
				fmt.Fprintln(out)
			}
			return nil
		},
	}
	c.flags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
