package runbook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/runbook"
)

// Switchover returns `hadron switchover APP --to SITE` (or --resume / --abort).
func Switchover() *cobra.Command { return command(runbook.Switchover) }

// Failover returns `hadron failover APP --to SITE [--force]`.
func Failover() *cobra.Command { return command(runbook.Failover) }

// Failback returns `hadron failback APP [--to SITE]`.
func Failback() *cobra.Command { return command(runbook.Failback) }

func command(kind runbook.Kind) *cobra.Command {
	var (
		c            conn
		to           string
		force, dry   bool
		resume, stop bool
		who, reason  string
		waitFor      time.Duration
		short, extra string
	)
	switch kind {
	case runbook.Switchover:
		short = "Move an application to another site without losing data (planned)"
		extra = "Writes are fenced at the active site first and the target waits until it has every commit."
	case runbook.Failback:
		short = "Bring an application home after a failover, losing nothing"
		extra = "The home site's data members rejoin first (rewound), then a switchover moves the application back.\n--to defaults to the policy's active site."
	default:
		short = "Move an application to another site after losing its active site (unplanned)"
		extra = "The quorum must find the active site down, unless --force: a person takes the decision."
	}
	cmd := &cobra.Command{
		Use:   string(kind) + " APP (--to SITE | --resume | --abort)",
		Short: short,
		Long: short + ".\n\n" + extra + `
The plan is printed first (--dry-run asks a daemon what each step would do with the
state it observes now — the members it would fence and promote, the loss expected
from their positions, the quorum's verdicts — and starts nothing); the leader daemon then
runs it step by step, fenced by its leadership token, and the command follows the
progress with each step's time, then prints the RTO and the RPO recorded in the ledger.

A run whose step failed stays open and blocks new runs of the application until a
person answers it: --resume asks the failed step again and follows the run to its end;
--abort [--reason TEXT] closes it into the ledger as aborted, running nothing (no step
is undone). A failover stopped at the automatic loss bound resumes only with --force.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app := args[0]
			if who == "" {
				who = os.Getenv("USER")
			}
			if reason != "" && !stop {
				return cli.Exit(2, errReason)
			}
			if resume || stop {
				return answer(cmd, &c, kind, app, decision{resume: resume, to: to, who: who, reason: reason, force: force, wait: waitFor})
			}
			if force && kind != runbook.Failover {
				return cli.Exit(2, errors.New("--force goes with --resume or --abort"))
			}
			f, clients, err := c.clients()
			if err != nil {
				return err
			}
			if to == "" && kind == runbook.Failback {
				if a := f.Application(app); a != nil {
					to = a.Spec.Policy.ActiveSite
				}
			}
			if to == "" {
				return errors.New("--to SITE is required")
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			from, err := first(ctx, &c, clients, func(ctx context.Context, cl *api.Client) (string, error) {
				st, err := cl.Status(ctx)
				for _, a := range st.Apps {
					if a.Name == app {
						return a.Active, err
					}
				}
				if err == nil {
					err = fmt.Errorf("no application %q", app)
				}
				return "", err
			})
			if err != nil {
				return err
			}
			req := api.RunRequest{App: app, Kind: kind, To: to, Who: who, Force: force}
			if dry {
				return preview(ctx, &c, clients, req, from, out)
			}
			plan, err := runbook.Describe(kind, app, from, to)
			if err != nil {
				return err
			}
			fmt.Fprint(out, plan)
			var leader *api.Client
			rec, err := first(ctx, &c, clients, func(ctx context.Context, cl *api.Client) (*runbook.Record, error) {
				r, err := cl.StartRun(ctx, req)
				if err == nil {
					leader = cl
				}
				return r, err
			})
			if err != nil {
				return &cli.ExitError{Code: 2, Err: err}
			}
			fmt.Fprintf(out, "run %s started by %s (token %v)\n", rec.ID, rec.Who, rec.Tokens)
			final, err := follow(ctx, &c, leader, clients, rec, waitFor, out)
			if err != nil {
				return err
			}
			Summary(out, final)
			if final.Status != runbook.StatusDone {
				return &cli.ExitError{Code: 1, Err: fmt.Errorf("run %s %s: %s", final.ID, final.Status, final.Error)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	c.flags(fl)
	fl.StringVar(&to, "to", "", "site to move the application to")
	fl.BoolVar(&dry, "dry-run", false, "print what each step would do with the state the daemons observe now; start nothing")
	fl.StringVar(&who, "who", "", "name recorded as the decider (default $USER)")
	fl.DurationVar(&waitFor, "wait", 10*time.Minute, "how long to follow the run")
	fl.BoolVar(&resume, "resume", false, "resume the application's failed run at its failed step")
	fl.BoolVar(&stop, "abort", false, "close the application's failed run as aborted, running nothing")
	fl.StringVar(&reason, "reason", "", "with --abort: why (recorded in the ledger)")
	forced := "with --abort: close a run marked running that no daemon executes"
	if kind == runbook.Failover {
		forced = "fail over although the quorum does not find the active site down; with --resume: go on past the automatic loss bound; " + forced
	}
	fl.BoolVar(&force, "force", false, forced)
	cmd.MarkFlagsMutuallyExclusive("resume", "abort", "dry-run")
	return cmd
}

// follow polls the run and prints each step as it ends, until the run is done or
// failed. The leader is asked first; any daemon can read the run from etcd.
func follow(ctx context.Context, c *conn, leader *api.Client, clients []*api.Client, rec *runbook.Record, within time.Duration, out io.Writer) (*runbook.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	order := append([]*api.Client{leader}, clients...)
	printed := 0
	for {
		r, err := first(ctx, c, order, func(ctx context.Context, cl *api.Client) (*runbook.Record, error) {
			return cl.Run(ctx, rec.App, rec.ID)
		})
		if err == nil {
			for printed < len(r.Steps) && r.Steps[printed].Ended != nil {
				fmt.Fprintln(out, StepLine(printed, r.Steps[printed]))
				printed++
			}
			if r.Status == runbook.StatusDone || r.Status == runbook.StatusFailed || r.Status == runbook.StatusAborted {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("following run %s: %w (it goes on at the leader; see hadron history)", rec.ID, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// preview prints what req would do with the state a daemon observes now; from a
// daemon without the preview route, the plan's fixed text.
func preview(ctx context.Context, c *conn, clients []*api.Client, req api.RunRequest, from string, out io.Writer) error {
	p, err := first(ctx, c, clients, func(ctx context.Context, cl *api.Client) (*runbook.Preview, error) {
		return cl.PreviewRun(ctx, req)
	})
	var se *api.StatusError
	switch {
	case err == nil:
		fmt.Fprint(out, p.String())
		return nil
	case errors.As(err, &se) && se.Code == http.StatusNotFound:
		plan, derr := runbook.Describe(req.Kind, req.App, from, req.To)
		if derr != nil {
			return derr
		}
		fmt.Fprint(out, plan)
		fmt.Fprintln(out, "  (this daemon previews no run: the steps above are the plan, not what they would do now)")
		return nil
	}
	return &cli.ExitError{Code: 2, Err: err}
}
