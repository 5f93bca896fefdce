package runbook_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/load"
	"hadron.dev/hadron/internal/runbook"
)

// A planned switchover east → west while the demo application takes writes: every
// acknowledged write is on the new primary, the ledger's RPO is zero, and the old
// primary follows the new one afterwards.
func TestSwitchoverUnderLoadLosesNoAcknowledgedWrite(t *testing.T) {
	p := newPGSet(t)
	_, members := coordtest.StartCluster(t, coordtest.Fleet(226))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p.bootstrap(ctx)

	// The demo application reaches whichever member accepts writes.
	var hosts, ports []string
	for _, m := range p.set.Spec.Members {
		h, port, _ := strings.Cut(m.Address.Address, ":")
		hosts, ports = append(hosts, h), append(ports, port)
	}
	dsn := fmt.Sprintf("host=%s port=%s user=hadron password=%s dbname=shop sslmode=disable target_session_attrs=read-write",
		strings.Join(hosts, ","), strings.Join(ports, ","), pgPassword)
	url := demotest.Serve(t, "east", dsn)
	demotest.WaitHealth(t, url, 200, time.Minute)

	var acked atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	results := make(chan *load.Result, 1)
	go func() {
		res, err := load.Run(loadCtx, load.Config{URL: url, Rate: 100, Duration: 2 * time.Minute, Workers: 8, Timeout: 2 * time.Second,
			OnAttempt: func(a load.Attempt) {
				if a.OK {
					acked.Add(1)
				}
			}})
		if err != nil {
			t.Error(err)
		}
		results <- res
	}()
	waitCount(t, ctx, "writes before the switchover", &acked, 100)

	c := members[0].Client
	el := coord.NewElector(c, "east", 10*time.Second)
	tok, err := el.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer el.Resign(context.Background())
	rec, err := runbook.Launch(ctx, c, tok, runbook.Switchover, "shop", "east", "west", "test", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	env := &runbook.Env{Client: c, Data: p.drv, VerifyURL: url + "/healthz"}
	if err := (&runbook.Engine{Client: c, Steps: env.Steps(), Budget: time.Minute}).Run(ctx, tok, rec); err != nil {
		t.Fatal(err)
	}
	after := acked.Load()
	waitCount(t, ctx, "writes after the switchover", &acked, after+100)
	stopLoad()
	res := <-results

	v, err := load.Verify(ctx, nil, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Lost) != 0 || v.Acked == 0 {
		t.Fatalf("%d acknowledged writes lost of %d: %v", len(v.Lost), v.Acked, v.Lost)
	}
	hist, err := runbook.History(ctx, c, "shop")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history: %v %v", hist, err)
	}
	h := hist[0]
	if h.RPO == nil || h.RPO.Bytes != 0 || h.RPO.Transactions != 0 || h.Promoted != "west-0" {
		t.Fatalf("ledger: promoted %q rpo %+v", h.Promoted, h.RPO)
	}
	p.waitMember(ctx, "east-0", "east-0 following west-0", func(m data.MemberStatus) bool {
		return !m.Primary && m.Upstream == "west-0" && m.State == data.StateStreaming
	})
	s := res.Summarize()
	var unavailable time.Duration
	for _, o := range s.Outages {
		unavailable = max(unavailable, o.Duration())
	}
	for _, st := range h.Steps {
		t.Logf("%-16s %7s  %s", st.Name, st.Ended.Sub(*st.Started).Round(time.Millisecond), st.Detail)
	}
	t.Logf("%d writes acknowledged, %d failed, none lost; longest write outage %s; RTO %s", v.Acked, s.Failed, unavailable, h.RTO)
}

func waitCount(t *testing.T, ctx context.Context, what string, n *atomic.Int64, want int64) {
	t.Helper()
	for n.Load() < want {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %d of %d", what, n.Load(), want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
