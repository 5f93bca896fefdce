package token

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/cli"
)

func revokeCommand() *cobra.Command {
	var (
		c      conn
		output cli.Output
	)
	cmd := &cobra.Command{
		Use:   "revoke NAME [-o FORMAT]",
		Short: "Revoke an API token: every daemon refuses it within moments",
		Long: `Revoke the API token NAME: it is deleted from etcd, and every daemon refuses it as
soon as its watch of the tokens sees the delete (milliseconds on a healthy cluster; a
daemon cut off from the etcd majority learns it when it is reconnected, and meanwhile
leads nothing, so the token can only read from it).

The bootstrap token is the PKI directory's api-token file, not a stored token: to
change it, write a new secret into api-token in every site's bundle and restart the
daemons one at a time.

-o json|yaml prints a document of kind APITokenRevocation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if name == apitoken.Bootstrap {
				return cli.Usagef("%s is the PKI's api-token file, not a stored token: replace that file on every site and restart the daemons one at a time", name)
			}
			if _, err := first(cmd.Context(), &c, func(ctx context.Context, cl *api.Client) (struct{}, error) {
				return struct{}{}, cl.RevokeToken(ctx, name)
			}); err != nil {
				return fmt.Errorf("revoke token %s: %w", name, err)
			}
			doc := struct {
				Revoked string `json:"revoked"`
			}{name}
			return output.Print(cmd.OutOrStdout(), RevokedKind, doc, func(w io.Writer) error {
				fmt.Fprintf(w, "token %s revoked: every daemon refuses it once its watch sees the delete\n", name)
				return nil
			})
		},
	}
	c.flags(cmd.Flags())
	cli.OutputFlag(cmd.Flags(), &output)
	return cmd
}
