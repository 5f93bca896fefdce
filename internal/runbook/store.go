package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/coord"
)

// OpenKey holds the id of app's open run. It is created only when absent, so one run
// per application is open at a time, and deleted when the run goes to the ledger.
func OpenKey(app string) string { return coord.RunbookKey(app, "open") }

// Start records r as app's open run — the pending marker, written before anything acts
// — if token is still the leader's and no other run is open.
func Start(ctx context.Context, c *clientv3.Client, token coord.Token, r *Record) error {
	if token.IsZero() {
		return coord.ErrFenced
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("start %s of %s: %w", r.Kind, r.App, err)
	}
	open := OpenKey(r.App)
	resp, err := c.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(token.Key), "=", token.Rev),
		clientv3.Compare(clientv3.CreateRevision(open), "=", 0),
	).Then(
		clientv3.OpPut(open, r.ID),
		clientv3.OpPut(coord.RunbookKey(r.App, r.ID), string(b)),
	).Commit()
	if err != nil {
		return fmt.Errorf("start %s of %s: %w", r.Kind, r.App, err)
	}
	if resp.Succeeded {
		return nil
	}
	if err := coord.Fenced(ctx, c, token); err != nil {
		return fmt.Errorf("start %s of %s: %w", r.Kind, r.App, err)
	}
	return fmt.Errorf("start %s of %s: %w", r.Kind, r.App, ErrRunOpen)
}

// Save writes r's progress under token while r is app's open run. A stale token is
// refused (coord.ErrFenced), and so is a run closed meanwhile (ErrRunClosed: a person
// aborted it), so that a late engine cannot bring a closed run back.
func Save(ctx context.Context, c *clientv3.Client, token coord.Token, r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save run %s: %w", r.ID, err)
	}
	if err := whileOpen(ctx, c, token, r, nil, clientv3.OpPut(coord.RunbookKey(r.App, r.ID), string(b))); err != nil {
		return fmt.Errorf("save run %s: %w", r.ID, err)
	}
	return nil
}

// Close moves r to the ledger and clears the open marker in one guarded transaction.
func Close(ctx context.Context, c *clientv3.Client, token coord.Token, r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("close run %s: %w", r.ID, err)
	}
	if err := whileOpen(ctx, c, token, r, nil, closeOps(r, b)...); err != nil {
		return fmt.Errorf("close run %s: %w", r.ID, err)
	}
	return nil
}

func closeOps(r *Record, b []byte) []clientv3.Op {
	return []clientv3.Op{
		clientv3.OpPut(coord.LedgerKey(r.App, r.ID), string(b)),
		clientv3.OpDelete(coord.RunbookKey(r.App, r.ID)),
		clientv3.OpDelete(OpenKey(r.App)),
	}
}

// whileOpen applies ops in one transaction if token still leads and r is app's open
// run (and, when more is given, if those comparisons hold too). It answers
// coord.ErrFenced for a stale token, ErrRunClosed when r is no longer open, and
// errCompare when only more failed.
func whileOpen(ctx context.Context, c *clientv3.Client, token coord.Token, r *Record, more []clientv3.Cmp, ops ...clientv3.Op) error {
	if token.IsZero() {
		return coord.ErrFenced
	}
	cmps := append([]clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(token.Key), "=", token.Rev),
		clientv3.Compare(clientv3.Value(OpenKey(r.App)), "=", r.ID),
	}, more...)
	resp, err := c.Txn(ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(OpenKey(r.App))).Commit()
	if err != nil {
		return err
	}
	if resp.Succeeded {
		return nil
	}
	if err := coord.Fenced(ctx, c, token); err != nil {
		return err
	}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 0 || string(kvs[0].Value) != r.ID {
		return ErrRunClosed
	}
	return errCompare
}

// errCompare says a decision's view of the run was stale; decide reads it again.
var errCompare = errors.New("run changed")

// ResumeRun sets app's failed run id going again as who decided (Retry), under token,
// and returns the stored record for the caller to run with Engine.Run.
func ResumeRun(ctx context.Context, c *clientv3.Client, token coord.Token, app, id, who string, force bool, now time.Time) (*Record, error) {
	return decide(ctx, c, token, app, id, func(r *Record) error { return Retry(r, who, force, now) },
		func(r *Record, b []byte) []clientv3.Op {
			return []clientv3.Op{clientv3.OpPut(coord.RunbookKey(r.App, r.ID), string(b))}
		})
}

// AbortRun closes app's failed run id into the ledger as aborted by who (Abort), under
// token; nothing runs. force aborts a run marked running, which the caller must know
// that no engine executes.
func AbortRun(ctx context.Context, c *clientv3.Client, token coord.Token, app, id, who, reason string, force bool, now time.Time) (*Record, error) {
	return decide(ctx, c, token, app, id, func(r *Record) error { return Abort(r, who, reason, force, now) }, closeOps)
}

