// Package runbook is `hadron switchover`, `hadron failover` and `hadron history`: the
// operator's side of the runbooks that the leader daemon executes.
package runbook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/fleet"
)

// conn is how the commands reach the daemons.
type conn struct {
	file, pkiDir, tokenFile, region string
	timeout                         time.Duration
}

func (c *conn) flags(fl *pflag.FlagSet) {
	fl.StringVarP(&c.file, "file", "f", fleet.DefaultPath(), "fleet file or directory")
	fl.StringVar(&c.pkiDir, "pki", coord.DefaultPKIDir(), "directory with ca.crt and api-token ($"+coord.EnvPKI+")")
	fl.StringVar(&c.tokenFile, "token-file", "", "file with the API bearer token (default PKI/api-token)")
	fl.StringVar(&c.region, "region", "", "region this command runs in, to pick the daemons' addresses")
	fl.DurationVar(&c.timeout, "timeout", 5*time.Second, "time to wait for each daemon's answer")
}

// clients returns a client per daemon of the fleet, in the fleet's order.
func (c *conn) clients() (*fleet.Fleet, []*api.Client, error) {
	f, err := fleet.Load(c.file)
	if err != nil {
		return nil, nil, err
	}
	token, tlsCfg, err := coord.PKI{Dir: c.pkiDir}.APICredentials(c.tokenFile)
	if err != nil {
		return nil, nil, err
	}
	var out []*api.Client
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			out = append(out, &api.Client{Addr: s.Spec.Daemon.API.From(c.region), Token: token, TLS: tlsCfg})
		}
	}
	if len(out) == 0 {
		return nil, nil, errors.New("the fleet has no daemons")
	}
	return f, out, nil
}

// first calls fn on each daemon until one answers without a transport error or a
// refusal that another daemon may not give (409: not the leader).
func first[T any](ctx context.Context, c *conn, clients []*api.Client, fn func(context.Context, *api.Client) (T, error)) (T, error) {
	var errs []error
	for _, cl := range clients {
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		v, err := fn(actx, cl)
		cancel()
		if err == nil {
			return v, nil
		}
		var se *api.StatusError
		if errors.Is(err, api.ErrUnauthorized) || (errors.As(err, &se) && se.Code != 409 && se.Code < 500) {
			return v, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", cl.Addr, err))
	}
	var zero T
	return zero, fmt.Errorf("no daemon could answer: %w", errors.Join(errs...))
}
