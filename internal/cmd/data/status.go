package data

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/data"
)

func statusCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status SET",
		Short: "Show each member's role, state, lag and timeline (like iris qlist)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := o.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			st, err := d.Status(ctx)
			if err != nil {
				return err
			}
			if o.output == "json" {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			return RenderStatus(cmd.OutOrStdout(), st)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table or json")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// RoleLabel is the role a member plays now, as seed 000 names them: the member that
// accepts writes is the Primary, a standby in the primary's region its Failover, a
// standby elsewhere a DR async member. With no primary the configured role is shown.
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
		if up == "" {
			up = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Member, m.Site, dash(m.Zone), RoleLabel(st, m), m.State, lagB, lagS, tli, up)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range st.Members {
		if m.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", m.Member, m.Error)
		}
	}
	if st.Primary == "" {
		fmt.Fprintln(w, "no member accepts writes")
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
