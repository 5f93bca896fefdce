package crstatus

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/probe"
)

// Reasons of a Site's conditions.
const (
	ReasonSiteUp     = "SiteUp"
	ReasonLeads      = "LeaderDaemon"
	ReasonNotProbed  = "NotProbed"
	ReasonAppsDown   = "ApplicationsDown"
	ReasonNoneDown   = "NoneDown"
	sitesNamedInNote = 3
)

// Site is the status of the site name as the quorum sees it: Ready when the
// applications probed there are up by quorum (False when every one of them is down:
// the region is lost), Degraded when some are down. A site nothing is probed at (a
// witness) is Ready only when its daemon leads, the one thing this status proves of
// it. Every cluster gets every Site's status, so the surviving region's `kubectl get
// sites` shows the lost one down.
func Site(name string, st api.Status) v1alpha1.SiteStatus {
	var up, down []string
	for _, a := range st.Apps {
		switch probe.Verdict(a.Verdicts[name]) {
		case probe.Up:
			up = append(up, a.Name)
		case probe.Down:
			down = append(down, a.Name)
		}
	}
	sort.Strings(down)
	var ready metav1.Condition
	switch n := len(up) + len(down); {
	case n == 0 && st.Leader == name:
		ready = cond(v1alpha1.ConditionReady, true, ReasonLeads, fmt.Sprintf("%s's daemon leads the fleet", name))
	case n == 0:
		ready = unknown(v1alpha1.ConditionReady, ReasonNotProbed, "no application is probed at this site")
	case len(up) == 0:
		ready = cond(v1alpha1.ConditionReady, false, ReasonSiteDown, fmt.Sprintf("down by quorum for all %d applications probed there", n))
	default:
		ready = cond(v1alpha1.ConditionReady, true, ReasonSiteUp, fmt.Sprintf("up by quorum for %d of %d applications probed there", len(up), n))
	}
	degraded := cond(v1alpha1.ConditionDegraded, false, ReasonNoneDown, "no application is down here by quorum")
	if len(down) > 0 {
		degraded = cond(v1alpha1.ConditionDegraded, true, ReasonAppsDown, "down by quorum: "+nameSome(down))
	}
	return v1alpha1.SiteStatus{Conditions: []metav1.Condition{ready, degraded}}
}

// nameSome lists the first few names and counts the rest: a region with a hundred
// applications down says so in one line.
func nameSome(names []string) string {
	if len(names) <= sitesNamedInNote {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:sitesNamedInNote], ", "), len(names)-sitesNamedInNote)
}
