package labworld

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/lab/internal/world"
)

// LinkCommand is `hadron-lab link cut|heal|latency A B [ms]`.
func LinkCommand() *cobra.Command {
	var (
		df     dirFlag
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "link cut|heal|latency SITE-A SITE-B [MILLISECONDS] [--dry-run]",
		Short: "Cut, heal, or set the one-way latency of the cross-region link between two sites",
		Args:  cobra.RangeArgs(3, 4),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := world.LinkRequest{Action: args[0], A: args[1], B: args[2]}
			switch req.Action {
			case "latency":
				if len(args) != 4 {
					return cli.Usagef("link latency needs MILLISECONDS: hadron lab link latency %s %s 35", req.A, req.B)
				}
				ms, err := strconv.Atoi(args[3])
				if err != nil || ms < 0 {
					return cli.Usagef("latency %q: want a number of milliseconds", args[3])
				}
				req.Latency = time.Duration(ms) * time.Millisecond
			case "cut", "heal":
				if len(args) != 3 {
					return cli.Usagef("link %s takes two sites", req.Action)
				}
			default:
				return cli.Usagef("link %q: want cut, heal or latency", req.Action)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			c := world.NewClient(df.get())
			if dryRun {
				st, err := c.Status(ctx)
				if err != nil {
					return err
				}
				plan, err := planLink(st, req)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), plan)
				return err
			}
			if err := c.Link(ctx, req); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "link %s-%s: %s\n", req.A, req.B, map[string]string{"cut": "cut", "heal": "healed", "latency": req.Latency.String() + " one-way"}[req.Action])
			return nil
		},
	}
	df.add(cmd)
	cli.DryRunFlag(cmd.Flags(), &dryRun, "say what would change with the lab's links as they are now; change nothing")
	return cmd
}

// FailCommand is `hadron-lab fail node|zone|site NAME`; RestoreCommand undoes it.
func FailCommand() *cobra.Command    { return faultCommand("fail") }
func RestoreCommand() *cobra.Command { return faultCommand("restore") }

func faultCommand(action string) *cobra.Command {
	var (
		df     dirFlag
		dryRun bool
	)
	short := map[string]string{
		"fail":    "Fail a node or a zone (NotReady, pods evicted) or a whole site (its processes stop)",
		"restore": "Restore a failed node, zone or site",
	}[action]
	cmd := &cobra.Command{
		Use:   action + " node|zone|site NAME [--dry-run]",
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 6*time.Minute)
			defer cancel()
			req := world.FaultRequest{Action: action, Kind: args[0], Name: args[1]}
			switch req.Kind {
			case "node", "zone", "site":
			default:
				return cli.Usagef("%s %q: want node, zone or site", action, req.Kind)
			}
			c := world.NewClient(df.get())
			if dryRun {
				st, err := c.Status(ctx)
				if err != nil {
					return err
				}
				plan, err := planFault(st, req)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), plan)
				return err
			}
			if err := c.Fault(ctx, req); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %sed\n", req.Kind, req.Name, map[string]string{"fail": "fail", "restore": "restor"}[action])
			return nil
		},
	}
	df.add(cmd)
	cli.DryRunFlag(cmd.Flags(), &dryRun, "say what would change with the lab as it is now; change nothing")
	return cmd
}
