// Package runbook is `hadron switchover`, `hadron failover` and `hadron history`: the
// operator's side of the runbooks that the leader daemon executes.
package runbook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/fleet"
)

// conn is how the commands reach the daemons.
type conn struct {
	file, pkiDir, tokenFile, region string
	timeout                         time.Duration // each request
}

func (c *conn) flags(fl *pflag.FlagSet) {
	cli.FileFlag(fl, &c.file)
	cli.PKIFlag(fl, &c.pkiDir)
	fl.StringVar(&c.tokenFile, "token-file", "", "file with the API bearer token (default PKI/api-token)")
	cli.RegionFlag(fl, &c.region)
	cli.RequestTimeoutFlag(fl, &c.timeout)
}

// load reads the fleet; app, when not "", must be one of its applications (a usage
// error otherwise, found before any credential is read).
func (c *conn) load(app string) (*fleet.Fleet, error) {
	f, err := cli.LoadFleet(c.file)
	if err != nil {
		return nil, err
	}
	if app != "" && f.Application(app) == nil {
		return nil, cli.Usagef("no application %q in %s (it has %s)", app, c.file, list(cli.ApplicationNames(f)))
	}
	return f, nil
}

// site checks that the fleet has the site a flag names.
func site(f *fleet.Fleet, flag, name string) (*v1alpha1.Site, error) {
	s := f.Site(name)
	if s == nil {
		return nil, cli.Usagef("%s %s: no such site in the fleet (it has %s)", flag, name, list(cli.SiteNames(f)))
	}
	return s, nil
}

// dial reads the API credentials and returns a client per daemon of the fleet, in the
// fleet's order.
func (c *conn) dial(f *fleet.Fleet) ([]*api.Client, error) {
	token, tlsCfg, err := coord.PKI{Dir: c.pkiDir}.APICredentials(c.tokenFile)
	if err != nil {
		return nil, err
	}
	var out []*api.Client
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			out = append(out, &api.Client{Addr: s.Spec.Daemon.API.From(c.region), Token: token, TLS: tlsCfg})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the fleet has no daemons")
	}
	return out, nil
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

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	out := names[0]
	for _, n := range names[1:] {
		out += ", " + n
	}
	return out
}
