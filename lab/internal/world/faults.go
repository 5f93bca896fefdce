package world

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/lab/internal/nodes"
	"hadron.dev/hadron/lab/internal/topology"
)

// Fault kinds `hadron lab fail` and `restore` take.
const (
	FaultNode = "node"
	FaultZone = "zone"
	FaultSite = "site"
)

// ErrNotFound is returned for a node, zone or site the lab does not have.
var ErrNotFound = errors.New("not found")

// Fail injects a fault; Restore undoes it.
func (w *World) Fail(ctx context.Context, kind, name string) error {
	return w.fault(ctx, kind, name, true)
}

// Restore undoes a fault.
func (w *World) Restore(ctx context.Context, kind, name string) error {
	return w.fault(ctx, kind, name, false)
}

func (w *World) fault(ctx context.Context, kind, name string, fail bool) error {
	verb := map[bool]string{true: "fail", false: "restore"}[fail]
	switch kind {
	case FaultSite:
		s, ok := w.sites[name]
		if !ok {
			return fmt.Errorf("%s site %s: %w (sites: %v)", verb, name, ErrNotFound, w.siteNames())
		}
		if fail {
			return w.failSite(ctx, s)
		}
		return w.restoreSite(ctx, s)
	case FaultZone:
		s := w.siteOfZone(name)
		if s == nil {
			return fmt.Errorf("%s zone %s: %w", verb, name, ErrNotFound)
		}
		if s.client == nil || s.failed {
			return fmt.Errorf("%s zone %s: site %s is down", verb, name, s.top.Name)
		}
		if fail {
			err := nodes.FailZone(ctx, s.client, name)
			var members []string
			if w.db != nil {
				members = w.db.stopZone(ctx, name)
			}
			real := w.failZoneNodes(ctx, s, name)
			w.event("zone %s (site %s) failed: its nodes stop (real nodes %v), database members %v stopped", name, s.top.Name, real, members)
			return err
		}
		err := errors.Join(nodes.RestoreZone(ctx, s.client, name), w.restoreZoneNodes(ctx, s, name))
		if w.db != nil {
			err = errors.Join(err, w.db.startZone(ctx, name))
		}
		w.event("zone %s (site %s) restored", name, s.top.Name)
		return err
	case FaultNode:
		if s, rn := w.realNodeNamed(name); rn != nil {
			return w.faultRealNode(ctx, s, rn, fail)
		}
		s, err := w.siteOfNode(ctx, name)
		if err != nil {
			return fmt.Errorf("%s node %s: %w", verb, name, err)
		}
		if fail {
			err = nodes.FailNode(ctx, s.client, name)
			w.event("node %s (site %s) failed", name, s.top.Name)
			return err
		}
		// Restoring a node also ends a drain's cordon: the node is whole again.
		err = errors.Join(nodes.RestoreNode(ctx, s.client, name), nodes.Uncordon(ctx, s.client, name))
		w.event("node %s (site %s) restored", name, s.top.Name)
		return err
	case FaultDaemon:
		return w.failDaemon(ctx, name, fail)
	case FaultProcess:
		if !fail {
			return fmt.Errorf("restore process %s: a killed process is restarted by the lab on its own", name)
		}
		return w.KillProcess(ctx, name, 0)
	default:
		return fmt.Errorf("%s %s: kind must be node, zone, site, process or daemon", verb, kind)
	}
}

func (w *World) siteNames() []string {
	var out []string
	for _, s := range w.cfg.Sites {
		out = append(out, s.Name)
	}
	return out
}

func (w *World) siteOfZone(zone string) *site {
	for _, s := range w.sites {
		if s.top.Workload() && slices.Contains(s.top.Zones, zone) {
			return s
		}
	}
	return nil
}

func (w *World) siteOfNode(ctx context.Context, name string) (*site, error) {
	for _, s := range w.sites {
		if s.client == nil || s.failed {
			continue
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := s.client.CoreV1().Nodes().Get(c, name, metav1.GetOptions{})
		cancel()
		if err == nil {
			return s, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("site %s: %w", s.top.Name, err)
		}
	}
	return nil, ErrNotFound
}

// failSite stops every process of the site, as if the region went dark.
func (w *World) failSite(ctx context.Context, s *site) error {
	if s.failed {
		return fmt.Errorf("fail site %s: already failed", s.top.Name)
	}
	s.failed = true
	w.stopSite(ctx, s, true)
	w.event("site %s failed: its processes are stopped", s.top.Name)
	return nil
}

// restoreSite starts the site's processes again with their state kept.
func (w *World) restoreSite(ctx context.Context, s *site) error {
	if !s.failed {
		return fmt.Errorf("restore site %s: not failed", s.top.Name)
	}
	if w.cfg.Clustered(s.top) {
		if err := w.startControlPlane(ctx, s); err != nil {
			return err
		}
		if err := w.startSiteNodes(ctx, s); err != nil {
			return err
		}
	}
	if s.top.Workload() {
		if w.db != nil {
			if err := w.db.startSite(ctx, s.top.Name); err != nil {
				return err
			}
			if err := w.startDemo(ctx, s); err != nil {
				return err
			}
			if err := w.startPods(ctx, s); err != nil {
				return err
			}
		}
	}
	if w.daemons != nil {
		if err := w.daemons.StartSite(s.top.Name); err != nil {
			return err
		}
	}
	if w.corp != nil && w.cfg.DNS == topology.DNSExternalDNS && s.top.Workload() {
		if err := w.corp.startExternalDNS(ctx, s.top.Name, w.opts.Dir.Site(s.top.Name), w.opts.HadronBinary, true); err != nil {
			return err
		}
	}
	s.failed = false
	w.event("site %s restored", s.top.Name)
	return nil
}
