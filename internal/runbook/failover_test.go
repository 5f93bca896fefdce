package runbook_test

import (
	"context"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/runbook"
)

// East is cut off from west with commits west never received; the leader still reaches
// east's primary. The failover fences it, promotes west-0 under the leader's token and
// records as RPO exactly what the driver counts in east-0's WAL. The failback then
// rewinds east-0, brings it home and loses none of the writes taken at west.
func TestFailoverRecordsLossThenFailbackLosesNothing(t *testing.T) {
	p := newPGSet(t)
	_, members := coordtest.StartCluster(t, coordtest.Fleet(225))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p.bootstrap(ctx)
	p.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	p.insert(ctx, "east-0", 1, 100)
	p.waitMember(ctx, "west-0", "west-0 caught up", func(m data.MemberStatus) bool {
		return m.State == data.StateStreaming && m.LagBytes == 0
	})
	p.link.Stop()
	p.insert(ctx, "east-0", 101, 140) // committed at east, never shipped to west

	c := members[0].Client
	el := coord.NewElector(c, "east", 10*time.Second)
	tok, err := el.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer el.Resign(context.Background())
	rec, err := runbook.Launch(ctx, c, tok, runbook.Failover, "shop", "east", "west", "test", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	env := &runbook.Env{Client: c, Data: p.drv}
	eng := &runbook.Engine{Client: c, Steps: env.Steps(), Budget: time.Minute}
	if err := eng.Run(ctx, tok, rec); err != nil {
		t.Fatal(err)
	}

	hist, err := runbook.History(ctx, c, "shop")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history: %v %v", hist, err)
	}
	h := hist[0]
	if h.Promoted != "west-0" || h.OldPrimary != "east-0" || h.RPO == nil {
		t.Fatalf("ledger: promoted %q old %q rpo %+v", h.Promoted, h.OldPrimary, h.RPO)
	}
	st, err := p.drv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Primary != "west-0" || st.Member("east-0").State != data.StateFenced {
		t.Fatalf("after failover: primary %q, east-0 %s", st.Primary, st.Member("east-0").State)
	}
	counted, err := p.drv.CountLoss(ctx, "east-0", h.RPO.From, h.RPO.To)
	if err != nil {
		t.Fatal(err)
	}
	if h.RPO.Bytes != counted.Bytes || h.RPO.Transactions != counted.Transactions || !h.RPO.Counted {
		t.Fatalf("ledger RPO %+v, driver counts %+v", *h.RPO, counted)
	}
	// 40 inserts were never shipped; autovacuum may have committed besides.
	if h.RPO.Transactions < 40 || h.RPO.Bytes <= 0 {
		t.Fatalf("ledger RPO %+v: want at least the 40 unshipped commits", *h.RPO)
	}
	if n := p.count(ctx, "west-0"); n != 100 {
		t.Fatalf("west-0 has %d rows, want the 100 shipped", n)
	}
	if h.Verified == nil || h.RTO <= 0 {
		t.Fatalf("not verified: %+v", h)
	}
	for _, s := range h.Steps {
		t.Logf("%-8s %6s  %s", s.Name, s.Ended.Sub(*s.Started).Round(time.Millisecond), s.Detail)
	}
	t.Logf("RTO (decision → verified) %s; RPO %d bytes, %d transactions", h.RTO, h.RPO.Bytes, h.RPO.Transactions)

	// West takes writes, the link comes back, and the application goes home.
	p.insert(ctx, "west-0", 101, 120)
	if err := p.link.Start(); err != nil {
		t.Fatal(err)
	}
	back, err := runbook.Launch(ctx, c, tok, runbook.Failback, "shop", "west", "east", "test", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Run(ctx, tok, back); err != nil {
		t.Fatal(err)
	}
	hist, err = runbook.History(ctx, c, "shop")
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %v %v", hist, err)
	}
	fb := hist[1]
	if fb.Kind != runbook.Failback || fb.Promoted != "east-0" || fb.RPO == nil || fb.RPO.Bytes != 0 {
		t.Fatalf("failback ledger: %+v", fb)
	}
	if n := p.count(ctx, "east-0"); n != 120 {
		t.Fatalf("east-0 has %d rows after the failback, want 120 (100 shipped before, 20 written at west)", n)
	}
	p.waitMember(ctx, "west-0", "west-0 following east-0", func(m data.MemberStatus) bool {
		return !m.Primary && m.Upstream == "east-0" && m.State == data.StateStreaming
	})
	for _, s := range fb.Steps {
		t.Logf("failback %-16s %7s  %s", s.Name, s.Ended.Sub(*s.Started).Round(time.Millisecond), s.Detail)
	}
}
