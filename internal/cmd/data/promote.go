package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/data/postgres"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
)

// Kind of promote's document.
const PromotionKind = "Promotion"

// promotionDoc is promote's document: the set and what the promotion did.
type promotionDoc struct {
	Set string `json:"set"`
	*data.PromoteResult
}

func promoteCommand(o *options) *cobra.Command {
	var (
		force, dryRun bool
		who           string
		df            daemonFlags
		output        cli.Output
		timeout       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "promote SET MEMBER [--force] [--dry-run] [-o FORMAT]",
		Short: "Promote a member by hand; states the data it would lose and needs --force when that is not zero",
		Long: `Promote MEMBER to primary. First the data the promotion would lose is stated (the
old primary's last flush position minus what MEMBER received). When that is not zero the
promotion is refused unless --force. The old primary is fenced (made read-only) when it
is reachable. After the promotion the exact loss is reported: WAL bytes and committed
transactions, counted on the old primary.

When the fleet has hadron daemons, they decide for its mirror sets (hadron failover,
switchover): the command asks them who leads and refuses, naming the leader, or saying
that none answered. --force acts outside them; the promotion then goes into the ledger
(hadron history) with the loss it measured, through the daemon that answered, under
the name of the API token the command calls with (--token-file).

--dry-run states what the promotion would do with the state observed now — the old
primary it would fence, the loss expected from positions, whether it needs --force —
and changes nothing (a document of kind PromotionPlan with -o json|yaml; exit 1 when
the promotion as asked would be refused). -o json|yaml prints a document of kind
Promotion.`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: cli.CompleteMirrorSetMember,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, member := args[0], args[1]
			f, err := o.Load(set, member)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			dec := df.ask(ctx, f, o.Region)
			refusal := dec.refusal(set)
			if refusal != nil && !force && !dryRun {
				return refusal
			}
			d, err := postgres.FromFleet(ctx, f, set, o.Region, o.Logger())
			if err != nil {
				return err
			}
			if dryRun {
				return previewPromotion(ctx, cmd.OutOrStdout(), &output, d, member, force, refusal)
			}
			who = decider(who)
			if dec.managed() {
				outsideNotice(cmd.ErrOrStderr(), dec, "this promotion")
			}
			out := cmd.OutOrStdout()
			token := adoptToken(ctx, d, dec.Token)
			before, _ := d.Status(ctx) // names the old primary in the ledger
			start := time.Now()
			res, err := data.Failover(ctx, d, member, data.FailoverOptions{Force: force, FencingToken: token, Logger: o.Logger()})
			var le *data.LossError
			if errors.As(err, &le) {
				if le.Loss.Bytes < 0 {
					fmt.Fprintf(out, "promoting %s may lose data: %v\n", member, le)
				} else {
					fmt.Fprintf(out, "promoting %s would lose %d bytes of WAL (old primary flushed %s, %s received %s)\n",
						member, le.Loss.Bytes, le.Loss.To, member, le.Loss.From)
				}
				return fmt.Errorf("refusing to promote %s: it would lose data; run again with --force to accept the loss", member)
			}
			var recorded []runbook.Record
			var recErr error
			if dec.managed() && dec.client != nil {
				rec := outsideRecord(f, dec, set, member, who, token, before, start, res, err)
				recorded, recErr = dec.client.RecordOutside(ctx, rec)
			}
			if err != nil {
				if recErr == nil && len(recorded) > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "the failed attempt is in the ledger as %s\n", recorded[0].ID)
				}
				return err
			}
			if err := output.Print(out, PromotionKind, promotionDoc{Set: set, PromoteResult: res}, func(w io.Writer) error {
				printPromotion(w, set, res)
				return nil
			}); err != nil {
				return err
			}
			switch {
			case recErr != nil:
				return fmt.Errorf("%s was promoted, but recording it in the ledger failed: %w", member, recErr)
			case len(recorded) > 0:
				apps := make([]string, len(recorded))
				for i, r := range recorded {
					apps[i] = r.App
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "recorded in the ledger as %s (hadron history %s)\n", recorded[0].ID, strings.Join(apps, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "promote even when data would be lost, and act outside the hadron daemons when they manage the set")
	cmd.Flags().StringVar(&who, "who", "", "ignored: the ledger records the name of the API token (--token-file)")
	_ = cmd.Flags().MarkDeprecated("who", "the ledger records the name of the API token the command calls with (--token-file; see hadron token create)")
	cli.DryRunFlag(cmd.Flags(), &dryRun, "state what the promotion would do with the state observed now (fence, expected loss, --force needed); change nothing")
	cli.TimeoutFlag(cmd.Flags(), &timeout, 3*time.Minute, "")
	cli.OutputFlag(cmd.Flags(), &output)
	df.add(cmd.Flags())
	return cmd
}

// previewPromotion prints what promoting member would do now; the error says why the
// promotion as asked would be refused.
func previewPromotion(ctx context.Context, w io.Writer, output *cli.Output, d *postgres.Driver, member string, force bool, refusal error) error {
	st, err := d.Status(ctx)
	if err != nil {
		return err
	}
	p := PlanPromotion(st, member)
	if refusal != nil {
		p.NeedsForce = true
		p.Why = append(p.Why, oneLine(refusal))
	}
	if err := output.Print(w, PromotionPlanKind, p, p.Write); err != nil {
		return err
	}
	switch {
	case p.Refused != "":
		return fmt.Errorf("cannot promote %s: %s", member, p.Refused)
	case p.NeedsForce && !force:
		return fmt.Errorf("promoting %s needs --force: %s", member, strings.Join(p.Why, "; "))
	}
	return nil
}

func printPromotion(out io.Writer, set string, res *data.PromoteResult) {
	fmt.Fprintf(out, "promoted %s in %s: timeline %d, carried WAL up to %s\n", res.Member, res.Took.Round(time.Millisecond), res.Timeline, res.ReplayLSN)
	fmt.Fprintln(out, "lost: "+lossText(res.Loss))
	fmt.Fprintf(out, "other members follow the new primary with: hadron data rejoin %s MEMBER\n", set)
}

// lossText is a promotion's loss in words.
func lossText(l *data.Loss) string {
	switch {
	case l == nil:
		return "not measured"
	case l.Bytes < 0:
		return fmt.Sprintf("unknown (no primary was reachable); the promoted member carried WAL up to %s", l.From)
	}
	tx := "unknown (old primary unreadable)"
	if l.Counted {
		tx = fmt.Sprint(l.Transactions)
	}
	return fmt.Sprintf("%d bytes of WAL, %s committed transactions (%s .. %s; %s)", l.Bytes, tx, l.From, l.To, l.Method)
}

// decider is the name a person's action carries before a daemon records it; the
// daemon replaces it with the name of the API token that asked.
func decider(who string) string {
	if who == "" {
		who = os.Getenv("USER")
	}
	if who == "" {
		who = "operator"
	}
	return who
}

// outsideNotice says, before acting, that a forced command acts outside the daemons.
func outsideNotice(w io.Writer, dec deciders, what string) {
	if dec.client != nil {
		fmt.Fprintf(w, "acting outside the hadron daemons (%s); %s goes into the ledger under the API token's name\n", dec.leader(), what)
		return
	}
	fmt.Fprintf(w, "acting outside the hadron daemons: none of them answered, so %s cannot be recorded in the ledger\n", what)
}

// tokenReadTimeout bounds reading the members' tokens: a member of a lost region must
// not hold up the promotion.
const tokenReadTimeout = 3 * time.Second

// adoptToken is the fencing token a person's action carries: the daemons' current
// leader's, raised to the highest that any member which answers has stored. A member
// refuses a token lower than one it has seen (a deposed leader's); a person acting
// outside the daemons takes the newest one instead of being refused as stale.
func adoptToken(ctx context.Context, d *postgres.Driver, leader int64) int64 {
	ctx, cancel := context.WithTimeout(ctx, tokenReadTimeout)
	defer cancel()
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		tok = leader
	)
	for _, m := range d.Set().Spec.Members {
		wg.Go(func() {
			t, err := d.FencingToken(ctx, m.Name)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && t > tok {
				tok = t
			}
		})
	}
	wg.Wait()
	return tok
}

