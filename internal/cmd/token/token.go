// Package token is `hadron token create|list|revoke`: the named API tokens, each
// holding roles, that the daemons keep in etcd (hashed; a secret is shown once, when
// it is created). The commands go through a daemon's API with a token holding role
// admin — the PKI's api-token (the bootstrap token) is one — like every other
// command that asks the daemons.
package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
)

// Kinds of the documents printed with -o json|yaml.
const (
	CreatedKind = "APIToken"
	ListKind    = "APITokenList"
	RevokedKind = "APITokenRevocation"
)

// Command returns `hadron token`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke the daemons' API tokens (each named, with roles read, operate, daemon, admin)",
		Long: `Create, list and revoke the daemons' API tokens.

Every call to a daemon's API carries a bearer token; the token's roles say what it may
do, and its name is what the ledger records as who decided a run:

  read     status, history, runs, previews (--dry-run), and /metrics and /healthz
           when the daemons run with --probes-need-token
  operate  read, and switchover, failover, failback, resume, abort, drills, and
           recording an action taken outside the daemons (data promote --force)
  daemon   read; reserved for calls between daemons (they share everything through
           etcd today and call no peer route)
  admin    read, and token create, list and revoke

The PKI directory's api-token is the bootstrap token, named "bootstrap", with roles
operate, daemon and admin: it works before any token exists and creates the first
ones. Tokens are kept in etcd as the SHA-256 of their secret; a revoked token is
refused by every daemon as soon as its etcd watch sees the delete (milliseconds).`,
	}
	cmd.AddCommand(createCommand(), listCommand(), revokeCommand())
	return cmd
}

// conn is how the commands reach the daemons.
type conn struct {
	file, pkiDir, tokenFile, region string
	timeout                         time.Duration // each request
}

func (c *conn) flags(fl *pflag.FlagSet) {
	cli.FileFlag(fl, &c.file)
	cli.PKIFlag(fl, &c.pkiDir)
	fl.StringVar(&c.tokenFile, "token-file", "", "file with the API token to call with, holding role admin (default PKI/api-token)")
	cli.RegionFlag(fl, &c.region)
	cli.RequestTimeoutFlag(fl, &c.timeout)
}

// clients reads the fleet and the credentials and returns a client per daemon.
func (c *conn) clients() ([]*api.Client, error) {
	f, err := cli.LoadFleet(c.file)
	if err != nil {
		return nil, err
	}
	return cli.DaemonClients(f, c.pkiDir, c.tokenFile, c.region)
}

// first calls fn on each daemon, in the fleet's order, until one answers. Any daemon
// will do (tokens are not decisions of the leader); an answer of the daemon — a
// refusal, a name taken — is final, only a daemon that cannot answer (unreachable,
// 5xx, its tokens not loaded yet) passes the call to the next.
func first[T any](ctx context.Context, c *conn, fn func(context.Context, *api.Client) (T, error)) (T, error) {
	var zero T
	clients, err := c.clients()
	if err != nil {
		return zero, err
	}
	var errs []error
	for _, cl := range clients {
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		v, err := fn(actx, cl)
		cancel()
		if err == nil {
			return v, nil
		}
		var se *api.StatusError
		if errors.Is(err, api.ErrUnauthorized) || (errors.As(err, &se) && se.Code < 500) {
			return zero, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", cl.Addr, err))
	}
	return zero, fmt.Errorf("no daemon could answer: %w", errors.Join(errs...))
}
