package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/internal/cli"
	"hadron.dev/hadron/internal/daemon"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/fleetsource"
	"hadron.dev/hadron/internal/fleetsync"
	"hadron.dev/hadron/internal/site"
)

// clusterConfig is the client configuration of the daemon's own cluster: the
// kubeconfig given, else the pod's service account.
func clusterConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, &cli.UsageError{Err: fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)}
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, cli.Usagef("--fleet-from-cluster outside a pod needs --kubeconfig")
	}
	if err != nil {
		return nil, fmt.Errorf("in-cluster credentials: %w", err)
	}
	// The daemon's own cluster goes through these credentials too (replication,
	// status, Events): the limits a Site's kubeconfig context gets.
	site.Tune(cfg)
	return cfg, nil
}

// readClusterFleet connects to the daemon's own cluster and reads the fleet from its
// custom resources. An invalid fleet is an error naming the object and field path
// (*fleet.Errors), reported on the object as an Event too.
func readClusterFleet(ctx context.Context, kubeconfig, here string, log *slog.Logger) (*fleetsource.Watcher, fleetsource.Snapshot, error) {
	cfg, err := clusterConfig(kubeconfig)
	if err != nil {
		return nil, fleetsource.Snapshot{}, err
	}
	conn, err := site.ConnectConfig(here, cfg)
	if err != nil {
		return nil, fleetsource.Snapshot{}, err
	}
	w := &fleetsource.Watcher{Conn: conn, Instance: here, Log: log.With("component", "fleet-source")}
	snap, err := w.Read(ctx)
	if err != nil {
		if _, problems := fleet.AsErrors(err); problems {
			return nil, fleetsource.Snapshot{}, fmt.Errorf("the fleet in the cluster is invalid:\n%w", err)
		}
		return nil, fleetsource.Snapshot{}, fmt.Errorf("reading the fleet from the cluster: %w", err)
	}
	return w, snap, nil
}

// runFollowing runs the daemon with the cluster's fleet and, each time a new valid
// fleet arrives, restarts it in this process: its Run context is cancelled, Run
// returns having released its listeners and etcd member, and a daemon built from the
// new fleet runs on the same data directory. A fleet that no longer gives this site a
// daemon is not applied; a daemon that cannot start with a new fleet runs the last one
// again.
//
// Meanwhile a fleetsync.Syncer keeps the cluster and the fleet published in etcd the
// same, with the running daemon's etcd client: a person's edit here is published
// before the daemon restarts with it, and a fleet published by another site is
// written into this cluster (which the watcher then hands on as any edit).
func runFollowing(ctx context.Context, o daemon.Options, w *fleetsource.Watcher, out io.Writer) error {
	log := o.Log
	syncer := &fleetsync.Syncer{Conn: w.Conn, Site: o.Site, Current: w.Current, Log: log.With("component", "fleet-sync")}
	var etcd atomic.Pointer[clientv3.Client]
	next := make(chan fleetsource.Snapshot, 1)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- w.Run(wctx, func(s fleetsource.Snapshot, c fleetsource.Change) {
			log.Info("the fleet in the cluster changed", "hash", s.Hash[:12],
				"added", c.Added, "removed", c.Removed, "changed", c.Changed)
			if ec := etcd.Load(); ec != nil {
				if err := syncer.Step(wctx, ec); err != nil {
					log.Warn("keeping the fleet the same in every site", "err", err)
				}
			}
			select { // the newest fleet wins over one not yet applied
			case <-next:
			default:
			}
			next <- s
		})
	}()
	good := o.Fleet
	for {
		d, err := daemon.New(o)
		if err != nil && o.Fleet != good {
			log.Error("the daemon cannot start with the new fleet: running the last one again", "err", err)
			o.Fleet = good
			d, err = daemon.New(o)
		}
		if err != nil {
			return err
		}
		good = o.Fleet
		fmt.Fprintf(out, "hadron daemon of %s: DNS %s, API https://%s\n", o.Site, d.DNSAddr(), d.APIAddr())
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		etcd.Store(d.Client())
		syncDone := make(chan struct{})
		go func() {
			defer close(syncDone)
			syncer.Run(runCtx, d.Client())
		}()
		go func() {
			err := d.Run(runCtx)
			etcd.CompareAndSwap(d.Client(), nil) // closed now
			done <- err
		}()
		var restart bool
		for !restart {
			select {
			case err := <-done:
				stop()
				return err
			case err := <-watchDone:
				stop()
				derr := <-done
				if ctx.Err() != nil || err == nil {
					return derr
				}
				return fmt.Errorf("following the cluster's fleet: %w", err)
			case s := <-next:
				if me := s.Fleet.Site(o.Site); me == nil || me.Spec.Daemon == nil {
					log.Error("the new fleet has no daemon at this site (spec.daemon): not applied", "site", o.Site)
					continue
				}
				log.Info("restarting the daemon with the new fleet")
				o.Fleet = s.Fleet
				restart = true
			}
		}
		stop()
		if err := <-done; err != nil {
			log.Warn("the daemon stopped with an error before its restart", "err", err)
		}
		<-syncDone
		if ctx.Err() != nil {
			return nil
		}
	}
}