// outsideRecord is a person's promotion as the ledger keeps it: one step, its outcome
// and the loss it measured.
func outsideRecord(f *fleet.Fleet, dec deciders, set, member, who string, token int64, before *data.SetStatus,
	start time.Time, res *data.PromoteResult, err error) *runbook.Record {
	end := time.Now()
	ms := f.MirrorSet(set)
	siteOf := func(name string) string {
		for _, m := range ms.Spec.Members {
			if m.Name == name {
				return m.Site
			}
		}
		return ""
	}
	r := &runbook.Record{ID: runbook.NewID(runbook.Promote, start), Kind: runbook.Promote, Set: set, To: siteOf(member),
		Who: who, Force: true, Decided: start, Promoted: member, Closed: &end, Status: runbook.StatusDone}
	if token > 0 {
		r.Tokens = []int64{token}
	}
	if before != nil && before.Primary != "" && before.Primary != member {
		r.OldPrimary, r.From = before.Primary, siteOf(before.Primary)
	}
	step := runbook.StepRecord{Name: "promote", Started: &start, Attempt: 1, Token: token}
	if err != nil {
		step.Error = err.Error()
		r.Status, r.Error = runbook.StatusFailed, "promote: "+err.Error()
	} else {
		step.Ended = &end
		step.Detail = fmt.Sprintf("promoted %s at %s (timeline %d) by hand, outside the daemons (%s)",
			member, res.ReplayLSN, res.Timeline, dec.leader())
		r.RPO = res.Loss
		if res.Loss != nil {
			r.LastFlush = res.Loss.To
		}
	}
	r.Steps = []runbook.StepRecord{step}
	return r
}
