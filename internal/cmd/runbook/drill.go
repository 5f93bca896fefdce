package runbook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
	"hadron.dev/hadron/internal/runreport"
)

// DrillKind is the kind of drill's document (-o json|yaml).
const DrillKind = "DrillReport"

// drillDoc is drill's document: the drills that finished, their statistics, and the
// failed one with what it measured.
type drillDoc struct {
	Drills []drill.Report `json:"drills"`
	Stats  *drill.Stats   `json:"stats,omitempty"`
	Failed *drill.Report  `json:"failed,omitempty"`
	Error  string         `json:"error,omitempty"`
	// Broken are the promises of zero loss a drill broke.
	Broken []string `json:"broken,omitempty"`
}

// Drill is `hadron drill APP`.
func Drill() *cobra.Command {
	var (
		c        conn
		cfg      drill.Config
		url      string
		output   cli.Output
		dnsAddrs []string
		repeat   int
		report   string
		svg      string
	)
	cmd := &cobra.Command{
		Use:   "drill APP (--fault CMD [--repair CMD] [--failback] | --trigger switchover) [--report FILE.html] [--report-svg FILE.svg] [-o FORMAT]",
		Short: "Inject a fault under write load and report the measured RTO and RPO (and fail back)",
		Long: `drill writes to APP through its main name as a client would (resolving at the hadron
name servers, asked in turn, and keeping each answer for its TTL), runs --fault, waits for the failover
the daemons run (--trigger auto), or asks for one (failover: forced, as a person would),
or asks for a planned switchover without a fault (switchover), and reports:

  system RTO   fault → the main name answers the new site and verification passed
  client RTO   fault → the client's first accepted write
  RPO          acknowledged writes missing afterwards (by sequence number), and the
               loss the data driver measured from positions

--repair runs afterwards; --failback then moves the application home under the same
load and measures that move (it should lose nothing). --repeat N runs N drills (each
needs --failback to come home) and prints p50 and max.

Exit status 1 when a drill failed, or lost acknowledged writes or transactions where
zero loss was promised: a switchover or failback always, a failover within a region
when the application's policy.rpo is 0s. -o json|yaml prints one document of kind
DrillReport (the progress goes to stderr). --report FILE.html writes a self-contained
page for people (the timeline as a picture: fault, detection, each step, the DNS move,
the first accepted write; the figures; the settings) and the timeline alone as SVG
beside it (or at --report-svg), also when the drill failed.`,
		Example: `  hadron drill shop --fault 'hadron lab fail site east' --repair 'hadron lab restore site east' --failback
  hadron drill shop --trigger switchover --to west`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cli.CompleteApplications,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg.App = args[0]
			if err := checkDrill(cfg, repeat); err != nil {
				return err
			}
			f, err := c.load(cfg.App)
			if err != nil {
				return err
			}
			if cfg.To != "" {
				if _, err := site(f, "--to", cfg.To); err != nil {
					return err
				}
			}
			if f.Application(cfg.App).Spec.DNS == nil {
				return cli.Usagef("application %s has no DNS name to write through", cfg.App)
			}
			clients, err := c.dial(f)
			if err != nil {
				return err
			}
			if err := c.fillDrill(ctx, f, clients, &cfg, dnsAddrs, url); err != nil {
				return err
			}
			from, to := cfg.From, cfg.To // a repeated switchover swaps them after each drill
			c.leaderWait = cfg.Timeout
			cfg.API = &daemons{c: &c, clients: clients}
			cfg.Progress = cmd.ErrOrStderr()
			reports := []drill.Report{}
			var failed *drill.Report
			var runErr error
			for i := range max(repeat, 1) {
				if repeat > 1 {
					fmt.Fprintf(cmd.ErrOrStderr(), "— drill %d of %d\n", i+1, repeat)
				}
				rep, err := drill.Run(ctx, cfg)
				if rep != nil && output.Text() {
					rep.Print(cmd.OutOrStdout())
				}
				if err != nil {
					runErr, failed = err, rep
					break
				}
				reports = append(reports, *rep)
				if cfg.Trigger == drill.TriggerSwitchover {
					cfg.From, cfg.To = cfg.To, cfg.From // the next one moves it back
				}
			}
			// The drills that finished are reported even when a later one failed; the
			// failed one only with what it measured, and statistics only of drills.
			doc := drillDoc{Drills: reports, Failed: failed, Broken: Broken(f.Application(cfg.App), regionOf(f), reports)}
			if len(reports) > 0 {
				st := drill.Summarize(reports)
				doc.Stats = &st
			}
			if runErr != nil {
				doc.Error = runErr.Error()
			}
			if report != "" || svg != "" {
				st := runreport.Settings{Trigger: cfg.Trigger, Fault: cfg.Fault, Repair: cfg.Repair, From: from, To: to,
					URL: cfg.URL, DNS: dnsAddrs, Rate: cfg.Rate, Warmup: cfg.Warmup, Timeout: cfg.Timeout, Failback: cfg.Failback, Repeat: repeat}
				if len(dnsAddrs) == 0 && cfg.Resolver != nil {
					st.DNS = cfg.Resolver.Servers
				}
				page := runreport.Drill(cfg.App, reports, failed, doc.Stats, doc.Broken, doc.Error, st, time.Now())
				if err := writeReport(report, svg, page); err != nil {
					return err
				}
			}
			if err := output.Print(cmd.OutOrStdout(), DrillKind, doc, func(w io.Writer) error {
				if len(reports) > 1 {
					doc.Stats.Print(w)
				}
				for _, b := range doc.Broken {
					fmt.Fprintf(w, "BROKEN PROMISE: %s\n", b)
				}
				return nil
			}); err != nil {
				return err
			}
			if runErr == nil && len(doc.Broken) > 0 {
				runErr = fmt.Errorf("the drill lost data where none may be lost: %s", strings.Join(doc.Broken, "; "))
			}
			return runErr
		},
	}
	c.flags(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&cfg.Fault, "fault", "", "shell command that injects the fault (e.g. 'hadron lab fail site east')")
	fl.StringVar(&cfg.Repair, "repair", "", "shell command that repairs it after the failover")
	fl.StringVar(&cfg.Trigger, "trigger", drill.TriggerAuto, "auto (wait for the daemons' automatic failover), failover (ask for a forced one) or switchover (planned, no fault)")
	fl.StringVar(&cfg.To, "to", "", "site to move to (default: the first other site of the policy)")
	cli.CompleteSiteFlag(cmd, "to")
	fl.BoolVar(&cfg.Failback, "failback", false, "after --repair, fail back home under load and measure it")
	fl.Float64Var(&cfg.Rate, "rate", 50, "writes per second through the main name")
	fl.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "writes before the fault")
	cli.TimeoutFlag(fl, &cfg.Timeout, 3*time.Minute, "how long to wait for each run to close, and for the client to recover, before giving up")
	cli.Alias(fl, "wait", "timeout")
	fl.StringSliceVar(&dnsAddrs, "dns", nil, "name servers the client resolves at, asked in turn (default: every daemon's, those outside the active site first)")
	fl.StringVar(&url, "url", "", "the application's URL through its main name (default http://NAME:PORT of the policy)")
	cli.OutputFlag(fl, &output)
	fl.IntVar(&repeat, "repeat", 1, "drills to run, with statistics")
	fl.StringVar(&report, "report", "", "also write a self-contained HTML report (timeline, figures, settings) to this file, and its timeline as SVG beside it (FILE.svg)")
	fl.StringVar(&svg, "report-svg", "", "write the timeline picture as SVG to this file (default with --report: beside it)")
	return cmd
}

