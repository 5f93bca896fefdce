// Package crstatus turns what a daemon knows of the fleet into the status of the
// custom resources and the Kubernetes Events a change calls for. Its inputs are the
// daemon's own status (api.Status, what `hadron status` prints), the open run and the
// ledger, so the cluster and the CLI never disagree: nothing here measures anything.
// Pure; the daemon's writer does the I/O. See docs/design/custom-resources.md.
package crstatus

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/runbook"
)

// Reasons of the conditions written; CamelCase as metav1.Condition requires.
const (
	ReasonActiveUp        = "ActiveSiteUp"
	ReasonActiveDown      = "ActiveSiteDown"
	ReasonActiveUnknown   = "ActiveSiteUnknown"
	ReasonInSync          = "InSync"
	ReasonNoData          = "NoData"
	ReasonDataUnreadable  = "DataUnreadable"
	ReasonMemberLost      = "MemberUnreachable"
	ReasonPromiseNotKept  = "LossBoundNotKept"
	ReasonObjectsOff      = "ObjectsNotInSync"
	ReasonStandbyReady    = "StandbyReady"
	ReasonStandbyNotReady = "StandbyNotReady"
	ReasonNotChecked      = "NotCheckedYet"
	ReasonCheckFailed     = "CheckFailed"
	ReasonNoRun           = "NoRun"
	ReasonRunRunning      = "RunRunning"
	ReasonRunStopped      = "RunStopped"
	ReasonAsExpected      = "AsExpected"
	ReasonSiteDown        = "SiteDown"
	ReasonArchiveLag      = "ArchiveLagOverBound"
	ReasonPrimary         = "PrimaryWritable"
	ReasonNoPrimary       = "NoPrimary"
)

// Application is the status of one application: a is its entry in the daemon's
// status, last the newest run in the ledger (nil for none).
func Application(a api.App, last *runbook.Record) v1alpha1.ApplicationStatus {
	st := v1alpha1.ApplicationStatus{ActiveSite: a.Active, LastMove: move(last)}
	st.Conditions = []metav1.Condition{ready(a), replicated(a), protected(a), failingOver(a), degraded(a)}
	return st
}

func cond(typ string, ok bool, reason, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: Redact(msg)}
}

func unknown(typ, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionUnknown, Reason: reason, Message: Redact(msg)}
}

// ready: the quorum finds the active site up (the verdict the name server answers by).
func ready(a api.App) metav1.Condition {
	switch v := a.Verdicts[a.Active]; probe.Verdict(v) {
	case probe.Up:
		return cond(v1alpha1.ConditionReady, true, ReasonActiveUp, fmt.Sprintf("%s is up by quorum", a.Active))
	case probe.Down:
		return cond(v1alpha1.ConditionReady, false, ReasonActiveDown, fmt.Sprintf("%s is down by quorum", a.Active))
	default:
		return unknown(v1alpha1.ConditionReady, ReasonActiveUnknown, fmt.Sprintf("no quorum verdict on %s yet", a.Active))
	}
}

// replicated: the stand-bys' objects are in parity (the leader's readiness check) and
// the data members follow the primary within the set's data-loss promise.
func replicated(a api.App) metav1.Condition {
	const t = v1alpha1.ConditionReplicated
	if ds := a.Data; ds != nil {
		if ds.Error != "" {
			return unknown(t, ReasonDataUnreadable, ds.Error)
		}
		if m := lostMember(ds); m != nil {
			return cond(t, false, ReasonMemberLost, fmt.Sprintf("member %s: %s", m.Name, m.Error))
		}
		if p := ds.Promise; p != nil && !p.InForce {
			return cond(t, false, ReasonPromiseNotKept, p.Summary)
		}
	}
	if off := parityOff(a.Readiness); off != "" {
		return cond(t, false, ReasonObjectsOff, off)
	}
	if a.Data == nil {
		return cond(t, true, ReasonNoData, "no mirror set; objects in parity where checked")
	}
	msg := "members follow " + a.Data.Primary
	if p := a.Data.Promise; p != nil {
		msg = p.Summary
	}
	return cond(t, true, ReasonInSync, msg)
}

