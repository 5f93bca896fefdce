package labworld

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
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
		oneWay bool
	)
	cmd := &cobra.Command{
		Use:   "link cut|heal|latency SITE-A SITE-B [MILLISECONDS] [--one-way] [--dry-run]",
		Short: "Cut, heal, or set the one-way latency of the cross-region link between two sites (or a site and objectstore)",
		Args:  cobra.RangeArgs(3, 4),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := world.LinkRequest{Action: args[0], A: args[1], B: args[2], OneWay: oneWay}
			if oneWay && req.Action != "cut" {
				return cli.Usagef("--one-way goes with cut only (heal restores both directions)")
			}
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
			if oneWay {
				fmt.Fprintf(cmd.OutOrStdout(), "link %s→%s: cut one way (%s still reaches %s)\n", req.A, req.B, req.B, req.A)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "link %s-%s: %s\n", req.A, req.B, map[string]string{"cut": "cut", "heal": "healed", "latency": req.Latency.String() + " one-way"}[req.Action])
			return nil
		},
	}
	df.add(cmd)
	cli.DryRunFlag(cmd.Flags(), &dryRun, "say what would change with the lab's links as they are now; change nothing")
	cmd.Flags().BoolVar(&oneWay, "one-way", false, "cut only the direction SITE-A → SITE-B: SITE-A cannot reach SITE-B, SITE-B still reaches SITE-A")
	return cmd
}

// FailCommand is `hadron-lab fail node|zone|site|process|daemon NAME`; RestoreCommand
// undoes it (a killed process comes back on its own).
func FailCommand() *cobra.Command    { return faultCommand("fail") }
func RestoreCommand() *cobra.Command { return faultCommand("restore") }

func faultCommand(action string) *cobra.Command {
	var (
		df     dirFlag
		dryRun bool
		delay  time.Duration
	)
	short := map[string]string{
		"fail":    "Fail a node or a zone (NotReady, pods evicted, its database members stopped), a whole site (its processes stop), a process (SIGKILL, restarted after --delay) or a site's daemon",
		"restore": "Restore a failed node, zone, site or daemon",
	}[action]
	kinds := "node|zone|site|process|daemon"
	if action == "restore" {
		kinds = "node|zone|site|daemon"
	}
	cmd := &cobra.Command{
		Use:   action + " " + kinds + " NAME [--dry-run]",
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 6*time.Minute)
			defer cancel()
			req := world.FaultRequest{Action: action, Kind: args[0], Name: args[1], Delay: delay}
			switch req.Kind {
			case "node", "zone", "site", "daemon":
			case "process":
				if action == "restore" {
					return cli.Usagef("restore process: a killed process is restarted by the lab after --delay")
				}
			default:
				return cli.Usagef("%s %q: want %s", action, req.Kind, strings.ReplaceAll(kinds, "|", ", "))
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
	if action == "fail" {
		cmd.Flags().DurationVar(&delay, "delay", world.DefaultRestartDelay, "fail process: how long the killed process stays down before the lab starts it again")
	}
	return cmd
}

// DrainCommand is `hadron-lab drain node NAME`: cordon, then evict every pod through
// the Eviction API, honouring PodDisruptionBudgets.
func DrainCommand() *cobra.Command {
	var (
		df      dirFlag
		timeout time.Duration
		output  cli.Output
	)
	cmd := &cobra.Command{
		Use:   "drain node NAME [--timeout 2m] [-o text|json|yaml]",
		Short: "Cordon a node and evict its pods through the Eviction API (PodDisruptionBudgets are honoured); `restore node` uncordons it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "node" {
				return cli.Usagef("drain %q: only a node can be drained", args[0])
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout+time.Minute)
			defer cancel()
			res, err := world.NewClient(df.get()).Drain(ctx, world.DrainRequest{Node: args[1], Timeout: timeout})
			if err != nil {
				return err
			}
			return output.Print(cmd.OutOrStdout(), "NodeDrain", res, func(w io.Writer) error {
				fmt.Fprintf(w, "node %s drained: %d pods evicted", args[1], len(res.Evicted))
				if len(res.Blocked) > 0 {
					fmt.Fprintf(w, ", %d still protected by a disruption budget: %s", len(res.Blocked), strings.Join(res.Blocked, ", "))
				}
				_, err := fmt.Fprintln(w)
				return err
			})
		},
	}
	df.add(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long evictions a disruption budget refuses are asked again")
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}
