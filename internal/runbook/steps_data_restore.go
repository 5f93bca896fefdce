package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/retry"
)

// When the failover's target has no member alive and no member of the set answers
// anywhere — the primary's region is lost and the DR member with it — every copy of
// the data is gone except the backup archive. Where the set's policy allows it
// (spec.backup.restoreWhenNoMember), the promote step rebuilds the target's member
// from the archive instead of waiting for a member that will not come back, and
// records what that was predicted to lose (the archive lag the daemons last read
// before the fault) and what it did restore.

// restoreInput is what decides whether the promote step restores from the archive.
type restoreInput struct {
	// Allowed is the set's spec.backup.restoreWhenNoMember; Capable says the driver
	// can restore (data.ArchiveRestorer).
	Allowed, Capable bool
	Mode             v1alpha1.DataLossMode
	// Auto is an automatic decision; Force a person's acceptance of any loss.
	Auto, Force bool
	// Answering are the members of the set that answer, anywhere.
	Answering []string
	// InProgress says a restore at the target was begun (by an earlier attempt or
	// leader) and not finished: it is finished whatever answers, since its server,
	// replaying the archive, answers as a stand-by that must not be promoted early.
	InProgress bool
	// Predicted is the archiving last read before the fault (nil: never read), and
	// MaxAutoLoss the set's maxLagOnFailover (nil: no bound).
	Predicted   *data.ArchiveSeen
	MaxAutoLoss *int64
}

// decideRestore says whether to restore from the archive. No and a reason when the
// step should keep waiting for a member (a person may start one); an error,
// permanent, when the restore is allowed but would break what the policy promises
// for an automatic decision: a person decides then (hadron failover --force, or a
// forced resume).
func decideRestore(in restoreInput) (bool, string, error) {
	switch {
	case in.InProgress && in.Capable:
		return true, "", nil
	case !in.Allowed:
		return false, "the set's policy does not allow a restore from the archive (spec.backup.restoreWhenNoMember)", nil
	case !in.Capable:
		return false, "the set's driver cannot restore from an archive", nil
	case len(in.Answering) > 0:
		return false, fmt.Sprintf("%s answers: not every copy is lost", strings.Join(in.Answering, ", ")), nil
	}
	if !in.Auto || in.Force {
		return true, "", nil
	}
	switch in.Mode {
	case v1alpha1.DataLossBounded, v1alpha1.DataLossSynchronous:
		// The archive is behind by the archive lag, far more than these modes promise.
		return false, "", retry.Permanent("%w: mode %s promises what a restore from the archive (behind by the archive lag) cannot keep; a person must decide", ErrLossBound, in.Mode)
	}
	if in.MaxAutoLoss != nil {
		switch p := in.Predicted; {
		case p == nil:
			return false, "", retry.Permanent("%w: automatic restore from the archive with an unknown loss (the archive lag was never read); a person must decide", ErrLossBound)
		case p.LagBytes > *in.MaxAutoLoss:
			return false, "", retry.Permanent("%w: automatic restore from the archive would lose about %d bytes (archive lag), more than maxLagOnFailover %d; a person must decide", ErrLossBound, p.LagBytes, *in.MaxAutoLoss)
		}
	}
	return true, "", nil
}

// answering are the members of st that answer.
func answering(st *data.SetStatus) []string {
	var out []string
	for _, m := range st.Members {
		if m.Reachable {
			out = append(out, m.Member)
		}
	}
	return out
}

// restoreIfAllLost is the promote step when the target has no member to promote
// (noTarget): it restores from the archive when decideRestore allows, else returns
// noTarget with the reason, still retryable.
func (env *Env) restoreIfAllLost(ctx context.Context, r *Record, noTarget error) (string, error) {
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", noTarget
	}
	ar, capable := env.Data.(data.ArchiveRestorer)
	ok, why, err := decideRestore(env.restoreInput(r, st, capable))
	if err != nil {
		return "", fmt.Errorf("promote at %s: %w", r.To, err)
	}
	if !ok {
		return "", retry.Retryable("%w (no restore from the archive: %s)", noTarget, why)
	}
	if env.Log != nil {
		env.Log.Warn("no member of the set answers anywhere: restoring from the archive", "app", r.App, "site", r.To)
	}
	res, err := ar.RestoreLatest(ctx, r.To)
	if err != nil {
		return "", fmt.Errorf("restore at %s from the archive: %w", r.To, err)
	}
	r.Promoted, r.Restored = res.Member, &res
	loss := restoreLoss(r, res)
	r.RPO = &loss
	return fmt.Sprintf("no member answered: restored %s from the archive to %s (timeline %d); %s",
		res.Member, res.End, res.Timeline, archiveVsLoss(r.Archive, loss)), nil
}