func lostMember(ds *api.DataSet) *api.DataMember {
	for i, m := range ds.Members {
		if m.Error != "" {
			return &ds.Members[i]
		}
	}
	return nil
}

// parityOff says which stand-by sites hold objects that need an action, "" for none.
func parityOff(r *api.Readiness) string {
	if r == nil {
		return ""
	}
	var off []string
	for _, p := range r.Parity {
		n := len(p.Off) + p.More
		if n > 0 {
			off = append(off, fmt.Sprintf("%s: %d objects need an action", p.Site, n))
		}
	}
	return strings.Join(off, "; ")
}

// protected: the leader's readiness check (`hadron check readiness`) found no failure.
func protected(a api.App) metav1.Condition {
	const t = v1alpha1.ConditionProtected
	r := a.Readiness
	switch {
	case r == nil:
		return unknown(t, ReasonNotChecked, "the leader has not checked the stand-bys yet")
	case r.Error != "":
		return unknown(t, ReasonCheckFailed, r.Error)
	}
	var fails []string
	for _, f := range r.Findings {
		if f.Level == "fail" {
			fails = append(fails, strings.TrimPrefix(f.Site+": ", ": ")+f.Message)
		}
	}
	if len(fails) > 0 {
		return cond(t, false, ReasonStandbyNotReady, strings.Join(fails, "; "))
	}
	return cond(t, true, ReasonStandbyReady, fmt.Sprintf("a stand-by could take over from %s (checked %s)", r.Active, r.At.UTC().Format(time.RFC3339)))
}

func failingOver(a api.App) metav1.Condition {
	const t = v1alpha1.ConditionFailingOver
	r := a.Run
	if r == nil {
		return cond(t, false, ReasonNoRun, "no run open")
	}
	msg := fmt.Sprintf("%s %s → %s (run %s by %s): step %d/%d %s, %s", r.Kind, r.From, r.To, r.ID, r.Who, r.Step, r.Steps, r.StepName, r.Status)
	if r.Error != "" {
		msg += ": " + r.Error
	}
	if r.Status == string(runbook.StatusRunning) {
		return cond(t, true, ReasonRunRunning, msg)
	}
	return cond(t, true, ReasonRunStopped, msg)
}

