// Package runbook moves an application to another site as ordered, idempotent steps
// that are stored in etcd as they run, executed only by the leader under its fencing
// token, and resumed by a later leader at the first unfinished step. A closed run goes
// to the ledger with its measured RTO and RPO. See docs/design/runbooks.md.
package runbook

import (
	"errors"
	"time"

	"hadron.dev/hadron/internal/data"
)

// Kind is what a run does.
type Kind string

const (
	// Failover is unplanned: the active site is lost, the target's most advanced
	// member is promoted and the loss is recorded.
	Failover Kind = "failover"
	// Switchover is planned: writes are fenced first and the target waits until it has
	// everything, so nothing is lost.
	Switchover Kind = "switchover"
	// Failback brings an application home after a failover: the old site's data
	// members rejoin (rewound), then a switchover back.
	Failback Kind = "failback"
	// Promote is a mirror set's member promoted by a person outside the daemons
	// (`hadron data promote --force`). No daemon runs it: it enters the ledger closed,
	// with the loss the promotion measured (RecordOutside).
	Promote Kind = "promote"
)

// Status is where a run stands.
type Status string

const (
	StatusRunning Status = "running"
	StatusFailed  Status = "failed" // a step exhausted its budget; resume or abort
	StatusDone    Status = "done"
	StatusAborted Status = "aborted"
)

// StepRecord is one step's progress. A step is finished exactly when Ended is set.
type StepRecord struct {
	Name    string     `json:"name"`
	Started *time.Time `json:"started,omitempty"`
	Ended   *time.Time `json:"ended,omitempty"`
	Attempt int        `json:"attempt,omitempty"`
	// Token is the fencing token (leadership revision) under which the step ended.
	Token int64  `json:"token,omitempty"`
	Error string `json:"error,omitempty"`
	// Detail says what the step did (the member promoted, the site fenced...).
	Detail string `json:"detail,omitempty"`
	// Resumed is true when a later leader found the step's work already done and only
	// recorded it.
	Resumed bool `json:"resumed,omitempty"`
}

// Record is a run as stored in etcd, first under the runbooks prefix while open, then
// in the ledger.
type Record struct {
	ID    string `json:"id"`
	App   string `json:"app"`
	Kind  Kind   `json:"kind"`
	From  string `json:"from"`
	To    string `json:"to"`
	Who   string `json:"who"` // a person's name, or "auto"
	Force bool   `json:"force,omitempty"`
	// Set is the mirror set a person acted on outside the daemons (Kind Promote).
	Set string `json:"set,omitempty"`
	// Tokens are the leaderships that ran the run, in order: the first started it.
	Tokens  []int64   `json:"tokens"`
	Decided time.Time `json:"decided"`
	// FirstFailedProbe is when the fault was first seen, for an automatic decision;
	// nil for a person's decision. The daemon records when the leader first saw the
	// quorum's down verdict, which is later than the first failed probe by the fall
	// threshold (fall × interval), so SystemRTO understates by that much.
	FirstFailedProbe *time.Time   `json:"firstFailedProbe,omitempty"`
	Steps            []StepRecord `json:"steps"`
	Status           Status       `json:"status"`
	Error            string       `json:"error,omitempty"`

	// OldPrimary and LastFlush are what the fence step saw of the old primary: the
	// promotion's loss is measured against them, also after a resume.
	OldPrimary string   `json:"oldPrimary,omitempty"`
	LastFlush  data.LSN `json:"lastFlush,omitempty"`
	Promoted   string   `json:"promoted,omitempty"`

	Verified *time.Time `json:"verified,omitempty"`
	Closed   *time.Time `json:"closed,omitempty"`
	// RTO is decision → verified; SystemRTO is first failed probe → verified.
	RTO       Duration   `json:"rto,omitempty"`
	SystemRTO Duration   `json:"systemRTO,omitempty"`
	RPO       *data.Loss `json:"rpo,omitempty"`
	// Promise is the mirror set's data-loss mode across regions as the old primary
	// last kept it, recorded by the fence step: the promise the RPO is measured against.
	Promise *data.Promise `json:"promise,omitempty"`
	// Archive is the old primary's WAL archiving as the daemons last read it before
	// the fault, recorded by the fence step: what a restore from the archive is
	// predicted to lose. Restored is set when the promote step, finding no member
	// alive, rebuilt the target's member from the archive instead.
	Archive  *data.ArchiveSeen `json:"archive,omitempty"`
	Restored *data.Restored    `json:"restored,omitempty"`

	// NeedsForce is set when the run stopped because going on needs a person's
	// acceptance (an automatic promotion above the loss bound): a resume must be forced.
	NeedsForce bool `json:"needsForce,omitempty"`
	// ForAnotherLeader is set when the run stopped because the daemon executing it could
	// not act (NoDriverError): the next leader takes it up by itself. Every other failed
	// run waits for a person's resume or abort, whichever daemon leads.
	ForAnotherLeader bool `json:"forAnotherLeader,omitempty"`
	// Resumes are the people who set the run going again after it failed, in order;
	// Who stays the one who decided the run.
	Resumes []Decision `json:"resumes,omitempty"`
	// Aborted is who closed the run without finishing it, and why.
	Aborted *Decision `json:"aborted,omitempty"`
	// saved is what this process last stored of the run: the step whose start that
	// save already carried (index + 1; 0 for none) and when. Not stored itself; the
	// engine uses it to spare a save and a fencing read.
	savedStep int
	savedAt   time.Time
}

