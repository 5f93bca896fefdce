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

// Kinds of the runbook commands' documents (-o json|yaml).
const (
	RunKind     = "RunResult"
	PreviewKind = "RunPreview"
)

// runDoc is a run as the ledger keeps it (kind RunResult).
type runDoc struct {
	Run *runbook.Record `json:"run"`
}

// previewDoc is what a run would do now (kind RunPreview); Plan is the fixed text of
// the steps, from a daemon that previews no run.
type previewDoc struct {
	Preview *runbook.Preview `json:"preview,omitempty"`
	Plan    string           `json:"plan,omitempty"`
}

// progress is where a command following a run prints its progress: stdout for a
// person, stderr when stdout carries a document.
func progress(cmd *cobra.Command, output *cli.Output) io.Writer {
	if output.Text() {
		return cmd.OutOrStdout()
	}
	return cmd.ErrOrStderr()
}

// finish prints a closed run's outcome: its summary, or its document. A run that did
// not end done exits 1.
func finish(cmd *cobra.Command, output *cli.Output, final *runbook.Record) error {
	if err := output.Print(cmd.OutOrStdout(), RunKind, runDoc{Run: final}, func(w io.Writer) error {
		Summary(w, final)
		return nil
	}); err != nil {
		return err
	}
	if final.Status != runbook.StatusDone {
		return fmt.Errorf("run %s %s: %s", final.ID, final.Status, final.Error)
	}
	return nil
}

