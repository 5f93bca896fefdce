// Package runbook is `hadron switchover`, `hadron failover` and `hadron history`: the
// operator's side of the runbooks that the leader daemon executes.
package runbook

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/fleet"
)

// conn is how the commands reach the daemons.
type conn struct {
	file, pkiDir, tokenFile, region string
	timeout                         time.Duration // each request
	// leaderWait bounds how long a request only the leader serves waits for the
	// leadership to settle (0: api.DefaultLeaderWait).
	leaderWait time.Duration
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
	return cli.DaemonClients(f, c.pkiDir, c.tokenFile, c.region)
}

// first calls fn on each daemon until one answers without a transport error or a
// refusal that another daemon may not give (409: not the leader); while the
// leadership moves and every daemon refuses, it asks again, the named leader first,
// until ctx ends or c.leaderWait (api.First) passes.
func first[T any](ctx context.Context, c *conn, clients []*api.Client, fn func(context.Context, *api.Client) (T, error)) (T, error) {
	return api.First(ctx, clients, c.timeout, c.leaderWait, fn)
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
