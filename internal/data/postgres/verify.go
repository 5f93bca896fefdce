package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/data"
)

// Verify writes a marker row on the primary and polls every other member until the
// row shows, recording how long after the commit each did; see data.Driver.
func (d *Driver) Verify(ctx context.Context, only ...string) (*data.VerifyResult, error) {
	st, err := d.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if st.Primary == "" {
		return nil, fmt.Errorf("verify %s: %w", d.cfg.Set.Name, data.ErrNoPrimary)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	res := &data.VerifyResult{Primary: st.Primary, Marker: "hadron-verify-" + hex.EncodeToString(b)}
	var start time.Time
	err = d.observeConn(ctx, d.members[st.Primary], func(conn *pgx.Conn, _ bool) error {
		// Bootstrap creates the table; a set bootstrapped by other means gets it here.
		if _, err := conn.Exec(ctx, markerTable); err != nil {
			return fmt.Errorf("marker table on %s: %w", st.Primary, err)
		}
		start = time.Now()
		if _, err := conn.Exec(ctx, `insert into hadron_marker (id) values ($1)`, res.Marker); err != nil {
			return fmt.Errorf("write marker on %s: %w", st.Primary, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	committed := time.Now()
	res.Write = committed.Sub(start)
	var members []v1alpha1.Member
	for _, m := range d.cfg.Set.Spec.Members {
		if len(only) == 0 || slices.Contains(only, m.Name) {
			members = append(members, m)
		}
	}
	res.Members = make([]data.VerifyMember, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		res.Members[i].Member = m.Name
		wg.Add(1)
		go func() {
			defer wg.Done()
			vm := &res.Members[i]
			err := d.observeConn(ctx, m, func(c *pgx.Conn, _ bool) error {
				return pollUntil(ctx, time.Hour, func(ctx context.Context) (bool, error) {
					var n int
					err := c.QueryRow(ctx, `select count(*) from hadron_marker where id = $1`, res.Marker).Scan(&n)
					return n == 1, err
				})
			})
			vm.After = time.Since(committed)
			if err != nil {
				vm.Error = err.Error()
				return
			}
			vm.Seen = true
		}()
	}
	wg.Wait()
	return res, nil
}
