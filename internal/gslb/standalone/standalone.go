// Package standalone runs probes and the DNS server together in one process, without
// the control plane: observations go to an in-process tracker whose verdicts feed an
// in-memory state store that the server answers from. `hadron dns serve` runs it.
package standalone

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/gslb/dnsserver"
	"hadron.dev/hadron/internal/probe"
)

// Observer is one vantage point probed from this process.
type Observer struct {
	// Name identifies the observer in votes; Region picks the addresses it probes.
	Name, Region string
}

// Options configure a standalone node.
type Options struct {
	Fleet  *fleet.Fleet
	Listen string
	// Observers all run here and are the only voters; default one observer "local"
	// that probes the sites' plain addresses.
	Observers []Observer
	RRL       dnsserver.RateLimit
	// StatusTXT serves the _status.<main name> TXT records (gslb.WithStatusTXT).
	StatusTXT bool
	RootCAs   *x509.CertPool
	Log       *slog.Logger
}

// Node is a running standalone node.
type Node struct {
	Server  *dnsserver.Server
	Engine  *dnsserver.Engine
	Store   *gslb.MemStore
	Tracker *probe.Tracker
	runners []*probe.Runner
	log     *slog.Logger
}

// New compiles the fleet's zones, binds the server and prepares the probes.
func New(o Options) (*Node, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if len(o.Observers) == 0 {
		o.Observers = []Observer{{Name: "local"}}
	}
	var copts []gslb.CompileOption
	if o.StatusTXT {
		copts = append(copts, gslb.WithStatusTXT())
	}
	cat, err := gslb.Compile(o.Fleet, copts...)
	if err != nil {
		return nil, fmt.Errorf("compile zones: %w", err)
	}
	// The SOA serial is this base plus the state version: starting from the clock keeps
	// it increasing across restarts.
	cat.SerialBase = uint32(time.Now().Unix())
	eng, err := dnsserver.NewEngine(cat)
	if err != nil {
		return nil, err
	}
	n := &Node{Engine: eng, Store: gslb.NewMemStore(), log: o.Log}
	n.Tracker = &probe.Tracker{OnChange: func(app, site string, v probe.Verdict) {
		o.Log.Info("site verdict", "app", app, "site", site, "verdict", v)
		n.Store.SetHealth(app, site, v)
	}}
	names := make([]string, 0, len(o.Observers))
	for _, ob := range o.Observers {
		names = append(names, ob.Name)
	}
	for _, a := range o.Fleet.Applications {
		n.Tracker.Watch(a.Name, names, probe.AppSites(a), probe.SettingsOf(a.Spec.Health))
	}
	for _, ob := range o.Observers {
		targets, err := probe.Targets(o.Fleet, ob.Region, probe.CheckerOptions{RootCAs: o.RootCAs})
		if err != nil {
			return nil, err
		}
		n.runners = append(n.runners, &probe.Runner{Observer: ob.Name, Targets: targets, Record: n.Tracker.Record,
			Log: o.Log.With("observer", ob.Name)})
	}
	n.Server, err = dnsserver.Listen(dnsserver.Config{Addr: o.Listen, Engine: eng, Log: o.Log, RRL: o.RRL})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Run probes and serves until ctx ends.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range n.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := n.Engine.Follow(ctx, n.Store, n.log); err != nil {
			n.log.Error("state follower stopped", "err", err)
		}
	}()
	n.log.Info("serving DNS", "addr", n.Server.Addr())
	err := n.Server.Serve(ctx)
	cancel()
	wg.Wait()
	return err
}
