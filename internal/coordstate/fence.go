package coordstate

import (
	"context"
	"maps"
	"sync"

	"hadron.dev/hadron/internal/gslb"
	"hadron.dev/hadron/internal/probe"
)

// FenceState is the self-fencing decision applied to answers: a daemon cut off from the
// etcd majority treats its own site as down for every application, so the main name
// stops answering it (the per-site name still does). The version is doubled plus one
// bit so that fencing and unfencing each make a new version.
func FenceState(st gslb.State, site string, fenced bool) gslb.State {
	out := gslb.State{Version: st.Version * 2, Apps: st.Apps}
	if !fenced {
		return out
	}
	out.Version++
	out.Apps = make(map[string]gslb.AppState, len(st.Apps))
	for name, a := range st.Apps {
		h := maps.Clone(a.Health)
		if h == nil {
			h = map[string]probe.Verdict{}
		}
		h[site] = probe.Down
		if othersDown(h, site) {
			// With every site down the main name falls back to the active one — this
			// site, typically, since a pilot-light stand-by is down until it takes over.
			// A fenced daemon's view of the other sites is stale anyway: call them
			// unknown, so that the answer moves off the fenced site.
			for s := range h {
				if s != site {
					h[s] = probe.Unknown
				}
			}
		}
		out.Apps[name] = gslb.AppState{Active: a.Active, Health: h}
	}
	return out
}

// othersDown says whether h has a site other than site and every such one is down.
func othersDown(h map[string]probe.Verdict, site string) bool {
	others := false
	for s, v := range h {
		if s == site {
			continue
		}
		if v != probe.Down {
			return false
		}
		others = true
	}
	return others
}

// Fence is a gslb.Store that answers from an inner store with FenceState applied for
// the local site.
type Fence struct {
	Inner gslb.Store
	Site  string
	// Apps names every application, so that an application with no state in etcd yet is
	// fenced too.
	Apps []string

	mu     sync.Mutex
	fenced bool
	inner  gslb.State
	// have says the inner store has sent a state: until then watchers hear nothing.
	have     bool
	watchers map[chan gslb.State]struct{}
}

// NewFence starts fenced: a daemon vouches for its site only once it reaches a majority.
func NewFence(inner gslb.Store, site string, apps []string) *Fence {
	return &Fence{Inner: inner, Site: site, Apps: apps, fenced: true, watchers: map[chan gslb.State]struct{}{}}
}

// SetFenced switches self-fencing on or off.
func (f *Fence) SetFenced(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fenced == on {
		return
	}
	f.fenced = on
	f.broadcast()
}

// Fenced reports whether the site is fenced now.
func (f *Fence) Fenced() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fenced
}

func (f *Fence) state() gslb.State {
	st := f.inner
	if f.fenced {
		apps := maps.Clone(st.Apps)
		if apps == nil {
			apps = map[string]gslb.AppState{}
		}
		for _, a := range f.Apps {
			if _, ok := apps[a]; !ok {
				apps[a] = gslb.AppState{}
			}
		}
		st.Apps = apps
	}
	return FenceState(st, f.Site, f.fenced)
}

func (f *Fence) broadcast() {
	if !f.have {
		return
	}
	st := f.state()
	for ch := range f.watchers {
		select {
		case <-ch:
		default:
		}
		ch <- st
	}
}

// Current implements gslb.Store.
func (f *Fence) Current(context.Context) (gslb.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state(), nil
}

// Watch implements gslb.Store.
func (f *Fence) Watch(ctx context.Context) (<-chan gslb.State, error) {
	ch := make(chan gslb.State, 1)
	f.mu.Lock()
	if f.have {
		ch <- f.state()
	}
	f.watchers[ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.watchers, ch)
		f.mu.Unlock()
	}()
	return ch, nil
}

// Run follows the inner store until ctx ends.
func (f *Fence) Run(ctx context.Context) error {
	ch, err := f.Inner.Watch(ctx)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case st := <-ch:
			f.mu.Lock()
			f.inner, f.have = st, true
			f.broadcast()
			f.mu.Unlock()
		}
	}
}
