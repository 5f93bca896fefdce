package cli

import (
	"errors"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/fleet"
)

// ErrNoDaemons says the fleet names no site that runs a daemon.
var ErrNoDaemons = errors.New("the fleet has no daemons")

// DaemonClients returns a client for each daemon of the fleet, in the fleet's order,
// each reached at its API address as seen from region, calling with the credentials of
// the PKI directory (the token from tokenFile when set). Every command that asks the
// daemons starts here, so they all find the daemons and their credentials alike.
func DaemonClients(f *fleet.Fleet, pkiDir, tokenFile, region string) ([]*api.Client, error) {
	token, tlsCfg, err := coord.PKI{Dir: pkiDir}.APICredentials(tokenFile)
	if err != nil {
		return nil, err
	}
	var out []*api.Client
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			out = append(out, &api.Client{Addr: s.Spec.Daemon.API.From(region), Site: s.Name, Token: token, TLS: tlsCfg})
		}
	}
	if len(out) == 0 {
		return nil, ErrNoDaemons
	}
	return out, nil
}
