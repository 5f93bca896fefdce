package runbook

import (
	"testing"
	"time"

	"hadron.dev/hadron/internal/data"
)

func TestCompleteRPO(t *testing.T) {
	lower := func() *Record {
		return &Record{Kind: Failover, Status: StatusDone, RPO: &data.Loss{From: 0x4000, To: 0x3F00, Bytes: 0, Method: "positions"}}
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ds := []data.Discard{
		{Member: "east-1", Fork: 0x4000, To: 0x4100, Transactions: 2, Bytes: 0x100, At: at},
		{Member: "east-0", Fork: 0x4000, To: 0x4800, Transactions: 7, Bytes: 0x800, At: at},
		{Member: "east-0", Fork: 0x9000, To: 0x9900, Transactions: 40, Bytes: 0x900, At: at},
	}
	r := lower()
	if !CompleteRPO(r, ds) || !r.RPO.Counted || r.RPO.Transactions != 7 || r.RPO.Bytes != 0x800 || r.RPO.To != 0x4800 {
		t.Fatalf("completed RPO %+v: want east-0's 7 transactions past the fork", *r.RPO)
	}
	if CompleteRPO(r, ds) {
		t.Fatal("a counted RPO was completed again")
	}
	if r := lower(); CompleteRPO(r, ds[2:]) || r.RPO.Counted {
		t.Fatal("a discard at another fork completed the RPO")
	}
	sw := lower()
	sw.Kind = Switchover
	if CompleteRPO(sw, ds) {
		t.Fatal("a switchover's RPO was completed")
	}
	// A person's promotion outside the daemons, without its old primary, is counted
	// the same way when the old primary is rewound.
	byHand := lower()
	byHand.Kind = Promote
	if !CompleteRPO(byHand, ds) || byHand.RPO.Transactions != 7 {
		t.Fatalf("a promotion by hand was not completed: %+v", *byHand.RPO)
	}
	open := lower()
	open.Status = StatusRunning
	if NeedsCount(open) {
		t.Fatal("an open run needs no count yet")
	}
}
