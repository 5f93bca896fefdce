package runbook

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

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

// Save writes r's progress under token; a stale token is refused (coord.ErrFenced).
func Save(ctx context.Context, c *clientv3.Client, token coord.Token, r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save run %s: %w", r.ID, err)
	}
	if err := coord.Guarded(ctx, c, token, clientv3.OpPut(coord.RunbookKey(r.App, r.ID), string(b))); err != nil {
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
	err = coord.Guarded(ctx, c, token,
		clientv3.OpPut(coord.LedgerKey(r.App, r.ID), string(b)),
		clientv3.OpDelete(coord.RunbookKey(r.App, r.ID)),
		clientv3.OpDelete(OpenKey(r.App)))
	if err != nil {
		return fmt.Errorf("close run %s: %w", r.ID, err)
	}
	return nil
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
		return nil, fmt.Errorf("open run %s of %s: record missing", id, app)
	}
	var r Record
	if err := json.Unmarshal(resp.Kvs[0].Value, &r); err != nil {
		return nil, fmt.Errorf("open run %s of %s: %w", id, app, err)
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
