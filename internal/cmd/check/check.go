// Package check is `hadron check parity|readiness|connectivity`: prove a stand-by
// site holds the application as replication wants it, could take over, and reaches
// the services other sites export.
package check

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/discovery"
	"hadron.dev/hadron/internal/replicate"
)

// ErrNotReady is returned (exit code 1) when a check finds anything to fix.
var ErrNotReady = errors.New("check failed")

// Kinds of the checks' documents (-o json|yaml).
const (
	ParityKind       = "ParityReport"
	ReadinessKind    = "ReadinessReport"
	ConnectivityKind = "ConnectivityReport"
)

// parityDoc is `hadron check parity`'s document.
type parityDoc struct {
	Application string             `json:"application"`
	Active      string             `json:"active"`
	OK          bool               `json:"ok"`
	Objects     []replicate.Parity `json:"objects"`
	Warnings    []string           `json:"warnings"`
}

// readinessDoc is `hadron check readiness`'s document.
type readinessDoc struct {
	Application string              `json:"application"`
	OK          bool                `json:"ok"`
	Findings    []replicate.Finding `json:"findings"`
	Parity      []replicate.Parity  `json:"parity"`
}

// connectivityDoc is `hadron check connectivity`'s document.
type connectivityDoc struct {
	Application string            `json:"application"`
	OK          bool              `json:"ok"`
	Probes      []discovery.Probe `json:"probes"`
}

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
	file   string
	output cli.Output
}

func (c *common) flags(cmd *cobra.Command) {
	cli.FileFlag(cmd.Flags(), &c.file)
	cli.OutputFlag(cmd.Flags(), &c.output)
	cmd.ValidArgsFunction = cli.CompleteApplications
}

func (c *common) connect(cmd *cobra.Command, args []string) (*replicate.Sites, *slog.Logger, error) {
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := cli.LoadFleet(c.file)
	if err != nil {
		return nil, nil, err
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	app, err := replicate.PickApplication(f.Applications, name)
	if err != nil {
		return nil, nil, cli.Usagef("%w", err)
	}
	s, err := replicate.ConnectApp(f.Sites, f.Dir, app)
	return s, log, err
}

func parityCommand() *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "parity [APP] [-f FILE] [-o FORMAT]",
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
			doc := parityDoc{Application: s.App.Name, Active: s.Active.Name, Objects: ps, Warnings: snap.Warnings,
				OK: bad == 0 && len(snap.Warnings) == 0}
			if doc.Objects == nil {
				doc.Objects = []replicate.Parity{}
			}
			if doc.Warnings == nil {
				doc.Warnings = []string{}
			}
			if err := c.output.Print(cmd.OutOrStdout(), ParityKind, doc, func(out io.Writer) error {
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
				_, err := fmt.Fprintf(out, "%s: %d objects, %d not in sync\n", s.App.Name, len(ps), bad)
				return err
			}); err != nil {
				return err
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
		Use:   "readiness [APP] [-f FILE] [-o FORMAT]",
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
			doc := readinessDoc{Application: s.App.Name, Findings: r.Findings, Parity: r.Parity, OK: r.OK()}
			if doc.Findings == nil {
				doc.Findings = []replicate.Finding{}
			}
			if doc.Parity == nil {
				doc.Parity = []replicate.Parity{}
			}
			if err := c.output.Print(cmd.OutOrStdout(), ReadinessKind, doc, func(out io.Writer) error {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LEVEL\tCHECK\tSITE\tFINDING\tWHAT TO DO")
				for _, f := range r.Findings {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Level, f.Check, f.Site, f.Message, f.Action)
				}
				return tw.Flush()
			}); err != nil {
				return err
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
		Use:   "connectivity [APP] [-f FILE] [-o FORMAT]",
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
			doc := connectivityDoc{Application: s.App.Name, Probes: probes, OK: failed == 0}
			if doc.Probes == nil {
				doc.Probes = []discovery.Probe{}
			}
			if err := c.output.Print(cmd.OutOrStdout(), ConnectivityKind, doc, func(out io.Writer) error {
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
				return nil
			}); err != nil {
				return err
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
