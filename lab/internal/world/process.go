package world

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"hadron.dev/hadron/internal/pgserver"
	"hadron.dev/hadron/lab/internal/nodes"
	"hadron.dev/hadron/lab/internal/realnode"
	"hadron.dev/hadron/lab/internal/topology"
)

// More fault kinds: a process crashes and its supervisor brings it back; a site's
// daemon stops until restored.
const (
	FaultProcess = "process"
	FaultDaemon  = "daemon"
)

// DefaultRestartDelay is how long a killed process stays down before the lab's
// supervisor starts it again, about what a kubelet's first crash back-off costs.
const DefaultRestartDelay = 5 * time.Second

// processNames are the names `fail process` takes: every database member, every
// daemon (hadron-SITE) and every demo application instance (demo-SITE).
func (w *World) processNames() []string {
	var out []string
	if w.db != nil {
		for _, m := range w.db.set.Spec.Members {
			out = append(out, m.Name)
		}
	}
	for _, s := range w.cfg.Indexed() {
		if w.daemons != nil {
			out = append(out, "hadron-"+s.Name)
		}
		if s.Workload() && w.db != nil {
			out = append(out, "demo-"+s.Name)
		}
	}
	return out
}

// KillProcess crashes one process with SIGKILL, as the kernel's OOM killer or a node's
// crash would, and starts it again after delay, as Kubernetes restarts a container:
// a database member comes back through the data driver's Resume (a member that was
// primary and lost its place is rewound and follows), a daemon and a demo instance
// start again with their state kept. The restart runs in the background; the kill is
// done when this returns. A member in a pod is the exception: its postmaster is killed
// in the container, and the kubelet, not the lab, starts the container again.
func (w *World) KillProcess(ctx context.Context, name string, delay time.Duration) error {
	if delay <= 0 {
		delay = DefaultRestartDelay
	}
	if !slices.Contains(w.processNames(), name) {
		return fmt.Errorf("fail process %s: %w (processes: %s)", name, ErrNotFound, strings.Join(w.processNames(), ", "))
	}
	if w.db != nil {
		for _, m := range w.db.set.Spec.Members {
			if m.Name != name {
				continue
			}
			if w.siteDown(m.Site) {
				return fmt.Errorf("fail process %s: site %s is down", name, m.Site)
			}
			if m.Pod != nil {
				return w.killMemberContainer(ctx, m.Name)
			}
			if err := pgserver.Kill(ctx, m.DataDir); err != nil {
				return fmt.Errorf("fail process %s: %w", name, err)
			}
			w.event("process %s killed (SIGKILL); restart in %s", name, delay)
			w.restartLater(name, delay, func(ctx context.Context) error {
				if w.siteDown(m.Site) || w.db.isStopped(m.Name) {
					return nil // a later fault owns it now; its restore starts it
				}
				return w.db.drv.Resume(ctx, m.Name)
			})
			return nil
		}
	}
	site, isDaemon := strings.CutPrefix(name, "hadron-")
	var p *proc
	if isDaemon {
		p = w.daemons.procOf(site)
	} else if s, ok := w.sites[strings.TrimPrefix(name, "demo-")]; ok {
		site, p = s.top.Name, s.demo
	}
	if w.siteDown(site) {
		return fmt.Errorf("fail process %s: site %s is down", name, site)
	}
	if p == nil || !p.running() {
		return fmt.Errorf("fail process %s: not running", name)
	}
	if err := p.kill(ctx); err != nil {
		return fmt.Errorf("fail process %s: %w", name, err)
	}
	w.event("process %s killed (SIGKILL); restart in %s", name, delay)
	w.restartLater(name, delay, func(context.Context) error {
		if w.siteDown(site) || (isDaemon && w.daemons.isStopped(site)) {
			return nil
		}
		return p.start()
	})
	return nil
}

// restartLater runs start after delay, retrying for a minute: a member whose crashed
// backends still hold its shared memory refuses to start for a moment.
func (w *World) restartLater(name string, delay time.Duration, start func(context.Context) error) {
	go func() {
		time.Sleep(delay)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for {
			err := start(ctx)
			if err == nil {
				w.event("process %s restarted", name)
				return
			}
			if ctx.Err() != nil {
				w.event("process %s not restarted: %v", name, err)
				return
			}
			w.log.Warn("restart after kill", "proc", name, "err", err)
			time.Sleep(time.Second)
		}
	}()
}

