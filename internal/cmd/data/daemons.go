package data

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/fleet"
)

// One decider: when the fleet has daemons, they decide for its mirror sets — the
// leader under its fencing token, with every decision in the ledger. A data command
// that acts on a set (promote, monitor) first asks them, refuses while they run, and
// acts outside them only with --force.

// daemonFlags say how a data command reaches the daemons.
type daemonFlags struct {
	pkiDir, tokenFile string
	timeout           time.Duration
}

func (d *daemonFlags) add(fl *pflag.FlagSet) {
	cli.PKIFlag(fl, &d.pkiDir)
	fl.StringVar(&d.tokenFile, "token-file", "", "file with the daemons' API bearer token (default PKI/api-token)")
	cli.RequestTimeoutFlag(fl, &d.timeout)
	cli.Alias(fl, "daemon-timeout", "request-timeout")
}

// deciders is what the fleet's daemons said about who decides.
type deciders struct {
	// Daemons are the fleet's sites with a daemon; none means nobody else decides.
	Daemons []string
	// Answered is the daemon that answered ("" when none did), and Leader and Token the
	// leader it named ("" when there is none: no majority, or an election).
	Answered, Leader string
	Token            int64
	// Err is why no daemon answered.
	Err error
	// client is the daemon that answered, to record what is done outside them.
	client *api.Client
}

// ask asks the fleet's daemons, in the fleet's order, who leads. A fleet without
// daemons asks nothing.
func (d *daemonFlags) ask(ctx context.Context, f *fleet.Fleet, region string) deciders {
	var out deciders
	for _, s := range f.Sites {
		if s.Spec.Daemon != nil {
			out.Daemons = append(out.Daemons, s.Name)
		}
	}
	if len(out.Daemons) == 0 {
		return out
	}
	clients, err := cli.DaemonClients(f, d.pkiDir, d.tokenFile, region)
	if err != nil {
		out.Err = fmt.Errorf("no API credentials: %w", err)
		return out
	}
	var errs []error
	for _, c := range clients {
		actx, cancel := context.WithTimeout(ctx, d.timeout)
		st, err := c.Status(actx)
		cancel()
		if err == nil {
			out.Answered, out.Leader, out.Token, out.client = c.Site, st.Leader, st.LeaderToken, c
			return out
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.Site, err))
	}
	out.Err = errors.Join(errs...)
	return out
}

// managed says whether the daemons decide for the fleet's mirror sets.
func (d deciders) managed() bool { return len(d.Daemons) > 0 }

// leader names the leader as the daemons see it.
func (d deciders) leader() string {
	switch {
	case d.Answered == "":
		return "no daemon answered"
	case d.Leader == "":
		return fmt.Sprintf("no leader now, says the daemon at %s", d.Answered)
	}
	return fmt.Sprintf("leader %s@%d", d.Leader, d.Token)
}

// refusal is the error that stops a command acting on set while the daemons decide for
// it; nil when the fleet has no daemons.
func (d deciders) refusal(set string) error {
	switch {
	case !d.managed():
		return nil
	case d.Answered == "":
		return fmt.Errorf("mirror set %s is managed by the hadron daemons (%s), but none of them answered "+
			"(%s); they may be down or out of reach from here; use --force to act outside them "+
			"(what is done then cannot be recorded in the ledger)",
			set, strings.Join(d.Daemons, ", "), oneLine(d.Err))
	}
	return fmt.Errorf("mirror set %s is managed by the hadron daemons (%s); use --force to act outside them",
		set, d.leader())
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
