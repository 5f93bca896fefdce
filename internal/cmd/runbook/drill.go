package runbook

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/runbook"
)

// Drill is `hadron drill APP`.
func Drill() *cobra.Command {
	var (
		c           conn
		cfg         drill.Config
		output, url string
		dnsAddrs    []string
		repeat      int
	)
	cmd := &cobra.Command{
		Use:   "drill APP",
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
needs --failback to come home) and prints p50 and max.`,
		Example: `  hadron drill shop --fault 'hadron lab fail site east' --repair 'hadron lab restore site east' --failback
  hadron drill shop --trigger switchover --to west`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			f, clients, err := c.clients()
			if err != nil {
				return err
			}
			cfg.App = args[0]
			if err := c.fillDrill(ctx, f, clients, &cfg, dnsAddrs, url); err != nil {
				return err
			}
			if repeat > 1 && !cfg.Failback && cfg.Trigger != drill.TriggerSwitchover {
				return fmt.Errorf("--repeat %d needs --failback: each drill starts from home", repeat)
			}
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
				if rep != nil && output == "text" {
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
			if output == "json" {
				out := map[string]any{"drills": reports}
				if len(reports) > 0 {
					out["stats"] = drill.Summarize(reports)
				}
				if runErr != nil {
					out["error"] = runErr.Error()
				}
				if failed != nil {
					out["failed"] = failed
				}
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(out); err != nil {
					return err
				}
			} else if len(reports) > 1 {
				drill.Summarize(reports).Print(cmd.OutOrStdout())
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
	fl.BoolVar(&cfg.Failback, "failback", false, "after --repair, fail back home under load and measure it")
	fl.Float64Var(&cfg.Rate, "rate", 50, "writes per second through the main name")
	fl.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "writes before the fault")
	fl.DurationVar(&cfg.Timeout, "wait", 3*time.Minute, "how long to wait for a run to close, and for the client to recover")
	fl.StringSliceVar(&dnsAddrs, "dns", nil, "name servers the client resolves at, asked in turn (default: every daemon's, those outside the active site first)")
	fl.StringVar(&url, "url", "", "the application's URL through its main name (default http://NAME:PORT of the policy)")
	fl.StringVarP(&output, "output", "o", "text", "text or json")
	fl.IntVar(&repeat, "repeat", 1, "drills to run, with statistics")
	return cmd
}

// fillDrill completes cfg from the fleet and the daemons: the active site, the target,
// the main name's URL and the zone's name servers, the ones outside the site that
// will fail first.
func (c *conn) fillDrill(ctx context.Context, f *fleet.Fleet, clients []*api.Client, cfg *drill.Config, dnsAddrs []string, url string) error {
	app := f.Application(cfg.App)
	if app == nil {
		return fmt.Errorf("no application %q in the fleet", cfg.App)
	}
	switch cfg.Trigger {
	case drill.TriggerAuto, drill.TriggerFailover, drill.TriggerSwitchover:
	default:
		return fmt.Errorf("--trigger %q: want auto, failover or switchover", cfg.Trigger)
	}
	if cfg.Trigger != drill.TriggerSwitchover && cfg.Fault == "" {
		return fmt.Errorf("--fault is needed with --trigger %s", cfg.Trigger)
	}
	if app.Spec.DNS == nil {
		return fmt.Errorf("application %s has no DNS name to write through", cfg.App)
	}
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