func (env *Env) restoreInput(r *Record, st *data.SetStatus, capable bool) restoreInput {
	in := restoreInput{Allowed: env.RestoreWhenNoMember, Capable: capable, Mode: env.LossMode,
		Auto: r.Who == "auto", Force: r.Force, Answering: answering(st), Predicted: r.Archive, MaxAutoLoss: env.MaxAutoLoss}
	if ar, ok := env.Data.(data.ArchiveRestorer); ok {
		in.InProgress = ar.RestoreInProgress(r.To)
	}
	return in
}

// restoreBegun says whether a restore at the run's target is under way: the promote
// step then finishes it rather than promote the server replaying the archive.
func (env *Env) restoreBegun(r *Record) bool {
	ar, ok := env.Data.(data.ArchiveRestorer)
	return ok && ar.RestoreInProgress(r.To)
}

// restoreLoss is a restore's RPO from positions: the old primary's newest position
// the daemons saw (its last flush, or its position at the last archive reading, which
// comes later in the same observation) against the end of the archive the restore
// replayed. It is a lower bound: that position is up to one observation old.
func restoreLoss(r *Record, res data.Restored) data.Loss {
	last := r.LastFlush
	if r.Archive != nil {
		last = max(last, r.Archive.Current)
	}
	if last == 0 {
		return data.Loss{From: res.End, Bytes: -1, Transactions: -1, Method: "unknown: restored from the archive; no primary position was known"}
	}
	l := data.EstimateLoss(last, res.End)
	l.Bytes = max(l.Bytes, 0)
	l.Method = "at least: the old primary's newest position the daemons saw − the end of the archive the restore replayed"
	return l
}

// archiveVsLoss says what the restore was predicted to lose and what it lost.
func archiveVsLoss(a *data.ArchiveSeen, l data.Loss) string {
	lost := "loss unknown"
	if l.Bytes >= 0 {
		lost = fmt.Sprintf("lost at least %d bytes", l.Bytes)
	}
	if a == nil {
		return lost + "; the archive lag was never read before the fault"
	}
	return fmt.Sprintf("%s; predicted: archive lag %d bytes, %s waiting, archive interval %s (bound %s)",
		lost, a.LagBytes, a.Waiting.Round(1e6), a.ArchiveTimeout, a.Bound())
}

// restorePreview is the promote step's preview when the target has no member.
func (env *Env) restorePreview(ctx context.Context, r *Record, noTarget error) (string, error) {
	if !errors.Is(noTarget, ErrNoTarget) {
		return "", noTarget
	}
	st, err := env.Data.Status(ctx)
	if err != nil {
		return "", noTarget
	}
	_, capable := env.Data.(data.ArchiveRestorer)
	ok, why, err := decideRestore(env.restoreInput(r, st, capable))
	if err != nil {
		return "", fmt.Errorf("promote at %s: %w", r.To, err)
	}
	if !ok {
		return "", fmt.Errorf("%w (no restore from the archive: %s)", noTarget, why)
	}
	return fmt.Sprintf("no member answers: restore %s's member from the archive to its end; %s", r.To, archiveVsLoss(r.Archive, data.Loss{Bytes: -1})), nil
}

// recordArchive records the archiving the daemon last read, once, before the fence
// acts: the prediction a restore from the archive is measured against.
func recordArchive(env *Env, r *Record) {
	if r.Archive != nil || env.LastArchive == nil {
		return
	}
	r.Archive = env.LastArchive()
}
