// Package validate is `hadron validate`: load a fleet offline and report every problem.
package validate

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/fleet"
)

// Exit codes of validate and plan.
const (
	ExitProblems   = 1 // the fleet has problems
	ExitUnreadable = 2 // the fleet path cannot be read
)

// Kind is the kind of validate's document (-o json|yaml).
const Kind = "Validation"

// Command returns `hadron validate`.
func Command() *cobra.Command {
	var (
		path   string
		output cli.Output
	)
	cmd := &cobra.Command{
		Use:   "validate [-f FILE] [-o FORMAT]",
		Short: "Check a fleet file or directory and report every problem",
		Long: `Check a fleet file or directory and report every problem, one per line:

  FILE: KIND "NAME": FIELD.PATH: REASON

Exit status: 0 when the fleet is valid, 1 when it has problems, 2 when it cannot be
read (-o json|yaml prints a document of kind Validation). The fleet reference is
docs/fleet.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := fleet.Load(path)
			return Report(cmd.OutOrStdout(), path, &output, f, err)
		},
	}
	cli.FileFlag(cmd.Flags(), &path)
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}

// Result is the document of `hadron validate` (kind Validation).
type Result struct {
	Path         string             `json:"path"`
	Valid        bool               `json:"valid"`
	Sites        []string           `json:"sites"`
	Applications []string           `json:"applications"`
	MirrorSets   []string           `json:"mirrorSets"`
	Problems     []fleet.FieldError `json:"problems"`
}

// Report prints the outcome of loading path and returns the exit error, if any.
func Report(w io.Writer, path string, output *cli.Output, f *fleet.Fleet, err error) error {
	problems, isFleetErr := fleet.AsErrors(err)
	if err != nil && !isFleetErr {
		return cli.Exit(ExitUnreadable, err)
	}
	r := Result{Path: path, Valid: err == nil, Sites: []string{}, Applications: []string{}, MirrorSets: []string{}, Problems: problems}
	if r.Problems == nil {
		r.Problems = []fleet.FieldError{}
	}
	if f != nil {
		for _, s := range f.Sites {
			r.Sites = append(r.Sites, s.Name)
		}
		for _, a := range f.Applications {
			r.Applications = append(r.Applications, a.Name)
		}
		for _, m := range f.MirrorSets {
			r.MirrorSets = append(r.MirrorSets, m.Name)
		}
	}
	werr := output.Print(w, Kind, r, func(w io.Writer) error {
		var b strings.Builder
		if r.Valid {
			fmt.Fprintf(&b, "%s: OK: %s, %s, %s\n", path, named(r.Sites, "site", "sites"), named(r.Applications, "application", "applications"), named(r.MirrorSets, "mirror set", "mirror sets"))
		}
		for _, p := range problems {
			b.WriteString(p.Error())
			b.WriteByte('\n')
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
	if werr != nil {
		return fmt.Errorf("write result: %w", werr)
	}
	if !r.Valid {
		return cli.Exit(ExitProblems, fmt.Errorf("%s: %s", path, plural(len(problems), "problem", "problems")))
	}
	return nil
}

// plural says "1 site" or "3 sites".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// named says "3 sites (east, west, witness)".
func named(names []string, one, many string) string {
	if len(names) == 0 {
		return plural(0, one, many)
	}
	return fmt.Sprintf("%s (%s)", plural(len(names), one, many), strings.Join(names, ", "))
}
