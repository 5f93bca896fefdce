package data

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/data"
)

// StatusKind is the kind of data status's document (and of bootstrap's).
const StatusKind = "MirrorSetStatus"

func statusCommand(o *options) *cobra.Command {
	var (
		output  cli.Output
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status SET [-o FORMAT]",
		Short: "Show each member's role, state, lag and timeline",
		Long: `Show each member's role (Primary, Failover, DR async), state, lag in bytes and
seconds, timeline and upstream.

Exit status 1 when no member accepts writes. -o json|yaml prints a document of kind
MirrorSetStatus.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteMirrorSets,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := o.Open(ctx, args[0])
			if err != nil {
				return err
			}
			st, err := d.Status(ctx)
			if err != nil {
				return err
			}
			if err := output.Print(cmd.OutOrStdout(), StatusKind, st, func(w io.Writer) error { return RenderStatus(w, st) }); err != nil {
				return err
			}
			if st.Primary == "" {
				return noPrimary(args[0], output.Text())
			}
			return nil
		},
	}
	cli.OutputFlag(cmd.Flags(), &output)
	cli.TimeoutFlag(cmd.Flags(), &timeout, 30*time.Second, "")
	return cmd
}

// RoleLabel is the role a member plays now: the member that accepts writes is the
// Primary, a standby in the primary's region its Failover, a standby elsewhere a DR
// async member. With no primary the configured role is shown.
func RoleLabel(st *data.SetStatus, m data.MemberStatus) string {
	if m.Primary {
		return "Primary"
	}
	region := ""
	if p := st.Member(st.Primary); p != nil {
		region = p.Region
	}
	switch {
	case region != "" && m.Region == region:
		return "Failover"
	case region != "":
		return "DR async"
	case m.Role == "failover":
		return "Failover"
	case m.Role == "primary":
		return "Primary"
	default:
		return "DR async"
	}
}

// RenderStatus writes the status table.
func RenderStatus(w io.Writer, st *data.SetStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tSITE\tZONE\tROLE\tSTATE\tLAG BYTES\tLAG SECONDS\tTIMELINE\tUPSTREAM")
	for _, m := range st.Members {
		lagB, lagS, tli := "-", "-", "-"
		if m.Reachable {
			lagB = fmt.Sprint(m.LagBytes)
			lagS = fmt.Sprintf("%.1f", m.LagSeconds)
			tli = fmt.Sprint(m.Timeline)
		}
		up := m.Upstream
		if m.Sync {
			up += " (sync)"
		}
		switch {
		case m.FollowsNobody:
			// Held at its pod's start: it streams only once hadron rejoins it.
			up = "nobody (held)"
		case up == "":
			up = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Member, m.Site, dash(m.Zone), RoleLabel(st, m), m.State, lagB, lagS, tli, up)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range st.Members {
		if m.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", m.Member, withoutName(m.Member, m.Error))
		}
	}
	if st.Primary == "" {
		fmt.Fprintln(w, "no member accepts writes")
	}
	if st.Promise != nil {
		fmt.Fprintf(w, "data loss %s\n", st.Promise)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
