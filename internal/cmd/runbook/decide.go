package runbook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/runbook"
)

// decision is --resume or --abort: a person's answer to a run a step stopped.
type decision struct {
	resume bool
	to     string // --to, if given: must be the run's target
	who    string
	reason string
	force  bool
	wait   time.Duration
}

// answer resumes or aborts app's open run of kind at the leader. A resumed run is
// followed to its end as a new run is; an aborted one is printed as the ledger keeps it
// (a document of kind RunResult with -o json|yaml; the progress then goes to stderr).
func answer(cmd *cobra.Command, c *conn, kind runbook.Kind, app string, a decision, output *cli.Output) error {
	f, err := c.load(app)
	if err != nil {
		return err
	}
	if a.to != "" {
		if _, err := site(f, "--to", a.to); err != nil {
			return err
		}
	}
	clients, err := c.dial(f)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	out := progress(cmd, output)
	st, err := first(ctx, c, clients, func(ctx context.Context, cl *api.Client) (api.Status, error) {
		return cl.Status(ctx)
	})
	if err != nil {
		return err
	}
	open, err := openRunOf(st, app)
	if err == nil {
		err = check(open, kind, a)
	}
	if err != nil {
		return cli.Usagef("%w", err)
	}
	fmt.Fprintf(out, "run %s: %s of %s %s → %s by %s, %s at step %d (%s)", open.ID, open.Kind, app, open.From, open.To, open.Who, open.Status, open.Step, open.StepName)
	if open.Error != "" {
		fmt.Fprintf(out, ": %s", open.Error)
	}
	fmt.Fprintln(out)

	verb, call := "aborted", (*api.Client).AbortRun
	if a.resume {
		verb, call = "resumed", (*api.Client).ResumeRun
	}
	req := api.RunDecision{Who: a.who, Reason: a.reason, Force: a.force}
	var leader *api.Client
	rec, err := first(ctx, c, clients, func(ctx context.Context, cl *api.Client) (*runbook.Record, error) {
		r, err := call(cl, ctx, app, open.ID, req)
		if err == nil {
			leader = cl
		}
		return r, err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "run %s %s by %s\n", rec.ID, verb, decider(rec, a.resume))
	if !a.resume {
		return output.Print(cmd.OutOrStdout(), RunKind, runDoc{Run: rec}, func(w io.Writer) error {
			Print(w, rec)
			return nil
		})
	}
	final, err := follow(ctx, c, leader, clients, rec, a.wait, out)
	if err != nil {
		return err
	}
	return finish(cmd, output, final)
}

// openRunOf is app's open run as the daemons' status shows it.
func openRunOf(st api.Status, app string) (*api.OpenRun, error) {
	for _, s := range st.Apps {
		if s.Name != app {
			continue
		}
		if s.Run == nil {
			return nil, fmt.Errorf("no open run for %s", app)
		}
		return s.Run, nil
	}
	return nil, fmt.Errorf("no application %q", app)
}

// check refuses an answer that does not fit the open run, before asking the leader
// (which checks again against the stored run).
func check(open *api.OpenRun, kind runbook.Kind, a decision) error {
	flag := "--abort"
	if a.resume {
		flag = "--resume"
	}
	switch {
	case open.Kind != string(kind):
		return fmt.Errorf("the open run %s of this application is a %s, not a %s: hadron %s APP %s", open.ID, open.Kind, kind, open.Kind, flag)
	case a.to != "" && a.to != open.To:
		return fmt.Errorf("run %s moves the application to %s, not %s", open.ID, open.To, a.to)
	case open.Status == string(runbook.StatusFailed):
		return nil
	case open.Status == string(runbook.StatusRunning) && !a.resume && a.force:
		return nil
	case open.Status == string(runbook.StatusRunning) && !a.resume:
		return fmt.Errorf("run %s is running, not failed (--abort --force closes a run that no daemon executes)", open.ID)
	}
	return fmt.Errorf("run %s is %s, not failed", open.ID, open.Status)
}

// decider is who answered, as the returned record says.
func decider(r *runbook.Record, resumed bool) string {
	if resumed && len(r.Resumes) > 0 {
		return r.Resumes[len(r.Resumes)-1].Who
	}
	if !resumed && r.Aborted != nil {
		return r.Aborted.Who
	}
	return "?"
}

var errReason = errors.New("--reason goes with --abort")
