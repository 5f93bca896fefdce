package labworld

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/chaos"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/lab/internal/chaosrun"
)

// ChaosCommand is `hadron-lab chaos`: random faults from a seed under load, then the
// checker's report. Violations exit 1.
func ChaosCommand() *cobra.Command {
	var (
		df       dirFlag
		duration time.Duration
		seed     uint64
		faults   string
		rate     float64
		bounds   chaos.Bounds
		dryRun   bool
		output   cli.Output
		history  bool
	)
	cmd := &cobra.Command{
		Use:   "chaos --duration D --seed S [--faults KIND,...] [--dry-run] [-o text|json|yaml]",
		Short: "Inject a reproducible random schedule of faults under load, then check the history against hadron's invariants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kinds := chaosrun.AllKinds
			if faults != "" {
				kinds = strings.Split(faults, ",")
			}
			if duration <= 0 {
				return cli.Usagef("--duration must be positive")
			}
			if dryRun {
				steps, err := chaosrun.PlanFor(df.get(), seed, duration, kinds)
				if err != nil {
					return cli.Usagef("%v", err)
				}
				rep := &chaosrun.Report{Seed: seed, Duration: duration, Faults: kinds, Schedule: steps}
				return output.Print(cmd.OutOrStdout(), "ChaosSchedule", rep, func(w io.Writer) error { return chaosrun.ScheduleText(w, seed, steps) })
			}
			if _, err := chaosrun.PlanFor(df.get(), seed, duration, kinds); err != nil {
				return cli.Usagef("%v", err)
			}
			progress := cmd.ErrOrStderr()
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			ctx, cancel := context.WithTimeout(cmd.Context(), duration+bounds.Recovery+10*time.Minute)
			defer cancel()
			rep, err := chaosrun.Run(ctx, chaosrun.Config{Dir: df.get(), Seed: seed, Duration: duration, Kinds: kinds, Rate: rate, Bounds: bounds, Progress: progress, Log: log})
			if err != nil {
				return err
			}
			if !history {
				rep.History.Writes = nil
				rep.History.DNS = nil
			}
			if err := output.Print(cmd.OutOrStdout(), "ChaosReport", rep, rep.Text); err != nil {
				return err
			}
			if !rep.Result.OK() {
				return cli.Exit(cli.ExitFailed, fmt.Errorf("chaos seed %d: %d invariant violations", seed, len(rep.Result.Violations)))
			}
			return nil
		},
	}
	df.add(cmd)
	cmd.Flags().DurationVar(&duration, "duration", 3*time.Minute, "how long faults are injected and clients write")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "the schedule's seed: the same seed gives the same schedule")
	cmd.Flags().StringVar(&faults, "faults", "", "comma-separated fault kinds to draw from (default all: "+strings.Join(chaosrun.AllKinds, ",")+")")
	cmd.Flags().Float64Var(&rate, "rate", 10, "writes per second of each client")
	cmd.Flags().DurationVar(&bounds.TTL, "ttl", chaos.DefaultBounds().TTL, "invariant 4: the main name's TTL")
	cmd.Flags().DurationVar(&bounds.Detection, "detection", chaos.DefaultBounds().Detection, "invariant 4: how long finding a dead site may take")
	cmd.Flags().DurationVar(&bounds.Recovery, "recovery", chaos.DefaultBounds().Recovery, "invariant 6: the bound on the return to full health after the last repair")
	cmd.Flags().BoolVar(&history, "history", false, "include every write and DNS sample in the JSON/YAML document")
	cli.DryRunFlag(cmd.Flags(), &dryRun, "print the schedule drawn from the seed; change nothing")
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}
