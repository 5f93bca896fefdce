// Package labworld holds the lab's operator commands: up, down, status, link, fail,
// restore, apply, and the supervisor role that `up` starts in the background.
package labworld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hadron.dev/hadron/lab/internal/topology"
	"hadron.dev/hadron/lab/internal/world"
)

type dirFlag struct{ dir string }

func (d *dirFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.dir, "dir", world.DefaultDir(), "the lab's state directory ($"+world.EnvDir+")")
}

func (d *dirFlag) get() world.Dir {
	abs, err := filepath.Abs(d.dir)
	if err != nil {
		return world.Dir(d.dir)
	}
	return world.Dir(abs)
}

// UpCommand is `hadron-lab up`.
func UpCommand() *cobra.Command {
	var (
		df      dirFlag
		config  string
		timeout time.Duration
		daemons bool
		dnsMode string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a lab world: sites with real control planes, links, databases, the demo application",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := topology.Load(config)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("daemons") {
				cfg.Daemons = &daemons
			}
			if cmd.Flags().Changed("dns") {
				cfg.DNS = dnsMode
				if err := cfg.Validate(); err != nil {
					return err
				}
			}
			dir := df.get()
			if pid := dir.SupervisorPID(); pid != 0 {
				return fmt.Errorf("a lab is already running in %s (supervisor pid %d): see `hadron lab status`, or stop it with `hadron lab down`", dir, pid)
			}
			bins, err := findBinaries(cfg)
			if err != nil {
				return err
			}
			if err := checkPorts(cfg); err != nil {
				return err
			}
			if err := os.MkdirAll(string(dir), 0o755); err != nil {
				return fmt.Errorf("lab dir: %w", err)
			}
			b, err := topologyYAML(cfg)
			if err != nil {
				return err
			}
			if err := os.WriteFile(dir.Config(), b, 0o644); err != nil {
				return fmt.Errorf("lab config: %w", err)
			}
			if err := spawnSupervisor(dir, bins); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return follow(ctx, cmd.OutOrStdout(), dir)
		},
	}
	df.add(cmd)
	cmd.Flags().StringVar(&config, "config", "", "lab.yaml describing the sites (default: east, west and a witness)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the lab to be ready")
	cmd.Flags().StringVar(&dnsMode, "dns", "", "who answers the demo's names for clients: hadron (its own name servers), bind (a company BIND 9 the leader updates by RFC 2136) or external-dns (the same BIND written by external-dns from DNSEndpoints); default the config's, else hadron")
	cmd.Flags().BoolVar(&daemons, "daemons", true, "run `hadron serve` at every site (etcd across regions, probes, DNS, replication, runbooks); --daemons=false for the sites alone")
	return cmd
}

type binaries struct{ lab, demo, hadron string }

// findBinaries locates hadron-lab itself and hadron-demo (beside it, else on PATH).
func findBinaries(cfg topology.Config) (binaries, error) {
	self, err := os.Executable()
	if err != nil {
		return binaries{}, fmt.Errorf("find hadron-lab: %w", err)
	}
	b := binaries{lab: self}
	find := func(name string) (string, error) {
		beside := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("%s not found beside %s or on PATH: build it with `make build`", name, self)
	}
	if cfg.DemoEnabled() {
		if b.demo, err = find("hadron-demo"); err != nil {
			return b, err
		}
	}
	if cfg.DaemonsEnabled() {
		if b.hadron, err = find("hadron"); err != nil {
			return b, err
		}
	}
	return b, nil
}

// checkPorts fails with the first address the world needs that is already taken.
func checkPorts(cfg topology.Config) error {
	type want struct{ addr, what string }
	var ws []want
	for _, s := range cfg.Indexed() {
		if s.Workload() {
			ws = append(ws, want{s.APIServer(), "kube-apiserver of " + s.Name}, want{s.Ingress(), "load balancer of " + s.Name})
			if cfg.DemoEnabled() {
				ws = append(ws, want{s.Demo(), "demo application of " + s.Name})
			}
		}
	}
	for _, m := range cfg.Members() {
		if m.Pod {
			continue // its address is the pod gateway's, on a bridge not made yet
		}
		ws = append(ws, want{m.Address, "PostgreSQL member " + m.Name})
	}
	if cfg.DaemonsEnabled() {
		for _, s := range cfg.Indexed() {
			ws = append(ws, want{s.DaemonAPI(), "hadron daemon API of " + s.Name}, want{s.EtcdPeer(), "hadron daemon etcd peer of " + s.Name}, want{s.DNS(), "hadron daemon DNS of " + s.Name})
		}
	}
	ps, err := cfg.Proxies()
	if err != nil {
		return err
	}
	for _, p := range ps {
		ws = append(ws, want{p.Listen, "link proxy " + p.Name})
	}
	for _, w := range ws {
		ln, err := net.Listen("tcp", w.addr)
		if err != nil {
			return fmt.Errorf("address %s (%s) is in use or unusable: %w — is another lab or server running? (`hadron lab down`)", w.addr, w.what, errors.Unwrap(err))
		}
		ln.Close()
	}
	return nil
}

// spawnSupervisor starts `hadron-lab supervise` in its own session, detached.
func spawnSupervisor(dir world.Dir, b binaries) error {
	logf, err := os.OpenFile(dir.Log(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("supervisor log: %w", err)
	}
	defer logf.Close()
	args := []string{"supervise", "--dir", string(dir)}
	if b.demo != "" {
		args = append(args, "--demo-binary", b.demo)
	}
	if b.hadron != "" {
		args = append(args, "--hadron-binary", b.hadron)
	}
	cmd := exec.Command(b.lab, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	return cmd.Process.Release()
}

// follow prints the world's progress until it is ready or failed.
func follow(ctx context.Context, out io.Writer, dir world.Dir) error {
	c := world.NewClient(dir)
	seen := 0
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab not ready after %s: see %s (`hadron lab down` stops what started)", time.Since(start).Round(time.Second), dir.Log())
		case <-tick.C:
		}
		st, err := c.Status(ctx)
		if err != nil {
			if dir.SupervisorPID() == 0 && time.Since(start) > 3*time.Second {
				return fmt.Errorf("the lab supervisor exited: see %s", dir.Log())
			}
			continue
		}
		for _, e := range st.Events[seen:] {
			fmt.Fprintf(out, "[%6.1fs] %s\n", e.At.Sub(st.StartedAt).Seconds(), e.Msg)
		}
		seen = len(st.Events)
		switch st.Phase {
		case world.PhaseReady:
			fmt.Fprintf(out, "\nlab ready: kubeconfig %s\n           fleet      %s\n", st.Kubeconfig, st.Fleet)
			return nil
		case world.PhaseFailed, world.PhaseStopping:
			return fmt.Errorf("lab failed: %s (log: %s; the lab stops what it started)", st.Error, dir.Log())
		}
	}
}
