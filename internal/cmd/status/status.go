// Package status is `hadron status`: what a daemon knows of the fleet.
package status

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/fleet"
)

// Command returns `hadron status`.
func Command() *cobra.Command {
	var (
		file, pkiDir, tokenFile, daemonSite, region, output string
		timeout                                             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show sites' health as every observer sees it, quorum, leader, active sites and DNS answers",
		Long: `Show what a daemon knows: each site's health as every observer sees it and the
quorum's verdict, the etcd majority and the leader with its fencing token, each
application's active site, and what the daemon's name server answers for the main name.

The first daemon of the fleet that answers is asked (or --daemon SITE), at its API
address as seen from --region. Without an etcd majority the daemon says so:
"no quorum: decisions frozen".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %s: want text or json", output)
			}
			f, err := fleet.Load(file)
			if err != nil {
				return err
			}
			token, tlsCfg, err := coord.PKI{Dir: pkiDir}.APICredentials(tokenFile)
			if err != nil {
				return err
			}
			st, err := ask(cmd.Context(), f, daemonSite, region, token, tlsCfg, timeout)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			Render(cmd.OutOrStdout(), st)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", fleet.DefaultPath(), "fleet file or directory")
	fl.StringVar(&pkiDir, "pki", coord.DefaultPKIDir(), "directory with ca.crt and api-token ($"+coord.EnvPKI+")")
	fl.StringVar(&tokenFile, "token-file", "", "file with the API bearer token (default PKI/api-token)")
	fl.StringVar(&daemonSite, "daemon", "", "ask this site's daemon (default: the first that answers)")
	fl.StringVar(&region, "region", "", "region this command runs in, to pick the daemons' addresses (default: their own addresses)")
	fl.StringVarP(&output, "output", "o", "text", "output format: text or json")
	fl.DurationVar(&timeout, "timeout", 5*time.Second, "time to wait for each daemon")
	return cmd
}

// ask returns the status of the named daemon, or of the first daemon that answers.
func ask(ctx context.Context, f *fleet.Fleet, only, region, token string, tlsCfg *tls.Config, timeout time.Duration) (api.Status, error) {
	var errs []error
	for _, s := range f.Sites {
		if s.Spec.Daemon == nil || (only != "" && s.Name != only) {
			continue
		}
		c := &api.Client{Addr: s.Spec.Daemon.API.From(region), Token: token, TLS: tlsCfg}
		actx, cancel := context.WithTimeout(ctx, timeout)
		st, err := c.Status(actx)
		cancel()
		if err == nil {
			return st, nil
		}
		if errors.Is(err, api.ErrUnauthorized) {
			return api.Status{}, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
	}
	if len(errs) == 0 {
		return api.Status{}, fmt.Errorf("no daemon %q in the fleet", only)
	}
	return api.Status{}, fmt.Errorf("no daemon answered: %w", errors.Join(errs...))
}
