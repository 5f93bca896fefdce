package labworld

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/lab/internal/world"
)

// StatusKind is the kind of status's document (-o json|yaml).
const StatusKind = "LabStatus"

// StatusCommand is `hadron-lab status`.
func StatusCommand() *cobra.Command {
	var (
		df     dirFlag
		output cli.Output
	)
	cmd := &cobra.Command{
		Use:   "status [-o FORMAT]",
		Short: "Show the lab's sites, control planes, nodes per zone, links, databases and files",
		Long: `Show the lab's sites, control planes, nodes per zone, links, databases and files.

-o json|yaml prints a document of kind LabStatus.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 20*time.Second)
			defer cancel()
			st, err := world.NewClient(df.get()).Status(ctx)
			if err != nil {
				return err
			}
			return output.Print(cmd.OutOrStdout(), StatusKind, st, func(w io.Writer) error {
				printStatus(w, st)
				return nil
			})
		},
	}
	df.add(cmd)
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func printStatus(out io.Writer, st world.Status) {
	phase := st.Phase
	if st.ReadyAfter > 0 {
		phase += fmt.Sprintf(" (started in %s)", st.ReadyAfter.Round(100*time.Millisecond))
	}
	fmt.Fprintf(out, "lab %s: %s\n", st.Dir, phase)
	if st.Error != "" {
		fmt.Fprintf(out, "error: %s\n", st.Error)
	}
	fmt.Fprintf(out, "kubeconfig: %s\nfleet:      %s\n\n", st.Kubeconfig, st.Fleet)

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tREGION\tROLE\tCONTROL PLANE\tREADY NODES PER ZONE\tLOAD BALANCER\tREADY PODS")
	for _, s := range st.Sites {
		cp := s.ControlPlane
		if s.Failed {
			cp = "FAILED (site stopped)"
		}
		var zones []string
		for _, z := range s.Zones {
			zones = append(zones, fmt.Sprintf("%s %d/%d", z.Zone, z.Ready, z.Total))
		}
		lb := s.LoadBalancer
		pods := ""
		if s.Role == "workload" {
			pods = fmt.Sprint(s.ReadyPods)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Region, s.Role, firstLine(cp), dash(strings.Join(zones, "  ")), dash(lb), dash(pods))
	}
	tw.Flush()

	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINK\tSTATE\tONE-WAY LATENCY\tPROXIES")
	for _, l := range st.Links {
		state := "up"
		if l.Cut {
			state = "CUT"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", l.Link, state, l.Latency, l.Proxies)
	}
	tw.Flush()

	if len(st.Databases) > 0 {
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DATABASE MEMBER\tSITE\tZONE\tBOOTSTRAP ROLE\tADDRESS\tPROCESS")
		for _, m := range st.Databases {
			run := "stopped"
			if m.Running {
				run = "running"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Site, m.Zone, m.Role, m.Address, run)
		}
		tw.Flush()
		fmt.Fprintln(out, "(live roles and lag: hadron data status -f FLEET shop-db)")
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
