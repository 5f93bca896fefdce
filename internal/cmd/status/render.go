package status

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
)

// NoQuorum is what status says when the daemon has no etcd majority.
const NoQuorum = "no quorum: decisions frozen"

// Render prints st for a person.
func Render(w io.Writer, st api.Status) {
	fmt.Fprintf(w, "daemon %s at %s\n", st.Daemon, st.Time.Format(time.RFC3339))
	e := st.Etcd
	switch {
	case e.Quorum:
		raft := ""
		for _, m := range e.Members {
			if m.Leader {
				raft = ", raft leader " + m.Name
			}
		}
		fmt.Fprintf(w, "etcd: quorum, %d members%s\n", len(e.Members), raft)
	default:
		last := "never"
		if !e.LastQuorum.IsZero() {
			last = st.Time.Sub(e.LastQuorum).Round(100*time.Millisecond).String() + " ago"
		}
		fmt.Fprintf(w, "etcd: %s (last majority %s)\n", NoQuorum, last)
	}
	if c := st.Certificate; c != nil {
		fmt.Fprintf(w, "certificate: %s, serial %s, expires %s (in %s)\n", c.Subject, c.Serial,
			c.NotAfter.Format(time.RFC3339), untilExpiry(c.NotAfter.Sub(st.Time)))
	}
	if e.SelfFenced {
		fmt.Fprintf(w, "self-fenced: %s's name server does not answer the main names with %s\n", st.Daemon, st.Daemon)
	}
	if len(st.FencedData) > 0 {
		fmt.Fprintf(w, "fenced (read-only) by self-fencing: %s\n", strings.Join(st.FencedData, ", "))
	}
	if st.Leader != "" {
		fmt.Fprintf(w, "leader: %s (token %d)\n", st.Leader, st.LeaderToken)
	} else {
		fmt.Fprintln(w, "leader: none")
	}
	for _, daemon := range sortedKeys(st.CannotAct) {
		role := ""
		if daemon == st.Leader {
			role = " (the leader)"
		}
		for _, set := range sortedKeys(st.CannotAct[daemon]) {
			fmt.Fprintf(w, "daemon %s%s cannot act on mirror set %s: %s\n", daemon, role, set, st.CannotAct[daemon][set])
		}
	}
	for _, p := range st.DNSProviders {
		switch {
		case p.OK && len(p.Errors) > 0:
			fmt.Fprintf(w, "dns provider %s (%s %s): in step, state %d, except: %s\n", p.Name, p.Type, p.Zone, p.StateVersion, strings.Join(p.Errors, "; "))
		case p.OK:
			fmt.Fprintf(w, "dns provider %s (%s %s): in step, state %d at %s\n", p.Name, p.Type, p.Zone, p.StateVersion, p.SyncedAt.Format(time.RFC3339))
		default:
			fmt.Fprintf(w, "dns provider %s (%s %s): FAILING: %s\n", p.Name, p.Type, p.Zone, p.Error)
		}
	}
	for _, a := range st.Apps {
		fmt.Fprintf(w, "\napplication %s: active %s", a.Name, a.Active)
		if a.Standby != "" {
			fmt.Fprintf(w, ", stand-by %s", a.Standby)
		}
		if a.Strategy != "" {
			fmt.Fprintf(w, ", strategy %s", a.Strategy)
		}
		fmt.Fprintln(w)
		observers := sortedKeys(a.Observations)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  SITE\tVERDICT\t%s\n", strings.ToUpper(strings.Join(observers, "\t")))
		for _, site := range sortedKeys(a.Verdicts) {
			cells := []string{"  " + site, a.Verdicts[site]}
			for _, o := range observers {
				cells = append(cells, cell(a.Observations[o], site))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		tw.Flush()
		if a.DNS != nil {
			fmt.Fprintf(w, "  DNS %s → %s (state %d)\n", a.DNS.Name, strings.Join(a.DNS.Answers, ", "), a.DNS.Version)
		}
		if a.Data != nil {
			renderData(w, a.Data)
		}
		if a.AutoFailoverHeld != "" {
			fmt.Fprintf(w, "  automatic failover held: %s\n", a.AutoFailoverHeld)
		}
		if a.NoAutoFailover != "" {
			fmt.Fprintf(w, "  no automatic failover: %s\n", a.NoAutoFailover)
		}
		if r := a.Run; r != nil {
			fmt.Fprintf(w, "  runbook %s: %s %s → %s by %s, step %d/%d %s (%s)", r.ID, r.Kind, r.From, r.To, r.Who, r.Step, r.Steps, r.StepName, r.Status)
			if r.Error != "" {
				fmt.Fprintf(w, ": %s", r.Error)
			}
			fmt.Fprintln(w)
		}
	}
}

// renderData prints a mirror set's data-loss mode as its primary keeps it (the DR
// member's lag against the bound), then its members: role, state and lag.
func renderData(w io.Writer, ds *api.DataSet) {
	if ds.Error != "" {
		fmt.Fprintf(w, "  data %s: %s\n", ds.Name, ds.Error)
		return
	}
	primary := ds.Primary
	if primary == "" {
		primary = "none"
	}
	fmt.Fprintf(w, "  data %s: primary %s\n", ds.Name, primary)
	if p := ds.Promise; p != nil {
		fmt.Fprintf(w, "  data loss %s\n", p.Summary)
	}
	if a := ds.Archive; a != nil {
		fmt.Fprintf(w, "  archive %s\n", archiveLine(a))
	}
	var rows bytes.Buffer
	tw := tabwriter.NewWriter(&rows, 0, 0, 2, ' ', 0)
	for _, m := range ds.Members {
		lag := ""
		switch {
		case m.Error != "":
			lag = cli.WithoutName(m.Name, m.Error)
		case m.State != "primary" && m.State != "fenced":
			lag = fmt.Sprintf("lag %d B, %.1f s", m.LagBytes, m.LagSeconds)
		}
		sync := ""
		if m.Sync {
			sync = "sync"
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Site, m.Role, m.State, sync, lag)
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(rows.String(), "\n") {
		if line != "" {
			fmt.Fprintln(w, strings.TrimRight(line, " \n"))
		}
	}
}

// archiveLine says how far the backup archive is behind the primary, and whether the
// oldest file waiting for archive_command has waited past the set's bound (what the
// readiness check warns about).
func archiveLine(a *api.ArchiveLag) string {
	if a.Error != "" {
		return "lag unknown: " + a.Error
	}
	line := fmt.Sprintf("lag %d B, %d segments waiting", a.LagBytes, a.WaitingSegments)
	if a.WaitingSegments > 0 {
		waited := time.Duration(a.WaitingSeconds * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(", oldest %s", waited)
		if a.OverBound {
			line += fmt.Sprintf(": OVER THE BOUND %s", a.Bound)
		} else {
			line += fmt.Sprintf(" (bound %s)", a.Bound)
		}
	}
	if a.LastArchived != "" {
		line += fmt.Sprintf("; last archived %s at %s", a.LastArchived, a.LastArchivedAt.Format(time.RFC3339))
	}
	if a.FailedCount > 0 {
		line += fmt.Sprintf("; archive_command failed %d times, last on %s", a.FailedCount, a.LastFailed)
	}
	return line
}

// cell is one observer's latest view of one site: ok with latency, or why it failed.
func cell(sites map[string]api.Observation, site string) string {
	ob, ok := sites[site]
	if !ok {
		return "-"
	}
	if ob.OK {
		return fmt.Sprintf("ok %.1fms", ob.LatencyMS)
	}
	// The end of a probe error says why (connection refused, status 503); the start
	// repeats the address.
	msg := []rune(ob.Error)
	if len(msg) > 40 {
		msg = append([]rune("…"), msg[len(msg)-40:]...)
	}
	return "FAIL " + string(msg)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// untilExpiry says how long a certificate has left: days when there are several.
func untilExpiry(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return d.Round(time.Second).String()
}
