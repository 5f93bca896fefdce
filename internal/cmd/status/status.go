// Package status is `hadron status`: what a daemon knows of the fleet.
package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
)

// Kind is the kind of status's document (-o json|yaml).
const Kind = "FleetStatus"

// Command returns `hadron status`.
func Command() *cobra.Command {
	var (
		file, pkiDir, tokenFile, daemonSite, region string
		output                                      cli.Output
		timeout, requestTimeout, interval           time.Duration
		watch                                       bool
	)
	cmd := &cobra.Command{
		Use:   "status [-f FILE] [--daemon SITE] [--watch] [-o FORMAT]",
		Short: "Show sites' health as every observer sees it, quorum, leader, active sites and DNS answers",
		Long: `Show what a daemon knows: each site's health as every observer sees it and the
quorum's verdict, the etcd majority and the leader with its fencing token, each
application's active site, its PostgreSQL mirror set, and what the daemon's name server
answers for the main name.

The first daemon of the fleet that answers is asked (or --daemon SITE), at its API
address as seen from --region. Without an etcd majority the daemon says so:
"no quorum: decisions frozen".

--watch asks again every --interval and redraws when the answer changes (times and
probe latencies aside) until interrupted; with -o json|yaml it prints a document each
time. -o json|yaml prints a document of kind FleetStatus.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := cli.LoadFleet(file)
			if err != nil {
				return err
			}
			if daemonSite != "" {
				s := f.Site(daemonSite)
				if s == nil || s.Spec.Daemon == nil {
					return cli.Usagef("--daemon %s: no site of %s runs a daemon by that name", daemonSite, file)
				}
			}
			if watch && interval <= 0 {
				return cli.Usagef("--interval %s: want a positive duration", interval)
			}
			clients, err := cli.DaemonClients(f, pkiDir, tokenFile, region)
			if err != nil {
				return err
			}
			poll := func(ctx context.Context) (api.Status, error) {
				ctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				return ask(ctx, clients, daemonSite, requestTimeout)
			}
			draw := func(w io.Writer, st api.Status) error {
				return output.Print(w, Kind, st, func(w io.Writer) error {
					Render(w, st)
					return nil
				})
			}
			if watch {
				ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				return Watch(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), interval, poll, draw, output.Text())
			}
			st, err := poll(cmd.Context())
			if err != nil {
				return err
			}
			return draw(cmd.OutOrStdout(), st)
		},
	}
	fl := cmd.Flags()
	cli.FileFlag(fl, &file)
	cli.PKIFlag(fl, &pkiDir)
	fl.StringVar(&tokenFile, "token-file", "", "file with the API bearer token (default PKI/api-token)")
	fl.StringVar(&daemonSite, "daemon", "", "ask this site's daemon (default: the first that answers)")
	cli.CompleteSiteFlag(cmd, "daemon")
	cli.RegionFlag(fl, &region)
	cli.OutputFlag(fl, &output)
	cli.TimeoutFlag(fl, &timeout, 30*time.Second, "give up on an answer after this long (on each one, with --watch)")
	cli.RequestTimeoutFlag(fl, &requestTimeout)
	fl.BoolVarP(&watch, "watch", "w", false, "ask again every --interval and redraw when the answer changes, until interrupted")
	fl.DurationVar(&interval, "interval", 2*time.Second, "with --watch: time between questions")
	return cmd
}

// ask returns the status of the named daemon, or of the first daemon that answers.
func ask(ctx context.Context, clients []*api.Client, only string, timeout time.Duration) (api.Status, error) {
	var errs []error
	for _, c := range clients {
		if only != "" && c.Site != only {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		st, err := c.Status(actx)
		cancel()
		if err == nil {
			return st, nil
		}
		if errors.Is(err, api.ErrUnauthorized) {
			return api.Status{}, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.Site, err))
	}
	return api.Status{}, fmt.Errorf("no daemon answered: %w", errors.Join(errs...))
}
