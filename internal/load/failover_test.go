package load_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/load"
)

// TestLoadAcrossFailover crashes the primary of a primary + synchronous standby pair
// while writes go on and promotes the standby. The demo application, whose DSN names
// both, must follow to the new primary without a restart, and since every
// acknowledged commit was on the standby, none may be lost.
func TestLoadAcrossFailover(t *testing.T) {
	primary := demotest.StartPG(t)
	standby := demotest.StartStandby(t, primary, true)
	dsn := fmt.Sprintf("postgres://postgres:%s@%s,%s/postgres?sslmode=disable&connect_timeout=2&target_session_attrs=read-write",
		demotest.Password, primary.Addr, standby.Addr)
	url := demotest.Serve(t, "east", dsn)
	demotest.WaitHealth(t, url, 200, time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var acked atomic.Int64
	var crashed, signalledFail, signalledNew atomic.Bool
	warm, failing, onNew := make(chan struct{}), make(chan struct{}), make(chan struct{})
	cfg := load.Config{URL: url, Rate: 200, Duration: 2 * time.Minute, Workers: 8, Timeout: 2 * time.Second,
		OnAttempt: func(a load.Attempt) {
			switch {
			case a.OK && acked.Add(1) == 100:
				close(warm)
			case !a.OK && crashed.Load() && signalledFail.CompareAndSwap(false, true):
				close(failing)
			case a.OK && a.DB == standby.Addr && signalledNew.CompareAndSwap(false, true):
				close(onNew)
			}
		}}
	done := make(chan *load.Result, 1)
	go func() {
		res, err := load.Run(runCtx, cfg)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	waitFor(t, warm, "100 acknowledged writes on the primary")
	crashed.Store(true)
	primary.Kill(t)
	waitFor(t, failing, "a failed write after the crash")
	standby.Promote(t)
	waitFor(t, onNew, "an acknowledged write on the promoted standby")
	stopRun()
	res := <-done
	if res == nil {
		t.FailNow()
	}
	s := res.Summarize()
	if s.ByDB[primary.Addr] < 100 || s.ByDB[standby.Addr] == 0 || len(s.Outages) == 0 || s.Outages[len(s.Outages)-1].Open {
		t.Fatalf("summary %+v", s)
	}
	v, err := load.Verify(ctx, nil, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Lost) != 0 {
		t.Fatalf("a synchronous standby lost acknowledged writes %v", v.Lost)
	}
	if v.DB != standby.Addr {
		t.Fatalf("read back from %s, want the new primary %s", v.DB, standby.Addr)
	}
	t.Logf("acked %d (%v), failed %d, client-view unavailability %s, committed without ack %d",
		s.Acked, s.ByDB, s.Failed, s.Unavailable, v.Unacknowledged)
}
