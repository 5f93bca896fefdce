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

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/dnsendpoint"
	"hadron.dev/hadron/internal/gslb/provider"
	"hadron.dev/hadron/internal/gslb/recordplan"
	"hadron.dev/hadron/internal/gslb/rfc2136"
	"hadron.dev/hadron/internal/site"
)

// EnvTSIGSecret carries the TSIG secret when no --tsig-secret-file is given.
const EnvTSIGSecret = "HADRON_TSIG_SECRET"

// SyncKind is the kind of sync's document (-o json|yaml).
const SyncKind = "DNSSync"

type syncOptions struct {
	file, provider, owner string
	dryRun                bool
	timeout               time.Duration
	output                cli.Output
	// rfc2136
	server, zone, keyName, keyAlg, secretFile string
	// dnsendpoint
	site, namespace string
	// a DNSProvider of the fleet: the region its addresses are seen from
	region string
}

func syncCommand() *cobra.Command {
	var o syncOptions
	cmd := &cobra.Command{
		Use:   "sync --provider rfc2136|dnsendpoint|NAME [-f FILE] [--dry-run] [-o FORMAT]",
		Short: "Write the application names to a DNS provider (RFC 2136 or external-dns DNSEndpoint)",
		Long: `Write the application names to a DNS provider, for zones that cannot be delegated to
hadron's own DNS server. The records are the answers of the fleet's policy (the
active site for failover names). A plan is computed first and printed; --dry-run
stops there. Records and objects carry the owner id; those of other owners and
records hadron did not write are never changed. -o json|yaml prints a document of
kind DNSSync: each plan's changes and conflicts, and whether it was applied.

  hadron dns sync -f fleet.yaml --provider rfc2136 --server ns1:53 --zone example.com \
      --tsig-key hadron --tsig-secret-file key.b64
  hadron dns sync -f fleet.yaml --provider dnsendpoint --site east --dry-run
  hadron dns sync -f fleet.yaml --provider corp     # a DNSProvider of the fleet

A DNSProvider of the fleet is written by the daemons' leader after every change; a
sync by hand writes the policy's answers (no failover state) without the leader's
fence, so a provider a leader already fenced refuses nothing of it: use --dry-run to
compare.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			text := io.Discard
			if o.output.Text() {
				text = cmd.OutOrStdout()
			}
			doc := &syncDoc{Provider: o.provider, DryRun: o.dryRun, Plans: []provider.Plan{}}
			err := runSync(ctx, text, o, doc)
			if !o.output.Text() && len(doc.Plans) > 0 {
				if perr := o.output.Print(cmd.OutOrStdout(), SyncKind, doc, nil); perr != nil && err == nil {
					err = perr
				}
			}
			return err
		},
	}
	fl := cmd.Flags()
	cli.FileFlag(fl, &o.file)
	fl.StringVar(&o.provider, "provider", "", "rfc2136 or dnsendpoint (required)")
	fl.StringVar(&o.owner, "owner", "hadron", "owner id written beside every record (one per site)")
	cli.DryRunFlag(fl, &o.dryRun, "print the plan from the records there now, change nothing")
	cli.TimeoutFlag(fl, &o.timeout, time.Minute, "")
	cli.OutputFlag(fl, &o.output)
	fl.StringVar(&o.server, "server", "", "rfc2136: primary server host:port")
	fl.StringVar(&o.zone, "zone", "", "rfc2136: zone to update")
	fl.StringVar(&o.keyName, "tsig-key", "", "rfc2136: TSIG key name")
	fl.StringVar(&o.keyAlg, "tsig-algorithm", "hmac-sha256", "rfc2136: TSIG algorithm")
	fl.StringVar(&o.secretFile, "tsig-secret-file", "", "rfc2136: file with the base64 TSIG secret (default $"+EnvTSIGSecret+")")
	fl.StringVar(&o.site, "site", "", "dnsendpoint: fleet site whose cluster gets the objects")
	cli.CompleteSiteFlag(cmd, "site")
	fl.StringVar(&o.namespace, "namespace", "", "dnsendpoint: namespace of the objects (default: each application's)")
	cli.RegionFlag(fl, &o.region)
	return cmd
}

// check refuses a command line that cannot sync, before anything is read.
func (o *syncOptions) check() error {
	switch o.provider {
	case "rfc2136":
		var missing []string
		for _, f := range []struct{ name, v string }{{"--server", o.server}, {"--zone", o.zone}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return cli.Usagef("--provider rfc2136 needs %s", strings.Join(missing, " and "))
		}
	case "dnsendpoint":
		if o.site == "" {
			return cli.Usagef("--provider dnsendpoint needs --site")
		}
	case "":
		return cli.Usagef("--provider is required: rfc2136, dnsendpoint or the name of a DNSProvider of the fleet")
	}
	return nil
}

// syncDoc is the document of `hadron dns sync` (kind DNSSync).
type syncDoc struct {
	Provider string          `json:"provider"`
	DryRun   bool            `json:"dryRun"`
	Plans    []provider.Plan `json:"plans"`
}

func runSync(ctx context.Context, out io.Writer, o syncOptions, doc *syncDoc) error {
	f, err := cli.LoadFleet(o.file)
	if err != nil {
		return err
	}
	cat, err := gslb.Compile(f)
	if err != nil {
		return err
	}
	st := &gslb.State{Version: 1}
	switch o.provider {
	case "rfc2136", "dnsendpoint":
	default:
		return syncNamed(ctx, out, o, f, cat, st, doc)
	}
	if o.provider == "rfc2136" {
		return syncRFC2136(ctx, out, o, cat, st, doc)
	}
	return syncDNSEndpoint(ctx, out, o, f, cat, st, doc)
}

func syncRFC2136(ctx context.Context, out io.Writer, o syncOptions, cat *gslb.Catalog, st *gslb.State, doc *syncDoc) error {
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
	doc.Plans = append(doc.Plans, provider.RecordPlan(o.zone, plan))
	if o.dryRun || plan.Empty() {
		return nil
	}
	if err := p.Apply(ctx, plan); err != nil {
		return err
	}
	doc.Plans[len(doc.Plans)-1].Applied = true
	fmt.Fprintf(out, "applied %d changes to %s\n", len(plan.Changes), o.zone)
	return nil
}

func syncDNSEndpoint(ctx context.Context, out io.Writer, o syncOptions, f *fleet.Fleet, cat *gslb.Catalog, st *gslb.State, doc *syncDoc) error {
	s := f.Site(o.site)
	if s == nil {
		return cli.Usagef("--site %q: no such site in %s", o.site, o.file)
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
		doc.Plans = append(doc.Plans, provider.EndpointPlan("", plan))
		if o.dryRun || plan.Empty() {
			continue
		}
		if err := p.Apply(ctx, plan); err != nil {
			return err
		}
		doc.Plans[len(doc.Plans)-1].Applied = true
	}
	return nil
}

// syncNamed syncs a DNSProvider of the fleet with the policy's answers.
func syncNamed(ctx context.Context, out io.Writer, o syncOptions, f *fleet.Fleet, cat *gslb.Catalog, st *gslb.State, doc *syncDoc) error {
	d := f.DNSProvider(o.provider)
	if d == nil {
		defined := "none defined"
		if len(f.DNSProviders) > 0 {
			var names []string
			for _, p := range f.DNSProviders {
				names = append(names, p.Name)
			}
			defined = "defined: " + strings.Join(names, ", ")
		}
		return cli.Usagef("--provider %q: want rfc2136, dnsendpoint or a DNSProvider of the fleet (%s)", o.provider, defined)
	}
	p, err := provider.One(ctx, f, cat, d, o.region)
	if err != nil {
		return err
	}
	res, err := p.Sync(ctx, st, 0, o.dryRun)
	for _, pl := range res.Plans {
		fmt.Fprint(out, pl.Text)
		doc.Plans = append(doc.Plans, pl)
	}
	doc.Provider = d.Name
	return err
}