// writeReport writes the drill's HTML report and its timeline picture: the SVG goes
// to svg, or beside the HTML (drill.html → drill.svg) when only --report is given.
func writeReport(html, svg string, page runreport.Page) error {
	if html != "" {
		var b bytes.Buffer
		if err := runreport.Write(&b, page); err != nil {
			return err
		}
		if err := os.WriteFile(html, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		if svg == "" {
			svg = strings.TrimSuffix(html, filepath.Ext(html)) + ".svg"
		}
	}
	if pic := runreport.SVG(page); pic != "" {
		if err := os.WriteFile(svg, []byte(pic), 0o644); err != nil {
			return fmt.Errorf("writing the timeline: %w", err)
		}
	}
	return nil
}

// checkDrill refuses a drill the command line cannot run, before anything is read.
func checkDrill(cfg drill.Config, repeat int) error {
	switch cfg.Trigger {
	case drill.TriggerAuto, drill.TriggerFailover, drill.TriggerSwitchover:
	default:
		return cli.Usagef("--trigger %q: want auto, failover or switchover", cfg.Trigger)
	}
	if cfg.Trigger != drill.TriggerSwitchover && cfg.Fault == "" {
		return cli.Usagef("--fault CMD is required with --trigger %s", cfg.Trigger)
	}
	if repeat > 1 && !cfg.Failback && cfg.Trigger != drill.TriggerSwitchover {
		return cli.Usagef("--repeat %d needs --failback: each drill starts from home", repeat)
	}
	return nil
}

// Broken says which drills lost acknowledged writes or counted transactions where
// zero loss was promised: planned moves (switchover, failback) always promise it; a
// failover when the application's policy.rpo is 0s and it stays in the region (the
// promise of a synchronous in-region member: a DR member in another region is
// asynchronous). region names each site's region.
func Broken(app *v1alpha1.Application, region func(site string) string, reports []drill.Report) []string {
	zeroRPO := app != nil && app.Spec.Policy.RPO != nil && app.Spec.Policy.RPO.Duration == 0
	synchronous := app != nil && app.Spec.Policy.DataLoss != nil && app.Spec.Policy.DataLoss.Mode == v1alpha1.DataLossSynchronous
	var out []string
	check := func(p *drill.Phase) {
		if p == nil {
			return
		}
		inRegion := region(p.From) != "" && region(p.From) == region(p.To)
		if p.Kind == runbook.Failover && !inRegion && synchronous {
			// Mode synchronous promises no acknowledged write lost with a region; the
			// commits that waited for the DR member and were never acknowledged are
			// counted as transactions, and are no broken promise.
			if len(p.Lost) > 0 {
				out = append(out, fmt.Sprintf("%s %s → %s lost %d acknowledged writes (data-loss mode synchronous loses none with a region)", p.Kind, p.From, p.To, len(p.Lost)))
			}
			return
		}
		promised := p.Kind != runbook.Failover || (zeroRPO && inRegion)
		if !promised || (len(p.Lost) == 0 && p.RPOTransactions <= 0) {
			return
		}
		what := fmt.Sprintf("%d acknowledged writes", len(p.Lost))
		if p.RPOTransactions > 0 {
			what += fmt.Sprintf(", %d transactions", p.RPOTransactions)
		}
		why := "a planned move loses nothing"
		if p.Kind == runbook.Failover {
			why = "the policy promises RPO 0 in the region"
		}
		out = append(out, fmt.Sprintf("%s %s → %s lost %s (%s)", p.Kind, p.From, p.To, what, why))
	}
	for i := range reports {
		check(reports[i].Drill)
		check(reports[i].Failback)
	}
	return out
}

// fillDrill completes cfg from the fleet and the daemons: the active site, the target,
// the main name's URL and the zone's name servers, the ones outside the site that
// will fail first.
func (c *conn) fillDrill(ctx context.Context, f *fleet.Fleet, clients []*api.Client, cfg *drill.Config, dnsAddrs []string, url string) error {
	app := f.Application(cfg.App)
	st, err := first(ctx, c, clients, func(ctx context.Context, cl *api.Client) (api.Status, error) { return cl.Status(ctx) })
	if err != nil {
		return err
	}
	cfg.From = app.Spec.Policy.ActiveSite
	for _, a := range st.Apps {
		if a.Name == cfg.App && a.Active != "" {
			cfg.From = a.Active
		}
	}
	if cfg.To == "" {
		for _, s := range append([]string{app.Spec.Policy.ActiveSite}, app.Spec.Policy.StandbySites...) {
			if s != cfg.From {
				cfg.To = s
				break
			}
		}
	}
	if cfg.To == "" || cfg.To == cfg.From {
		return fmt.Errorf("no site to move %s to from %s", cfg.App, cfg.From)
	}
	if url == "" {
		port, err := lbPort(f.Site(cfg.From))
		if err != nil {
			return err
		}
		url = "http://" + net.JoinHostPort(app.Spec.DNS.Name, port)
	}
	cfg.URL = url
	if len(dnsAddrs) == 0 {
		dnsAddrs = nameServers(f, cfg.From, c.region)
	}
	if len(dnsAddrs) == 0 {
		return fmt.Errorf("no daemon serves DNS (spec.daemon.dns): give --dns")
	}
	cfg.Resolver = &drill.Resolver{Servers: dnsAddrs}
	return nil
}

// regionOf names each site's region in the fleet.
func regionOf(f *fleet.Fleet) func(string) string {
	return func(name string) string {
		if s := f.Site(name); s != nil {
			return s.Spec.Region
		}
		return ""
	}
}

// nameServers are the daemons' name servers as region reaches them: those outside
// active first, as a client far from the failing region would list them.
func nameServers(f *fleet.Fleet, active, region string) []string {
	var outside, inside []string
	for _, s := range f.Sites {
		if s.Spec.Daemon == nil || s.Spec.Daemon.DNS == nil {
			continue
		}
		if s.Name == active {
			inside = append(inside, s.Spec.Daemon.DNS.From(region))
		} else {
			outside = append(outside, s.Spec.Daemon.DNS.From(region))
		}
	}
	return append(outside, inside...)
}

func lbPort(s *v1alpha1.Site) (string, error) {
	if s == nil || len(s.Spec.LoadBalancers) == 0 {
		return "", fmt.Errorf("the active site has no load balancer: give --url")
	}
	_, port, err := net.SplitHostPort(s.Spec.LoadBalancers[0].Address)
	if err != nil {
		return "", fmt.Errorf("site %s load balancer: %w", s.Name, err)
	}
	return port, nil
}

// daemons is the drill's view of the daemons: each call goes to the first that answers.
type daemons struct {
	c       *conn
	clients []*api.Client
}

func (d *daemons) StartRun(ctx context.Context, req api.RunRequest) (*runbook.Record, error) {
	return first(ctx, d.c, d.clients, func(ctx context.Context, cl *api.Client) (*runbook.Record, error) { return cl.StartRun(ctx, req) })
}

func (d *daemons) History(ctx context.Context, app string) ([]runbook.Record, error) {
	return first(ctx, d.c, d.clients, func(ctx context.Context, cl *api.Client) ([]runbook.Record, error) { return cl.History(ctx, app) })
}

func (d *daemons) Status(ctx context.Context) (api.Status, error) {
	return first(ctx, d.c, d.clients, func(ctx context.Context, cl *api.Client) (api.Status, error) { return cl.Status(ctx) })
}
