package load_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/internal/demo/demotest"
	"hadron.dev/hadron/internal/load"
)

func TestLoadAgainstPostgres(t *testing.T) {
	pg := demotest.StartPG(t)
	url := demotest.Serve(t, "east", pg.DSN())
	demotest.WaitHealth(t, url, 200, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := load.Run(ctx, load.Config{URL: url, Rate: 200, Duration: 2 * time.Second, Workers: 8})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summarize()
	if s.Acked == 0 || s.Failed != 0 || len(s.Outages) != 0 {
		t.Fatalf("summary %+v (first attempt %+v)", s, res.Attempts[0])
	}
	v, err := load.Verify(ctx, nil, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Lost) != 0 || v.Present != int64(s.Acked) {
		t.Fatalf("verification %+v after %d acknowledged writes", v, s.Acked)
	}
	t.Logf("%d writes acknowledged in %s, p50 %s p99 %s", s.Acked, s.Duration, s.P50, s.P99)
}

// TestLoadAcrossCrash kills PostgreSQL while writes go on, starts it again, and checks
// that no acknowledged write is missing (commits are durable) and that the window in
// which writes failed is recorded.
func TestLoadAcrossCrash(t *testing.T) {
	pg := demotest.StartPG(t)
	url := demotest.Serve(t, "east", pg.DSN())
	demotest.WaitHealth(t, url, 200, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()

	// The collector reports progress: enough acks before the crash, a failure after
	// it, an ack after the restart. Each channel is closed once.
	var acked, failedAfterCrash atomic.Int64
	var crashed atomic.Bool
	warm, failing, recovered := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var recoveredOnce, failingOnce, warmOnce atomic.Bool
	restarted := make(chan struct{})
	cfg := load.Config{URL: url, Rate: 200, Duration: 2 * time.Minute, Workers: 8, Timeout: time.Second,
		OnAttempt: func(a load.Attempt) {
			if a.OK {
				if acked.Add(1) >= 100 && warmOnce.CompareAndSwap(false, true) {
					close(warm)
				}
				select {
				case <-restarted:
					if recoveredOnce.CompareAndSwap(false, true) {
						close(recovered)
					}
				default:
				}
				return
			}
			if crashed.Load() && failedAfterCrash.Add(1) == 1 && failingOnce.CompareAndSwap(false, true) {
				close(failing)
			}
		}}
	type out struct {
		res *load.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := load.Run(runCtx, cfg)
		done <- out{res, err}
	}()

	waitFor(t, warm, "100 acknowledged writes before the crash")
	crashed.Store(true)
	pg.Kill(t)
	waitFor(t, failing, "a failed write after the crash")
	pg.Start(t)
	close(restarted)
	waitFor(t, recovered, "an acknowledged write after the restart")
	stopRun()
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	s := o.res.Summarize()
	if s.Failed == 0 || len(s.Outages) == 0 || s.Outages[len(s.Outages)-1].Open || s.FirstFailure.IsZero() ||
		!s.FirstSuccessAfterFailure.After(s.FirstFailure) {
		t.Fatalf("summary %+v: want failures and a closed outage", s)
	}
	v, err := load.Verify(ctx, nil, o.res)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Lost) != 0 {
		t.Fatalf("lost acknowledged writes %v", v.Lost)
	}
	if want := int64(s.Acked + v.Unacknowledged); v.Present != want {
		t.Fatalf("present %d, want %d acknowledged + %d committed without acknowledgement", v.Present, s.Acked, v.Unacknowledged)
	}
	t.Logf("acked %d, failed %d, unavailable %s in %d window(s), committed without ack %d",
		s.Acked, s.Failed, s.Unavailable, len(s.Outages), v.Unacknowledged)
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}
