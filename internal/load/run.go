package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"hadron.dev/hadron/internal/demo/demoapi"
)

// Run writes seqs FirstSeq, FirstSeq+1, ... to cfg.URL at cfg.Rate for cfg.Duration (or
// until ctx ends or MaxWrites were started), waits for the writes in flight, and
// returns every attempt. Failed writes are not retried: each seq is written once, so
// an acknowledged seq is exactly one committed row. An error is returned only for an
// invalid configuration; ending ctx early still returns the Result so far.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(cfg.Timeout, cfg.KeepAlive, nil)
		defer hc.CloseIdleConnections()
	}
	base := strings.TrimRight(cfg.URL, "/")
	res := &Result{URL: base, Client: cfg.Client, Rate: cfg.Rate, Start: cfg.Now()}
	cfg.Log.Info("load starting", "url", base, "client", cfg.Client, "rate", cfg.Rate, "duration", cfg.Duration, "workers", cfg.Workers)

	jobs := make(chan int64, cfg.Workers)
	results := make(chan Attempt, cfg.Workers)
	var wg sync.WaitGroup
	// In-flight writes outlive the pacing so that they finish (bounded by Timeout) even
	// when ctx ends; their context is only cancelled after Timeout beyond that.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range jobs {
				results <- write(reqCtx, hc, cfg, base, seq)
			}
		}()
	}
	var attempts []Attempt
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for a := range results {
			if cfg.OnAttempt != nil {
				cfg.OnAttempt(a)
			}
			attempts = append(attempts, a)
		}
	}()

	res.Skipped = pace(ctx, cfg, jobs)
	close(jobs)
	stopLate := time.AfterFunc(cfg.Timeout+time.Second, cancelReqs)
	wg.Wait()
	stopLate.Stop()
	close(results)
	<-collected
	res.End = cfg.Now()
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].Seq < attempts[j].Seq })
	res.Attempts = attempts
	cfg.Log.Info("load finished", "client", cfg.Client, "attempts", len(attempts), "skipped", res.Skipped)
	return res, nil
}

// pace hands seqs to the workers on a fixed schedule (the k-th at start + k/Rate, so
// the rate holds even when the process is descheduled for a moment) until the
// duration passes, ctx ends or MaxWrites seqs were handed out. A slot at which no
// worker is free is skipped (and counted), so a slow service does not make the load
// burst afterwards.
func pace(ctx context.Context, cfg Config, jobs chan<- int64) (skipped int64) {
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	seq := cfg.FirstSeq
	for k, n := int64(0), int64(0); cfg.MaxWrites == 0 || n < cfg.MaxWrites; k++ {
		due := time.Duration(k) * interval
		if due >= cfg.Duration {
			return skipped
		}
		if wait := time.Until(start.Add(due)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return skipped
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return skipped
		}
		select {
		case jobs <- seq:
			seq++
			n++
		default:
			skipped++
		}
	}
	return skipped
}

// write posts one seq and reports the attempt.
func write(ctx context.Context, hc *http.Client, cfg Config, base string, seq int64) Attempt {
	a := Attempt{Seq: seq, Sent: cfg.Now()}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	u := base + "/write?client=" + cfg.Client + "&seq=" + strconv.FormatInt(seq, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		a.Done, a.Err = cfg.Now(), err.Error()
		return a
	}
	resp, err := hc.Do(req)
	if err != nil {
		a.Done, a.Err = cfg.Now(), err.Error()
		return a
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	a.Done = cfg.Now()
	if err != nil {
		a.Status, a.Err = resp.StatusCode, "reading response: "+err.Error()
		return a
	}
	if resp.StatusCode != http.StatusOK {
		a.Status, a.Err = resp.StatusCode, errorText(body)
		return a
	}
	var w demoapi.WriteResponse
	if err := json.Unmarshal(body, &w); err != nil {
		a.Status, a.Err = resp.StatusCode, "decoding acknowledgement: "+err.Error()
		return a
	}
	if w.Client != cfg.Client || w.Seq != seq || w.ID == 0 {
		a.Status, a.Err = resp.StatusCode, fmt.Sprintf("acknowledgement for client %q seq %d id %d does not match the write", w.Client, w.Seq, w.ID)
		return a
	}
	a.OK, a.ID, a.Site, a.DB, a.Duplicate = true, w.ID, w.Site, w.DB, w.Duplicate
	return a
}

// errorText is the server's JSON error message, or the start of the body.
func errorText(body []byte) string {
	var e demoapi.Error
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// NewHTTPClient returns the client Run uses: no proxy from the environment, every
// request bounded by timeout, and (unless keepAlive) a new connection and a fresh name
// resolution per request. resolver nil is the system's.
func NewHTTPClient(timeout time.Duration, keepAlive bool, resolver *net.Resolver) *http.Client {
	d := &net.Dialer{Timeout: timeout, Resolver: resolver}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			DisableKeepAlives:     !keepAlive,
			IdleConnTimeout:       time.Second,
			MaxIdleConnsPerHost:   64,
			ResponseHeaderTimeout: timeout,
			TLSHandshakeTimeout:   timeout,
		},
	}
}