// decide reads app's open run id, applies change (a pure decision) and writes the
// result with ops, only if nothing changed the run in between: an engine or another
// person's decision must not be overwritten by a stale copy.
func decide(ctx context.Context, c *clientv3.Client, token coord.Token, app, id string, change func(*Record) error, ops func(*Record, []byte) []clientv3.Op) (*Record, error) {
	for range 3 {
		r, rev, err := openRun(ctx, c, app, id)
		if err != nil {
			return nil, err
		}
		if err := change(r); err != nil {
			return nil, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("run %s of %s: %w", id, app, err)
		}
		err = whileOpen(ctx, c, token, r, []clientv3.Cmp{
			clientv3.Compare(clientv3.ModRevision(coord.RunbookKey(app, id)), "=", rev),
		}, ops(r, b)...)
		switch {
		case err == nil:
			return r, nil
		case errors.Is(err, errCompare), errors.Is(err, ErrRunClosed):
			continue // read again: the next pass says what the run is now
		default:
			return nil, fmt.Errorf("run %s of %s: %w", id, app, err)
		}
	}
	return nil, fmt.Errorf("run %s of %s: %w", id, app, ErrRunChanged)
}

// openRun reads app's run id with its revision, which must be the open run: a run in
// the ledger is ErrRunClosed, an unknown one ErrNoRun.
func openRun(ctx context.Context, c *clientv3.Client, app, id string) (*Record, int64, error) {
	if id == "open" || id == "" || strings.Contains(id, "/") {
		return nil, 0, fmt.Errorf("run %q of %s: %w", id, app, ErrNoRun)
	}
	// One transaction, so the marker and the record are read at the same revision.
	resp, err := c.Txn(ctx).Then(clientv3.OpGet(OpenKey(app)), clientv3.OpGet(coord.RunbookKey(app, id))).Commit()
	if err != nil {
		return nil, 0, fmt.Errorf("run %s of %s: %w", id, app, err)
	}
	open := resp.Responses[0].GetResponseRange().Kvs
	run := resp.Responses[1].GetResponseRange().Kvs
	if len(open) == 0 || string(open[0].Value) != id || len(run) == 0 {
		r, err := Get(ctx, c, app, id)
		if err != nil {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("run %s of %s: %w (%s)", id, app, ErrRunClosed, r.Status)
	}
	var r Record
	if err := json.Unmarshal(run[0].Value, &r); err != nil {
		return nil, 0, fmt.Errorf("run %s of %s: %w", id, app, err)
	}
	return &r, run[0].ModRevision, nil
}

// Open returns app's open run, or nil when none is open.
func Open(ctx context.Context, c *clientv3.Client, app string) (*Record, error) {
	resp, err := c.Get(ctx, OpenKey(app))
	if err != nil {
		return nil, fmt.Errorf("open run of %s: %w", app, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	id := string(resp.Kvs[0].Value)
	resp, err = c.Get(ctx, coord.RunbookKey(app, id))
	if err != nil {
		return nil, fmt.Errorf("open run of %s: %w", app, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("open run %s of %s: %w: missing", id, app, ErrBadRecord)
	}
	var r Record
	if err := json.Unmarshal(resp.Kvs[0].Value, &r); err != nil {
		return nil, fmt.Errorf("open run %s of %s: %w: %w", id, app, ErrBadRecord, err)
	}
	return &r, nil
}

// OpenApps lists the applications that have an open run.
func OpenApps(ctx context.Context, c *clientv3.Client) ([]string, error) {
	resp, err := c.Get(ctx, coord.RunbooksDir, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("open runs: %w", err)
	}
	var apps []string
	for _, kv := range resp.Kvs {
		rest := strings.TrimPrefix(string(kv.Key), coord.RunbooksDir)
		if app, field, ok := strings.Cut(rest, "/"); ok && field == "open" {
			apps = append(apps, app)
		}
	}
	return apps, nil
}

// History returns the ledger's closed runs of app ("" for every application), oldest
// first.
func History(ctx context.Context, c *clientv3.Client, app string) ([]Record, error) {
	prefix := coord.LedgerDir
	if app != "" {
		prefix = coord.LedgerDir + app + "/"
	}
	resp, err := c.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	out := make([]Record, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var r Record
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, fmt.Errorf("history: %s: %w", kv.Key, err)
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Decided.Before(out[j].Decided) })
	return out, nil
}

// Get returns app's run id, open or in the ledger.
func Get(ctx context.Context, c *clientv3.Client, app, id string) (*Record, error) {
	if id == "open" || id == "" || strings.Contains(id, "/") {
		return nil, fmt.Errorf("run %q of %s: %w", id, app, ErrNoRun)
	}
	for _, key := range []string{coord.RunbookKey(app, id), coord.LedgerKey(app, id)} {
		resp, err := c.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("run %s of %s: %w", id, app, err)
		}
		if len(resp.Kvs) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(resp.Kvs[0].Value, &r); err != nil {
			return nil, fmt.Errorf("run %s of %s: %w", id, app, err)
		}
		return &r, nil
	}
	return nil, fmt.Errorf("run %s of %s: %w", id, app, ErrNoRun)
}
