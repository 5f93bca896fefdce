// Package check is `hadron check parity|readiness|connectivity`: prove a stand-by
// site holds the application as replication wants it, could take over, and reaches
// the services other sites export.
package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/discovery"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/replicate"
)

// ErrNotReady is returned (exit code 1) when a check finds anything to fix.
var ErrNotReady = errors.New("check failed")

// Command returns `hadron check`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that stand-by sites are in step, ready to take over, and connected",
		// A failed check is a result, not a usage mistake; root prints the error.
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(parityCommand(), readinessCommand(), connectivityCommand())
	return cmd
}

type common struct {
	file, output string
}

func (c *common) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&c.file, "file", "f", fleet.DefaultPath(), "fleet file or directory (default from $"+fleet.EnvFleet+")")
	cmd.Flags().StringVarP(&c.output, "output", "o", "text", "text or json")
}

func (c *common) connect(cmd *cobra.Command, args []string) (*replicate.Sites, *slog.Logger, error) {
	if c.output != "text" && c.output != "json" {
		return nil, nil, fmt.Errorf("--output %q: want text or json", c.output)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := fleet.Load(c.file)
	if err != nil {
		return nil, nil, err
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	app, err := replicate.PickApplication(f.Applications, name)
	if err != nil {
		return nil, nil, err
	}
	s, err := replicate.ConnectApp(f.Sites, f.Dir, app)
	return s, log, err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func parityCommand() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "parity [APP]",
		Short: "Per object: in sync, drifted (with a short diff), missing, not owned, extra",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, log, err := c.connect(cmd, args)
			if err != nil {
				return err
			}
			snap, err := replicate.Take(cmd.Context(), s.App, s.Active, s.Standbys, log)
			if err != nil {
				return err
			}
			ps := replicate.ParityOf(snap.Changes)
			bad := 0
			for _, p := range ps {
				if !p.OK() {
					bad++
				}
			}
			out := cmd.OutOrStdout()
			if c.output == "json" {
				if err := writeJSON(out, map[string]any{"application": s.App.Name, "active": s.Active.Name, "objects": ps,
					"warnings": snap.Warnings, "ok": bad == 0 && len(snap.Warnings) == 0}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SITE\tSTATE\tOBJECT\tDETAIL")
				for _, p := range ps {
					detail := p.Reason
					if p.State == replicate.StateInSync {
						detail = ""
					}
					if len(p.Diff) > 0 {
						detail = strings.Join(p.Diff, "; ")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Site, p.State, p.Object, detail)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				for _, w := range snap.Warnings {
					fmt.Fprintf(out, "warning: %s\n", w)
				}
				fmt.Fprintf(out, "%s: %d objects, %d not in sync\n", s.App.Name, len(ps), bad)
			}
			if len(snap.Warnings) > 0 {
				return fmt.Errorf("%w: %s: %s", ErrNotReady, s.App.Name, snap.Warnings[0])
			}
			if bad > 0 {
				return fmt.Errorf("%w: parity of %s: %d objects not in sync", ErrNotReady, s.App.Name, bad)
			}
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}

func readinessCommand() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "readiness [APP]",
		Short: "Parity, stand-by capacity, images and registries, CRDs, certificate coverage; each finding says what to do",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, log, err := c.connect(cmd, args)
			if err != nil {
				return err
			}
			r, err := replicate.CheckReadiness(cmd.Context(), s.App, s.Active, s.Standbys, time.Now(), log)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if c.output == "json" {
				if err := writeJSON(out, map[string]any{"application": s.App.Name, "findings": r.Findings, "parity": r.Parity, "ok": r.OK()}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LEVEL\tCHECK\tSITE\tFINDING\tWHAT TO DO")
				for _, f := range r.Findings {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Level, f.Check, f.Site, f.Message, f.Action)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if !r.OK() {
				return fmt.Errorf("%w: %s is not ready to fail over", ErrNotReady, s.App.Name)
			}
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}

func connectivityCommand() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "connectivity [APP]",
		Short: "Connect (TCP) to every exported service from every other site's point of view",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := c.connect(cmd, args)
			if err != nil {
				return err
			}
			members := discovery.Members(s.App, s.Sites, s.Conns())
			probes, err := discovery.CheckConnectivity(cmd.Context(), s.App.Name, s.App.Spec.Namespace, members)
			if err != nil {
				return err
			}
			failed := 0
			for _, p := range probes {
				if !p.OK {
					failed++
				}
			}
			out := cmd.OutOrStdout()
			if c.output == "json" {
				if err := writeJSON(out, map[string]any{"application": s.App.Name, "probes": probes, "ok": failed == 0}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SERVICE\tFROM\tEXPORTER\tADDRESS\tRESULT")
				for _, p := range probes {
					res := "ok " + p.Latency.Round(10*time.Microsecond).String()
					if !p.OK {
						res = p.Error
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Service, p.From, p.Exporter, p.Address, res)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if len(probes) == 0 {
					fmt.Fprintf(out, "%s: no imported services\n", s.App.Name)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%w: %d of %d connections failed", ErrNotReady, failed, len(probes))
			}
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}