// Decision is a person's answer to a stopped run: resume it or abort it.
type Decision struct {
	Who string    `json:"who"`
	At  time.Time `json:"at"`
	// Failure is the run's error the person answered ("" for a run aborted while
	// marked running).
	Failure string `json:"failure,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Force is set when the person accepted what the run had stopped for.
	Force bool `json:"force,omitempty"`
}

// Duration is a time.Duration that reads well in JSON ("1.234s").
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Next is the index of the first unfinished step, and false when every step has
// finished. It is the whole resume rule: steps before it are never run again.
func Next(r *Record) (int, bool) {
	for i := range r.Steps {
		if r.Steps[i].Ended == nil {
			return i, true
		}
	}
	return len(r.Steps), false
}

// Begin records the start of step i under token; a step started before (by a deposed
// leader, or an attempt that failed) counts another attempt.
func Begin(r *Record, i int, token int64, now time.Time) {
	s := &r.Steps[i]
	if s.Started == nil {
		s.Started = &now
	}
	s.Attempt++
	s.Error = ""
	if n := len(r.Tokens); n == 0 || r.Tokens[n-1] != token {
		r.Tokens = append(r.Tokens, token)
	}
	r.Status, r.Error, r.ForAnotherLeader = StatusRunning, "", false
}

// End records that step i finished under token.
func End(r *Record, i int, token int64, now time.Time, detail string, resumed bool) {
	s := &r.Steps[i]
	if s.Started == nil {
		s.Started = &now
	}
	s.Ended, s.Token, s.Detail, s.Resumed, s.Error = &now, token, detail, resumed, ""
}

// Fail records that step i gave up with err; the run stops in StatusFailed. A stop at
// the automatic loss bound is marked so that only a forced resume goes on.
func Fail(r *Record, i int, err error) {
	r.Steps[i].Error = err.Error()
	r.Status, r.Error = StatusFailed, r.Steps[i].Name+": "+err.Error()
	r.NeedsForce = errors.Is(err, ErrLossBound)
	var nd *NoDriverError
	r.ForAnotherLeader = errors.As(err, &nd)
}

// TakenOver says whether a new leader continues r by itself: a run whose leader died
// while it was running, or one stopped because its daemon could not act on its mirror
// set. A run that failed for any other reason is a person's to resume or abort.
func TakenOver(r *Record) bool {
	return r.Status == StatusRunning || (r.Status == StatusFailed && r.ForAnotherLeader)
}

// MarkVerified sets the verification time and the RTOs measured to it.
func MarkVerified(r *Record, now time.Time) {
	r.Verified = &now
	r.RTO = Duration(now.Sub(r.Decided))
	if r.FirstFailedProbe != nil {
		r.SystemRTO = Duration(now.Sub(*r.FirstFailedProbe))
	}
}

// NewRecord is a fresh run of kind with plan's steps, none started.
func NewRecord(id, app string, kind Kind, from, to, who string, decided time.Time, plan []string) *Record {
	r := &Record{ID: id, App: app, Kind: kind, From: from, To: to, Who: who, Decided: decided, Status: StatusRunning}
	for _, n := range plan {
		r.Steps = append(r.Steps, StepRecord{Name: n})
	}
	return r
}

// Clone returns a deep copy of r, for a reader while an engine goes on changing r.
func Clone(r *Record) *Record {
	c := *r
	c.Tokens = append([]int64(nil), r.Tokens...)
	c.Steps = append([]StepRecord(nil), r.Steps...)
	if r.RPO != nil {
		l := *r.RPO
		c.RPO = &l
	}
	c.Resumes = append([]Decision(nil), r.Resumes...)
	if r.Aborted != nil {
		a := *r.Aborted
		c.Aborted = &a
	}
	return &c
}
