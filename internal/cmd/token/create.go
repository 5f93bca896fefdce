package token

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/cli"
)

func createCommand() *cobra.Command {
	var (
		c          conn
		output     cli.Output
		roles      []string
		secretFile string
	)
	cmd := &cobra.Command{
		Use:   "create NAME --role ROLE [--role ROLE] [--secret-file FILE] [-o FORMAT]",
		Short: "Create an API token holding the roles given and print its secret, once",
		Long: `Create an API token NAME holding the roles given (read, operate, daemon, admin;
--role may repeat or list them with commas) and print its secret. No daemon keeps the
secret, only its SHA-256: this is the only time it is shown.

The secret is printed alone on stdout (so that "> FILE" keeps it), or written to
--secret-file FILE (mode 0600, which must not exist yet); callers give that file to
--token-file. NAME is lowercase letters, digits, '.', '_' and '-'; "bootstrap" is the
PKI's api-token. A name taken is refused: revoke it first to replace it.

-o json|yaml prints a document of kind APIToken: the token and its secret (unless
--secret-file has it).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := apitoken.CheckName(name); err != nil {
				return cli.Usagef("%w", err)
			}
			parsed, err := apitoken.ParseRoles(roles)
			if err != nil {
				return cli.Usagef("--role: %w", err)
			}
			if secretFile != "" {
				if _, err := os.Stat(secretFile); err == nil {
					return cli.Usagef("--secret-file %s exists: give a new file", secretFile)
				}
			}
			made, err := first(cmd.Context(), &c, func(ctx context.Context, cl *api.Client) (*api.CreatedToken, error) {
				return cl.CreateToken(ctx, api.TokenRequest{Name: name, Roles: parsed})
			})
			if err != nil {
				return fmt.Errorf("create token %s: %w", name, err)
			}
			if secretFile != "" {
				if err := writeSecret(secretFile, made.Secret); err != nil {
					return fmt.Errorf("token %s was created but its secret could not be written (revoke it and create it again): %w", name, err)
				}
				made.Secret = ""
			}
			about := fmt.Sprintf("token %s created with role %s", name, apitoken.JoinRoles(made.Token.Roles))
			return output.Print(cmd.OutOrStdout(), CreatedKind, made, func(w io.Writer) error {
				if secretFile != "" {
					fmt.Fprintf(w, "%s; its secret is in %s (give it to --token-file)\n", about, secretFile)
					return nil
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s; its secret follows, shown only now (give it to --token-file):\n", about)
				fmt.Fprintln(w, made.Secret)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&roles, "role", nil, "a role the token holds: read, operate, daemon or admin (repeat, or separate with commas)")
	_ = cmd.MarkFlagRequired("role")
	_ = cmd.RegisterFlagCompletionFunc("role", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, r := range apitoken.Roles {
			out = append(out, string(r))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	fl.StringVar(&secretFile, "secret-file", "", "write the secret to this new file (mode 0600) instead of stdout")
	c.flags(fl)
	cli.OutputFlag(fl, &output)
	return cmd
}

// writeSecret writes secret to a new file that only its owner reads.
func writeSecret(path, secret string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strings.TrimSpace(secret) + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
