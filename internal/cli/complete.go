package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/fleet"
)

// Shell completion of the names a command takes, read from the fleet that -f (or
// $HADRON_FLEET) names. A fleet that cannot be read completes nothing.

// fleetOf loads the fleet the command's -f names; a fleet with problems still gives
// the names it has.
func fleetOf(cmd *cobra.Command) *fleet.Fleet {
	path := fleet.DefaultPath()
	if f := cmd.Flag("file"); f != nil {
		path = f.Value.String()
	}
	f, _ := fleet.Load(path)
	return f
}

func matching(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// ApplicationNames, SiteNames and MirrorSetNames are the fleet's names of each kind.
func ApplicationNames(f *fleet.Fleet) []string {
	var out []string
	for _, a := range f.Applications {
		out = append(out, a.Name)
	}
	return out
}

func SiteNames(f *fleet.Fleet) []string {
	var out []string
	for _, s := range f.Sites {
		out = append(out, s.Name)
	}
	return out
}

func MirrorSetNames(f *fleet.Fleet) []string {
	var out []string
	for _, m := range f.MirrorSets {
		out = append(out, m.Name)
	}
	return out
}

// MemberNames are the members of the mirror set named set.
func MemberNames(f *fleet.Fleet, set string) []string {
	var out []string
	if m := f.MirrorSet(set); m != nil {
		for _, mem := range m.Spec.Members {
			out = append(out, mem.Name)
		}
	}
	return out
}

// complete completes the n-th argument (counting from 0) with names.
func complete(n int, names func(*fleet.Fleet, []string) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) != n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f := fleetOf(cmd)
		if f == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return matching(names(f, args), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteApplications completes a command's APP argument.
var CompleteApplications = complete(0, func(f *fleet.Fleet, _ []string) []string { return ApplicationNames(f) })

// CompleteMirrorSets completes a command's SET argument.
var CompleteMirrorSets = complete(0, func(f *fleet.Fleet, _ []string) []string { return MirrorSetNames(f) })

// CompleteMirrorSetMember completes SET, then MEMBER of that set.
func CompleteMirrorSetMember(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return CompleteMirrorSets(cmd, args, toComplete)
	case 1:
		return complete(1, func(f *fleet.Fleet, args []string) []string { return MemberNames(f, args[0]) })(cmd, args, toComplete)
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// CompleteSiteFlag makes flag name (--to, --site, …) complete the fleet's sites.
func CompleteSiteFlag(cmd *cobra.Command, name string) {
	_ = cmd.RegisterFlagCompletionFunc(name, func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		f := fleetOf(cmd)
		if f == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return matching(SiteNames(f), toComplete), cobra.ShellCompDirectiveNoFileComp
	})
}

// completeOutput completes -o with its formats.
func completeOutput(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return matching([]string{FormatText, FormatJSON, FormatYAML, FormatJSONPath + "="}, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