func (w *World) siteDown(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.sites[name]
	return ok && s.failed
}

// failDaemon stops a site's daemon as a crash would (no resignation); restoreDaemon
// starts it again.
func (w *World) failDaemon(ctx context.Context, site string, fail bool) error {
	verb := map[bool]string{true: "fail", false: "restore"}[fail]
	if w.daemons == nil {
		return fmt.Errorf("%s daemon %s: the lab runs no daemons", verb, site)
	}
	if w.cfg.DaemonPods {
		return fmt.Errorf("%s daemon %s: the daemons run as pods (daemonPods): fail the node it runs on, or kubectl delete its pod", verb, site)
	}
	s, ok := w.sites[site]
	if !ok {
		return fmt.Errorf("%s daemon %s: %w (sites: %v)", verb, site, ErrNotFound, w.siteNames())
	}
	if s.failed {
		return fmt.Errorf("%s daemon %s: site %s is down", verb, site, site)
	}
	if fail {
		w.daemons.setStopped(site, true)
		if err := w.daemons.StopSite(ctx, site, 0); err != nil {
			return fmt.Errorf("fail daemon %s: %w", site, err)
		}
		w.event("daemon of site %s failed (killed)", site)
		return nil
	}
	w.daemons.setStopped(site, false)
	if err := w.daemons.StartSite(site); err != nil {
		return fmt.Errorf("restore daemon %s: %w", site, err)
	}
	w.event("daemon of site %s restored", site)
	return nil
}

// Drain cordons a node and evicts its pods honouring PodDisruptionBudgets.
func (w *World) Drain(ctx context.Context, node string, timeout time.Duration) (nodes.DrainResult, error) {
	s, err := w.siteOfNode(ctx, node)
	if err != nil {
		return nodes.DrainResult{}, fmt.Errorf("drain node %s: %w", node, err)
	}
	res, err := nodes.Drain(ctx, s.client, node, timeout)
	if err != nil {
		return res, err
	}
	w.event("node %s (site %s) drained: %d evicted, %d blocked by a disruption budget", node, s.top.Name, len(res.Evicted), len(res.Blocked))
	return res, nil
}

// kill sends SIGKILL to the process group and waits until it is gone.
func (p *proc) kill(ctx context.Context) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
		return fmt.Errorf("kill %s: process did not exit after SIGKILL", p.name)
	}
}

// killMemberContainer crashes the PostgreSQL server of a member in a pod: SIGKILL to
// the postmaster, the child of the container's first process (`hadron data
// member-start`), which then exits; the kubelet starts the container again, as it
// would after any crash, and its start step readies the data directory again.
func (w *World) killMemberContainer(ctx context.Context, member string) error {
	if w.db.pods == nil {
		return fmt.Errorf("fail process %s: the members' pods are not started", member)
	}
	pod, err := w.db.pods.pod(ctx, member)
	if err != nil {
		return fmt.Errorf("fail process %s: %w", member, err)
	}
	_, rn := w.realNodeNamed(pod.Spec.NodeName)
	if rn == nil || rn.stopped {
		return fmt.Errorf("fail process %s: pod %s is on no running real node (%q)", member, pod.Name, pod.Spec.NodeName)
	}
	init, err := rn.node.ContainerPID(ctx, topology.DemoNamespace, pod.Name, memberContainer)
	if err != nil {
		return fmt.Errorf("fail process %s: %w", member, err)
	}
	pids := realnode.Children(init)
	if len(pids) != 1 {
		return fmt.Errorf("fail process %s: the container's process %d has children %v, want the postmaster alone", member, init, pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		return fmt.Errorf("fail process %s: kill %d: %w", member, pids[0], err)
	}
	w.event("process %s killed (SIGKILL to the postmaster, pid %d, in pod %s on %s); the kubelet restarts its container", member, pids[0], pod.Name, pod.Spec.NodeName)
	return nil
}
