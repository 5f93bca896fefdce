package runbook_test

import (
	"errors"
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
	"hadron.dev/hadron/internal/runbook"
)

// An automatic failover that would lose more than the mirror set allows stops before
// promoting, on real PostgreSQL. A plain resume is refused; a person's forced resume
// promotes west-0, records the loss and the person, and keeps "auto" as the decider.
func TestAutoFailoverStoppedAtLossBoundResumesOnlyWithForce(t *testing.T) {
	p := newPGSet(t)
	ctx, c, tok := leading(t, 243)
	p.bootstrap(ctx)
	p.exec(ctx, "east-0", `create table seq (n bigint primary key)`)
	p.insert(ctx, "east-0", 1, 50)
	p.waitMember(ctx, "west-0", "west-0 caught up", func(m data.MemberStatus) bool {
		return m.State == data.StateStreaming && m.LagBytes == 0
	})
	p.link.Stop()
	p.insert(ctx, "east-0", 51, 60) // committed at east, never shipped to west

	rec, err := runbook.Launch(ctx, c, tok, runbook.Failover, "shop", "east", "west", "auto", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bound := int64(0) // any loss is above it
	env := &runbook.Env{Client: c, Data: p.drv, MaxAutoLoss: &bound}
	eng := &runbook.Engine{Client: c, Steps: env.Steps(), Budget: time.Minute}
	if err := eng.Run(ctx, tok, rec); !errors.Is(err, runbook.ErrLossBound) {
		t.Fatalf("automatic failover above the bound: %v, want ErrLossBound", err)
	}
	failed, err := runbook.Open(ctx, c, "shop")
	if err != nil || failed == nil || failed.Status != runbook.StatusFailed || !failed.NeedsForce {
		t.Fatalf("open run: %+v %v", failed, err)
	}
	if st, err := p.drv.Status(ctx); err != nil || st.Member("west-0").Primary {
		t.Fatalf("west-0 promoted by a stopped run: %v", err)
	}

	if _, err := runbook.ResumeRun(ctx, c, tok, "shop", failed.ID, "bob", false, time.Now()); !errors.Is(err, runbook.ErrForceNeeded) {
		t.Fatalf("unforced resume: %v, want ErrForceNeeded", err)
	}
	resumed, err := runbook.ResumeRun(ctx, c, tok, "shop", failed.ID, "bob", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Run(ctx, tok, resumed); err != nil {
		t.Fatal(err)
	}
	hist, err := runbook.History(ctx, c, "shop")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history: %+v %v", hist, err)
	}
	h := hist[0]
	if h.Status != runbook.StatusDone || h.Who != "auto" || !h.Force || h.Promoted != "west-0" ||
		len(h.Resumes) != 1 || h.Resumes[0].Who != "bob" || !h.Resumes[0].Force {
		t.Fatalf("ledger: %+v", h)
	}
	if h.RPO == nil || h.RPO.Bytes <= 0 {
		t.Fatalf("ledger RPO %+v: want the unshipped commits", h.RPO)
	}
	if n := p.count(ctx, "west-0"); n != 50 {
		t.Fatalf("west-0 has %d rows, want the 50 shipped", n)
	}
	t.Logf("stopped with %q; resumed by %s; RPO %d bytes, %d transactions", h.Resumes[0].Failure, h.Resumes[0].Who, h.RPO.Bytes, h.RPO.Transactions)
}