func command(kind runbook.Kind) *cobra.Command {
	var (
		c            conn
		to           string
		force, dry   bool
		resume, stop bool
		who, reason  string
		waitFor      time.Duration
		output       cli.Output
		short, extra string
	)
	toUse := "--to SITE"
	switch kind {
	case runbook.Switchover:
		short = "Move an application to another site without losing data (planned)"
		extra = "Writes are fenced at the active site first and the target waits until it has every commit."
	case runbook.Failback:
		short = "Bring an application home after a failover, losing nothing"
		extra = "The home site's data members rejoin first (rewound), then a switchover moves the application back.\n--to defaults to the policy's active site."
		toUse = "[--to SITE]"
	default:
		short = "Move an application to another site after losing its active site (unplanned)"
		extra = "The quorum must find the active site down, unless --force: a person takes the decision."
	}
	cmd := &cobra.Command{
		Use:   string(kind) + " APP (" + toUse + " [--dry-run] | --resume | --abort [--reason TEXT]) [-o FORMAT]",
		Short: short,
		Long: short + ".\n\n" + extra + `
The plan is printed first (--dry-run asks a daemon what each step would do with the
state it observes now — the members it would fence and promote, the loss expected
from their positions, the quorum's verdicts — and starts nothing); the leader daemon then
runs it step by step, fenced by its leadership token, and the command follows the
progress with each step's time, then prints the RTO and the RPO recorded in the ledger.
It follows the run for --timeout; the run goes on at the leader after that.

A run whose step failed stays open and blocks new runs of the application until a
person answers it: --resume asks the failed step again and follows the run to its end;
--abort [--reason TEXT] closes it into the ledger as aborted, running nothing (no step
is undone). A failover stopped at the automatic loss bound resumes only with --force.

With -o json|yaml the progress goes to stderr and stdout carries one document: the run
as the ledger keeps it (kind RunResult), or with --dry-run what it would do (kind
RunPreview). Exit status 1 when the run did not end done.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteApplications,
		RunE: func(cmd *cobra.Command, args []string) error {
			app := args[0]
			if who == "" {
				who = os.Getenv("USER")
			}
			if reason != "" && !stop {
				return cli.Usagef("%w", errReason)
			}
			// A request only the leader serves waits for a moving leadership as
			// long as the command follows its run.
			c.leaderWait = waitFor
			if resume || stop {
				return answer(cmd, &c, kind, app, decision{resume: resume, to: to, who: who, reason: reason, force: force, wait: waitFor}, &output)
			}
			if force && kind != runbook.Failover {
				return cli.Usagef("--force goes with --resume or --abort")
			}
			if to == "" && kind != runbook.Failback {
				return cli.Usagef("--to SITE is required (or --resume, or --abort)")
			}
			f, err := c.load(app)
			if err != nil {
				return err
			}
			if to == "" {
				to = f.Application(app).Spec.Policy.ActiveSite
			}
			if _, err := site(f, "--to", to); err != nil {
				return err
			}
			clients, err := c.dial(f)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			out := progress(cmd, &output)
			from, err := first(ctx, &c, clients, func(ctx context.Context, cl *api.Client) (string, error) {
				st, err := cl.Status(ctx)
				for _, a := range st.Apps {
					if a.Name == app {
						return a.Active, err
					}
				}
				if err == nil {
					err = fmt.Errorf("the daemons know no application %q", app)
				}
				return "", err
			})
			if err != nil {
				return err
			}
			req := api.RunRequest{App: app, Kind: kind, To: to, Who: who, Force: force}
			if dry {
				return preview(ctx, &c, clients, req, from, cmd.OutOrStdout(), &output)
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
				return err
			}
			fmt.Fprintf(out, "run %s started by %s (token %v)\n", rec.ID, rec.Who, rec.Tokens)
			final, err := follow(ctx, &c, leader, clients, rec, waitFor, out)
			if err != nil {
				return err
			}
			return finish(cmd, &output, final)
		},
	}
	fl := cmd.Flags()
	c.flags(fl)
	fl.StringVar(&to, "to", "", "site to move the application to")
	cli.CompleteSiteFlag(cmd, "to")
	cli.DryRunFlag(fl, &dry, "print what each step would do with the state the daemons observe now; start nothing")
	fl.StringVar(&who, "who", "", "ignored: the ledger records the name of the API token (--token-file)")
	_ = fl.MarkDeprecated("who", "the ledger records the name of the API token the command calls with (--token-file; see hadron token create)")
	cli.TimeoutFlag(fl, &waitFor, 10*time.Minute, "how long to follow the run before giving up (it goes on at the leader)")
	cli.Alias(fl, "wait", "timeout")
	fl.BoolVar(&resume, "resume", false, "resume the application's failed run at its failed step")
	fl.BoolVar(&stop, "abort", false, "close the application's failed run as aborted, running nothing")
	fl.StringVar(&reason, "reason", "", "with --abort: why (recorded in the ledger)")
	forced := "with --abort: close a run marked running that no daemon executes"
	if kind == runbook.Failover {
		forced = "fail over although the quorum does not find the active site down; with --resume: go on past the automatic loss bound; " + forced
	}
	fl.BoolVar(&force, "force", false, forced)
	cli.OutputFlag(fl, &output)
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
func preview(ctx context.Context, c *conn, clients []*api.Client, req api.RunRequest, from string, out io.Writer, output *cli.Output) error {
	p, err := first(ctx, c, clients, func(ctx context.Context, cl *api.Client) (*runbook.Preview, error) {
		return cl.PreviewRun(ctx, req)
	})
	var se *api.StatusError
	switch {
	case err == nil:
		return output.Print(out, PreviewKind, previewDoc{Preview: p}, func(w io.Writer) error {
			_, err := fmt.Fprint(w, p.String())
			return err
		})
	case errors.As(err, &se) && se.Code == http.StatusNotFound:
		plan, derr := runbook.Describe(req.Kind, req.App, from, req.To)
		if derr != nil {
			return derr
		}
		return output.Print(out, PreviewKind, previewDoc{Plan: plan}, func(w io.Writer) error {
			fmt.Fprint(w, plan)
			_, err := fmt.Fprintln(w, "  (this daemon previews no run: the steps above are the plan, not what they would do now)")
			return err
		})
	}
	return err
}
