package daemon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/probe"
	"hadron.dev/hadron/internal/runbook"
)

// previewRun says what a person's request would do with the state this daemon
// observes now (--dry-run): the quorum's verdicts, whether the run would be refused,
// and each step's preview (runbook.Env.Preview). Any daemon answers; nothing acts.
func (r *runbooks) preview(ctx context.Context, req api.RunRequest) (*runbook.Preview, error) {
	from, health, err := r.runFrom(ctx, &req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	who := req.Who
	if who == "" {
		who = "operator"
	}
	rec := &runbook.Record{App: req.App, Kind: req.Kind, From: from, To: req.To, Who: who, Force: req.Force}
	p, err := r.env(req.App, nil).Preview(ctx, rec)
	if err != nil {
		return nil, err
	}
	p.Notes = r.previewNotes(ctx, req, from, health)
	return p, nil
}

// previewNotes are what decides whether the run would start: the leader, the quorum's
// verdicts, an open run.
func (r *runbooks) previewNotes(ctx context.Context, req api.RunRequest, from string, health map[string]probe.Verdict) []string {
	var notes []string
	if l, err := coord.Leader(ctx, r.client); err != nil || l.Holder == "" {
		notes = append(notes, "no leader: the run would not start (no majority?)")
	} else {
		notes = append(notes, "leader "+l.String())
	}
	var verdicts []string
	for _, site := range slices.Sorted(maps.Keys(health)) {
		verdicts = append(verdicts, fmt.Sprintf("%s %s", site, health[site]))
	}
	if len(verdicts) == 0 {
		verdicts = append(verdicts, "no verdict yet")
	}
	notes = append(notes, "quorum: "+strings.Join(verdicts, ", "))
	if req.Kind == runbook.Failover && !req.Force && health[from] != probe.Down {
		notes = append(notes, fmt.Sprintf("refused as asked: the quorum finds %s %s, not down (use --force, or a switchover)", from, health[from]))
	}
	if v := health[req.To]; v != probe.Up {
		notes = append(notes, fmt.Sprintf("%s is %s by the quorum", req.To, orUnknown(v)))
	}
	if open, err := runbook.Open(ctx, r.client, req.App); err == nil && open != nil {
		notes = append(notes, fmt.Sprintf("refused now: run %s (%s, %s) is open", open.ID, open.Kind, open.Status))
	}
	return notes
}

func orUnknown(v probe.Verdict) string {
	if v == "" {
		return "unknown"
	}
	return string(v)
}
