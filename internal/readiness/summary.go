// Package readiness carries the leader's periodic readiness check of each
// application's stand-by sites (internal/replicate's CheckReadiness: parity, capacity,
// images, kinds, certificates) to every daemon: Summarize turns one check into the
// API's compact report, and Save and Load keep the newest report of each application
// in etcd, so that any daemon's status and dashboard show it, whichever leads.
package readiness

import (
	"sort"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/replicate"
)

// MaxOff is how many objects needing an action a report lists per site; the rest are
// counted. `hadron check parity` lists them all.
const MaxOff = 10

// Summarize is the report of one readiness check r of app's stand-bys against the
// active site, made by leader at at. A nil r with err is a check that could not be
// made.
func Summarize(leader, active string, r *replicate.Readiness, err error, at time.Time) api.Readiness {
	out := api.Readiness{At: at.UTC(), Leader: leader, Active: active}
	if err != nil || r == nil {
		if err != nil {
			out.Error = err.Error()
		} else {
			out.Error = "no result"
		}
		return out
	}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, api.ReadinessFinding{Check: f.Check, Site: f.Site, Level: string(f.Level),
			Message: f.Message, Action: f.Action})
	}
	bySite := map[string]*api.SiteParity{}
	for _, p := range r.Parity {
		sp := bySite[p.Site]
		if sp == nil {
			sp = &api.SiteParity{Site: p.Site, Counts: map[string]int{}}
			bySite[p.Site] = sp
		}
		sp.Counts[string(p.State)]++
		if p.OK() {
			continue
		}
		if len(sp.Off) < MaxOff {
			sp.Off = append(sp.Off, api.ParityLine{Object: p.Object, State: string(p.State), Reason: p.Reason})
		} else {
			sp.More++
		}
	}
	sites := make([]string, 0, len(bySite))
	for s := range bySite {
		sites = append(sites, s)
	}
	sort.Strings(sites)
	for _, s := range sites {
		out.Parity = append(out.Parity, *bySite[s])
	}
	return out
}