// degraded: a site of the application is down by quorum, the data lags past its
// bound, a member cannot be read, or the archive waits past its bound.
func degraded(a api.App) metav1.Condition {
	const t = v1alpha1.ConditionDegraded
	var why []string
	reason := ""
	for _, s := range sortedKeys(a.Verdicts) {
		if a.Verdicts[s] == string(probe.Down) {
			why, reason = append(why, s+" is down by quorum"), first(reason, ReasonSiteDown)
		}
	}
	if ds := a.Data; ds != nil && ds.Error == "" {
		if m := lostMember(ds); m != nil {
			why, reason = append(why, fmt.Sprintf("member %s unreachable", m.Name)), first(reason, ReasonMemberLost)
		}
		if p := ds.Promise; p != nil && !p.InForce {
			why, reason = append(why, p.Summary), first(reason, ReasonPromiseNotKept)
		}
		if ar := ds.Archive; ar != nil && ar.OverBound {
			why, reason = append(why, fmt.Sprintf("archive: oldest WAL file waited %.0fs, bound %s", ar.WaitingSeconds, ar.Bound)), first(reason, ReasonArchiveLag)
		}
	}
	if len(why) == 0 {
		return cond(t, false, ReasonAsExpected, "every site up, data within bounds")
	}
	return cond(t, true, reason, strings.Join(why, "; "))
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// move is the ledger's last run that moved the application (a person's promotion
// outside the daemons moves data, not the application, and is left out).
func move(r *runbook.Record) *v1alpha1.Move {
	if r == nil || r.Kind == runbook.Promote {
		return nil
	}
	m := &v1alpha1.Move{Kind: v1alpha1.MoveKind(r.Kind), From: r.From, To: r.To, Run: r.ID,
		StartedAt: metav1.NewTime(r.Decided.UTC()), Succeeded: r.Status == runbook.StatusDone}
	if r.Closed != nil {
		m.FinishedAt = metav1.NewTime(r.Closed.UTC())
	}
	// The RTO a client felt starts at the fault when the daemons saw one (SystemRTO),
	// else at the decision.
	if rto := time.Duration(r.SystemRTO); rto > 0 {
		m.RTO = &metav1.Duration{Duration: rto}
	} else if rto := time.Duration(r.RTO); rto > 0 {
		m.RTO = &metav1.Duration{Duration: rto}
	}
	if l := r.RPO; l != nil {
		rpo := l.Window
		if l.None() {
			rpo = 0
		}
		m.RPO = &metav1.Duration{Duration: rpo}
	}
	return m
}

// MirrorSet is the status of one mirror set as the daemon last read it; nil ds
// (never read) gives Unknown conditions.
func MirrorSet(ds *api.DataSet) v1alpha1.MirrorSetStatus {
	if ds == nil || ds.Error != "" {
		msg := "not read yet"
		if ds != nil {
			msg = ds.Error
		}
		return v1alpha1.MirrorSetStatus{Conditions: []metav1.Condition{
			unknown(v1alpha1.ConditionReady, ReasonDataUnreadable, msg),
			unknown(v1alpha1.ConditionReplicated, ReasonDataUnreadable, msg),
			unknown(v1alpha1.ConditionDegraded, ReasonDataUnreadable, msg),
		}}
	}
	st := v1alpha1.MirrorSetStatus{Primary: ds.Primary}
	for _, m := range ds.Members {
		ms := v1alpha1.MemberStatus{Name: m.Name, Site: m.Site, Role: roleNow(m), Reachable: m.Error == "", Timeline: int64(m.Timeline)}
		if m.Error == "" && m.State != "primary" {
			b := m.LagBytes
			ms.LagBytes = &b
			ms.LagTime = &metav1.Duration{Duration: time.Duration(m.LagSeconds * float64(time.Second)).Round(time.Millisecond)}
		}
		st.Members = append(st.Members, ms)
	}
	a := api.App{Data: ds}
	rd := cond(v1alpha1.ConditionReady, true, ReasonPrimary, ds.Primary+" takes writes")
	if ds.Primary == "" {
		rd = cond(v1alpha1.ConditionReady, false, ReasonNoPrimary, "no member takes writes")
	}
	st.Conditions = []metav1.Condition{rd, replicated(a), degraded(a)}
	return st
}

// roleNow is a member's role now: primary when it takes writes; a spec primary that
// no longer does follows the new one in its region, as a failover member would.
func roleNow(m api.DataMember) v1alpha1.MemberRole {
	if m.State == "primary" {
		return v1alpha1.RolePrimary
	}
	if v1alpha1.MemberRole(m.Role) == v1alpha1.RolePrimary {
		return v1alpha1.RoleFailover
	}
	return v1alpha1.MemberRole(m.Role)
}

// MergeConditions gives desired the transition times of old where a condition's
// status did not change (and now where it did), and generation as observed: the
// result equals old when nothing changed, so the writer can skip the write.
func MergeConditions(old, desired []metav1.Condition, generation int64, now time.Time) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(desired))
	for _, c := range desired {
		c.ObservedGeneration = generation
		c.LastTransitionTime = metav1.NewTime(now.UTC().Truncate(time.Second))
		if o := meta.FindStatusCondition(old, c.Type); o != nil && o.Status == c.Status {
			c.LastTransitionTime = o.LastTransitionTime
		}
		out = append(out, c)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
