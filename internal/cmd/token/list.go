package token

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/cli"
)

func listCommand() *cobra.Command {
	var (
		c      conn
		output cli.Output
	)
	cmd := &cobra.Command{
		Use:   "list [-o FORMAT]",
		Short: "List the API tokens: name, roles, when and by whom each was created",
		Long: `List the API tokens kept in etcd: name, roles, when and by which token each was
created (never a secret or its hash), and the bootstrap token of the PKI directory.

-o json|yaml prints a document of kind APITokenList; its items are the stored tokens
(the bootstrap token, which is a file and not stored, is left out).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ts, err := first(cmd.Context(), &c, func(ctx context.Context, cl *api.Client) ([]apitoken.Token, error) {
				return cl.Tokens(ctx)
			})
			if err != nil {
				return fmt.Errorf("list tokens: %w", err)
			}
			if ts == nil {
				ts = []apitoken.Token{}
			}
			return output.Print(cmd.OutOrStdout(), ListKind, ts, func(w io.Writer) error {
				Render(w, ts)
				return nil
			})
		},
	}
	c.flags(cmd.Flags())
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}

// Render writes the tokens as a table, the bootstrap token first.
func Render(w io.Writer, ts []apitoken.Token) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLES\tCREATED\tBY")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", apitoken.Bootstrap, apitoken.JoinRoles(apitoken.BootstrapRoles), "-", "the PKI's api-token file")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, apitoken.JoinRoles(t.Roles), t.Created.UTC().Format(time.RFC3339), t.CreatedBy)
	}
	tw.Flush()
}
