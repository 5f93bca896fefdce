package dns

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/dnsendpoint"
	"hadron.dev/hadron/internal/gslb/recordplan"
	"hadron.dev/hadron/internal/gslb/rfc2136"
	"hadron.dev/hadron/internal/site"
)

// EnvTSIGSecret carries the TSIG secret when no --tsig-secret-file is given.
const EnvTSIGSecret = "HADRON_TSIG_SECRET"

type syncOptions struct {
	file, provider, owner string
	dryRun                bool
	timeout               time.Duration
	// rfc2136
	server, zone, keyName, keyAlg, secretFile string
	// dnsendpoint
	site, namespace string
}

func syncCommand() *cobra.Command {
	var o syncOptions
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Write the application names to a DNS provider (RFC 2136 or external-dns DNSEndpoint)",
		Long: `Write the application names to a DNS provider, for zones that cannot be delegated to
hadron's own DNS server. The records are the answers of the fleet's policy (the
active site for failover names). A plan is computed first and printed; --dry-run
stops there. Records and objects carry the owner id; those of other owners and
records hadron did not write are never changed.

  hadron dns sync -f fleet.yaml --provider rfc2136 --server ns1:53 --zone example.com \
      --tsig-key hadron --tsig-secret-file key.b64
  hadron dns sync -f fleet.yaml --provider dnsendpoint --site east --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			return runSync(ctx, cmd.OutOrStdout(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.file, "file", "f", fleet.DefaultPath(), "fleet file or directory")
	fl.StringVar(&o.provider, "provider", "", "rfc2136 or dnsendpoint")
	fl.StringVar(&o.owner, "owner", "hadron", "owner id written beside every record (one per site)")
	fl.BoolVar(&o.dryRun, "dry-run", false, "print the plan, change nothing")
	fl.DurationVar(&o.timeout, "timeout", time.Minute, "give up after this long")
	fl.StringVar(&o.server, "server", "", "rfc2136: primary server host:port")
	fl.StringVar(&o.zone, "zone", "", "rfc2136: zone to update")
	fl.StringVar(&o.keyName, "tsig-key", "", "rfc2136: TSIG key name")
	fl.StringVar(&o.keyAlg, "tsig-algorithm", "hmac-sha256", "rfc2136: TSIG algorithm")
	fl.StringVar(&o.secretFile, "tsig-secret-file", "", "rfc2136: file with the base64 TSIG secret (default $"+EnvTSIGSecret+")")
	fl.StringVar(&o.site, "site", "", "dnsendpoint: fleet site whose cluster gets the objects")
	fl.StringVar(&o.namespace, "namespace", "", "dnsendpoint: namespace of the objects (default: each application's)")
	return cmd
}

func runSync(ctx context.Context, out io.Writer, o syncOptions) error {
	f, err := fleet.Load(o.file)
	if err != nil {
		return err
	}
	cat, err := gslb.Compile(f)
	if err != nil {
		return err
	}
	st := &gslb.State{Version: 1}
	switch o.provider {
	case "rfc2136":
		return syncRFC2136(ctx, out, o, cat, st)
	case "dnsendpoint":
		return syncDNSEndpoint(ctx, out, o, f, cat, st)
	}
	return fmt.Errorf("--provider %q: want rfc2136 or dnsendpoint", o.provider)
}

func syncRFC2136(ctx context.Context, out io.Writer, o syncOptions, cat *gslb.Catalog, st *gslb.State) error {
	secret := os.Getenv(EnvTSIGSecret)
	if o.secretFile != "" {
		b, err := os.ReadFile(o.secretFile)
		if err != nil {
			return fmt.Errorf("tsig secret: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	p, err := rfc2136.New(rfc2136.Config{Server: o.server, Zone: o.zone, KeyName: o.keyName, KeyAlgorithm: o.keyAlg, KeySecret: secret})
	if err != nil {
		return err
	}
	cur, err := p.Records(ctx)
	if err != nil {
		return err
	}
	plan := recordplan.Make(o.owner, cur, recordplan.Desired(cat, st, o.zone))
	fmt.Fprint(out, plan)
	if o.dryRun || plan.Empty() {
		return nil
	}
	if err := p.Apply(ctx, plan); err != nil {
		return err
	}
	fmt.Fprintf(out, "applied %d changes to %s\n", len(plan.Changes), o.zone)
	return nil
}

func syncDNSEndpoint(ctx context.Context, out io.Writer, o syncOptions, f *fleet.Fleet, cat *gslb.Catalog, st *gslb.State) error {
	s := f.Site(o.site)
	if s == nil {
		return fmt.Errorf("--site %q: no such site in the fleet", o.site)
	}
	conn, err := site.Connect(s, f.Dir)
	if err != nil {
		return err
	}
	// Desired objects per namespace: one DNSEndpoint per application.
	byNS := map[string]map[string][]recordplan.Record{}
	for _, a := range cat.Apps {
		ns := o.namespace
		if ns == "" {
			ns = f.Application(a.Name).Spec.Namespace
		}
		if byNS[ns] == nil {
			byNS[ns] = map[string][]recordplan.Record{}
		}
		byNS[ns][dnsendpoint.ObjectName(a.Name)] = recordplan.AppRecords(cat, st, a)
	}
	namespaces := make([]string, 0, len(byNS))
	for ns := range byNS {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		p := &dnsendpoint.Provider{Client: conn.Dynamic, Namespace: ns}
		cur, err := p.Objects(ctx)
		if err != nil {
			return err
		}
		plan := dnsendpoint.MakePlan(o.owner, ns, cur, byNS[ns])
		fmt.Fprint(out, plan)
		if o.dryRun || plan.Empty() {
			continue
		}
		if err := p.Apply(ctx, plan); err != nil {
			return err
		}
	}
	return nil
}
