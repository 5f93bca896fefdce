package readiness

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord"
)

// Key is where app's newest report is kept.
func Key(app string) string { return coord.ReadinessDir + app }

// Save writes app's report if tok still leads: a former leader's late check does not
// overwrite a newer one's.
func Save(ctx context.Context, c *clientv3.Client, tok coord.Token, app string, r api.Readiness) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("readiness of %s: %w", app, err)
	}
	if err := coord.Guarded(ctx, c, tok, clientv3.OpPut(Key(app), string(b))); err != nil {
		return fmt.Errorf("saving the readiness of %s: %w", app, err)
	}
	return nil
}

// Load reads every application's newest report, by application. A report that does
// not decode is left out (a newer daemon's format), not an error for the rest.
func Load(ctx context.Context, c *clientv3.Client) (map[string]api.Readiness, error) {
	// A serializable read, from the daemon's own member: a report is minutes-scale
	// news, and a linearizable read would cost every status (and every view of the
	// dashboard) a round trip to raft's leader, across regions.
	resp, err := c.Get(ctx, coord.ReadinessDir, clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		return nil, fmt.Errorf("reading readiness reports: %w", err)
	}
	out := map[string]api.Readiness{}
	for _, kv := range resp.Kvs {
		var r api.Readiness
		if json.Unmarshal(kv.Value, &r) != nil {
			continue
		}
		out[strings.TrimPrefix(string(kv.Key), coord.ReadinessDir)] = r
	}
	return out, nil
}
