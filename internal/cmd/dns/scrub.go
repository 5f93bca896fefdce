package dns

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/dnsendpoint"
	"hadron.dev/hadron/internal/gslb/provider"
	"hadron.dev/hadron/internal/site"
)

// ScrubKind is the kind of scrub's document (-o json|yaml).
const ScrubKind = "DNSScrub"

type scrubOptions struct {
	file, provider, owner, site, namespace, region string
	dryRun                                         bool
	timeout                                        time.Duration
	output                                         cli.Output
}

func scrubCommand() *cobra.Command {
	var o scrubOptions
	cmd := &cobra.Command{
		Use:   "scrub --provider NAME|dnsendpoint --site SITE [-f FILE] [--dry-run] [-o FORMAT]",
		Short: "Take the main names out of a site's DNSEndpoints before its external-dns starts",
		Long: `Take the applications' main names out of the DNSEndpoint objects hadron wrote in a
site's cluster, and keep their per-site names. Run it before that site's external-dns
starts (its init container): a site that was lost comes back with the objects as the
leader last wrote them, which may name it active although the applications moved away
meanwhile, and its external-dns would move the names back. Scrubbed, the objects hold
only the site's own names until the leader writes the current answers again. The
site's daemon does the same when it loses the etcd majority. This needs external-dns
with --policy=upsert-only, which never deletes a record an object stopped naming.

  hadron dns scrub -f fleet.yaml --provider corp-external-dns --site east
  hadron dns scrub -f fleet.yaml --provider dnsendpoint --site east --owner hadron`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.provider == "":
				return cli.Usagef("--provider is required: dnsendpoint or the name of a DNSProvider of type dnsendpoint")
			case o.site == "":
				return cli.Usagef("--site is required: the site whose objects to scrub")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			text := io.Discard
			if o.output.Text() {
				text = cmd.OutOrStdout()
			}
			res, err := runScrub(ctx, o)
			for _, pl := range res.Plans {
				fmt.Fprint(text, pl.Text)
			}
			if !o.output.Text() && len(res.Plans) > 0 {
				if perr := o.output.Print(cmd.OutOrStdout(), ScrubKind, res, nil); perr != nil && err == nil {
					err = perr
				}
			}
			return err
		},
	}
	fl := cmd.Flags()
	cli.FileFlag(fl, &o.file)
	fl.StringVar(&o.provider, "provider", "", "a DNSProvider of the fleet of type dnsendpoint, or dnsendpoint (required)")
	fl.StringVar(&o.site, "site", "", "fleet site whose cluster's objects to scrub (required)")
	cli.CompleteSiteFlag(cmd, "site")
	fl.StringVar(&o.owner, "owner", "hadron", "--provider dnsendpoint: owner id of the objects")
	fl.StringVar(&o.namespace, "namespace", "", "--provider dnsendpoint: namespace of the objects (default: each application's)")
	cli.DryRunFlag(fl, &o.dryRun, "print what would be taken out, change nothing")
	cli.TimeoutFlag(fl, &o.timeout, time.Minute, "")
	cli.OutputFlag(fl, &o.output)
	cli.RegionFlag(fl, &o.region)
	return cmd
}

func runScrub(ctx context.Context, o scrubOptions) (provider.Result, error) {
	f, err := cli.LoadFleet(o.file)
	if err != nil {
		return provider.Result{}, err
	}
	s := f.Site(o.site)
	if s == nil {
		return provider.Result{}, cli.Usagef("--site %q: no such site in %s", o.site, o.file)
	}
	cat, err := gslb.Compile(f)
	if err != nil {
		return provider.Result{}, err
	}
	p, err := scrubProvider(ctx, o, f, cat, s)
	if err != nil {
		return provider.Result{}, err
	}
	return p.Scrub(ctx, o.site, o.dryRun)
}

// scrubProvider is the fleet's DNSProvider named by --provider, or one built from the
// flags for --provider dnsendpoint.
func scrubProvider(ctx context.Context, o scrubOptions, f *fleet.Fleet, cat *gslb.Catalog, s *v1alpha1.Site) (*provider.DNSEndpoint, error) {
	if o.provider != string(v1alpha1.DNSProviderDNSEndpoint) {
		d := f.DNSProvider(o.provider)
		if d == nil || d.Spec.Type != v1alpha1.DNSProviderDNSEndpoint {
			return nil, cli.Usagef("--provider %q: want dnsendpoint or a DNSProvider of the fleet of type dnsendpoint", o.provider)
		}
		p, err := provider.One(ctx, f, cat, d, o.region)
		if err != nil {
			return nil, err
		}
		return p.(*provider.DNSEndpoint), nil
	}
	conn, err := site.Connect(s, f.Dir)
	if err != nil {
		return nil, err
	}
	ns := map[string]string{}
	for _, a := range f.Applications {
		ns[a.Name] = a.Spec.Namespace
	}
	spec := v1alpha1.DNSProviderSpec{Type: v1alpha1.DNSProviderDNSEndpoint, Owner: o.owner,
		DNSEndpoint: &v1alpha1.DNSEndpointProvider{Namespace: o.namespace}}
	clusters := []provider.Cluster{{Site: s.Name, Endpoints: func(ns string) *dnsendpoint.Provider {
		return &dnsendpoint.Provider{Client: conn.Dynamic, Namespace: ns}
	}}}
	return provider.NewDNSEndpoint(string(v1alpha1.DNSProviderDNSEndpoint), spec, cat, ns, clusters, nil), nil
}
