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
	ReasonSiteAnswers = "SiteAnswers"
	ReasonLeads       = "LeaderDaemon"
	ReasonNotProbed   = "NotProbed"
	ReasonAppsDown    = "ApplicationsDown"
	ReasonNoneDown    = "NoneDown"
	namedInNote       = 3
)

// Site is the status of the site name from the probes of the applications there.
// Ready: True while a majority of observers reach the site for some application —
// an HTTP answer counts even when it fails the check, so a pilot-light stand-by
// scaled to zero (503) is a site that is there; False when the site answers for none
// of the applications probed there (the region is lost or cut off). Degraded: an
// application active here is down by quorum, or the site answers for some
// applications and not for others. A site nothing is probed at (a witness) is Ready
// only while its daemon leads, the one thing this status proves of it. Every cluster
// gets every Site's status, so the surviving region's `kubectl get sites` shows the
// lost one.
func Site(name string, st api.Status) v1alpha1.SiteStatus {
	var answering, silent, activeDown []string
	for _, a := range st.Apps {
		switch reached, seen := reachedByMajority(a, name); {
		case !seen:
		case reached:
			answering = append(answering, a.Name)
		default:
			silent = append(silent, a.Name)
		}
		if a.Active == name && probe.Verdict(a.Verdicts[name]) == probe.Down {
			activeDown = append(activeDown, a.Name)
		}
	}
	var ready metav1.Condition
	switch n := len(answering) + len(silent); {
	case n == 0 && st.Leader == name:
		ready = cond(v1alpha1.ConditionReady, true, ReasonLeads, fmt.Sprintf("%s's daemon leads the fleet", name))
	case n == 0:
		ready = unknown(v1alpha1.ConditionReady, ReasonNotProbed, "no application is probed at this site")
	case len(answering) == 0:
		ready = cond(v1alpha1.ConditionReady, false, ReasonSiteDown, fmt.Sprintf("no answer to a majority of observers for any of the %d applications probed there", n))
	default:
		ready = cond(v1alpha1.ConditionReady, true, ReasonSiteAnswers, fmt.Sprintf("answers a majority of observers for %d of %d applications probed there", len(answering), n))
	}
	var problems []string
	if len(activeDown) > 0 {
		problems = append(problems, "active here and down by quorum: "+nameSome(activeDown))
	}
	if len(silent) > 0 && len(answering) > 0 {
		problems = append(problems, "no answer for: "+nameSome(silent))
	}
	degraded := cond(v1alpha1.ConditionDegraded, false, ReasonNoneDown, "no application active here is down by quorum, and none silent while others answer")
	if len(problems) > 0 {
		degraded = cond(v1alpha1.ConditionDegraded, true, ReasonAppsDown, strings.Join(problems, "; "))
	}
	return v1alpha1.SiteStatus{Conditions: []metav1.Condition{ready, degraded}}
}

// reachedByMajority says whether most observers' latest probe of a at site got an
// answer (OK or not: Observation.Reached), and whether any observer probed it at all.
func reachedByMajority(a api.App, site string) (reached, seen bool) {
	n, yes := 0, 0
	for _, sites := range a.Observations {
		ob, ok := sites[site]
		if !ok {
			continue
		}
		n++
		if ob.Reached { // the daemon sets it for an OK answer too
			yes++
		}
	}
	return 2*yes > n, n > 0
}

// nameSome lists the first few names, sorted, and counts the rest: a region with a
// hundred applications down says so in one line.
func nameSome(names []string) string {
	names = append([]string(nil), names...)
	sort.Strings(names)
	if len(names) <= namedInNote {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:namedInNote], ", "), len(names)-namedInNote)
}
