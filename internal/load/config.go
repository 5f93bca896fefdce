// Package load drives writes into the demo application (POST /write with increasing
// sequence numbers), records every acknowledged and every failed write with its time,
// and computes what a failover cost a client: the windows in which writes failed
// (client-view unavailability, the client's RTO) and exactly which acknowledged writes
// are missing afterwards (Lost, the RPO in writes). Drills use it through Run and Verify;
// `hadron-demo load` is its command line.
package load

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Limits that keep a run bounded whatever the caller asks.
const (
	MaxDuration = 2 * time.Hour
	MaxRate     = 10000
	MaxWorkers  = 256
)

// Config describes one load run.
type Config struct {
	// URL is the demo application's base URL, e.g. http://shop.gslb.example.com:8080.
	URL string
	// Client is the client id whose seqs are written (default "load-" and 8 random hex
	// digits, so a new run never collides with an earlier one's seqs).
	Client string
	// Rate is the target number of writes per second across all workers (default 100).
	Rate float64
	// Duration is how long writes are started (required; at most MaxDuration).
	Duration time.Duration
	// Workers is the number of concurrent writers (default 8). When all are busy (the
	// service is slow or down) a tick is skipped rather than queued, and counted.
	Workers int
	// Timeout bounds each request, connection included (default 2s).
	Timeout time.Duration
	// FirstSeq is the first sequence number (default 1).
	FirstSeq int64
	// MaxWrites stops the run after that many attempts (0: no limit).
	MaxWrites int64
	// KeepAlive reuses connections (with a one-second idle timeout). By default every
	// write opens a new connection and resolves the host name again, as a fresh client
	// would, so a DNS change or a failed site is seen at once.
	KeepAlive bool
	// HTTPClient replaces the client built from Timeout and KeepAlive (e.g. one whose
	// dialer resolves names at the GSLB's own DNS server).
	HTTPClient *http.Client
	// OnAttempt, when set, sees every attempt as it completes (from one goroutine), for
	// live progress or for a drill that acts when writes start failing.
	OnAttempt func(Attempt)
	// Log receives progress (default: discarded).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// withDefaults returns c with defaults filled in, or an ErrConfig error.
func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("%w: url %q: want http(s)://host[:port]", ErrConfig, c.URL)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		return c, fmt.Errorf("%w: duration %s: want more than 0 and at most %s", ErrConfig, c.Duration, MaxDuration)
	}
	if c.Rate == 0 {
		c.Rate = 100
	}
	if c.Rate < 0 || c.Rate > MaxRate {
		return c, fmt.Errorf("%w: rate %g: want more than 0 and at most %d per second", ErrConfig, c.Rate, MaxRate)
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.Workers < 0 || c.Workers > MaxWorkers {
		return c, fmt.Errorf("%w: workers %d: want 1 to %d", ErrConfig, c.Workers, MaxWorkers)
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("%w: timeout %s is negative", ErrConfig, c.Timeout)
	}
	if c.FirstSeq == 0 {
		c.FirstSeq = 1
	}
	if c.FirstSeq < 0 || c.MaxWrites < 0 {
		return c, fmt.Errorf("%w: first seq and max writes must not be negative", ErrConfig)
	}
	if c.Client == "" {
		c.Client = NewClientID()
	}
	if !validClient(c.Client) {
		return c, fmt.Errorf("%w: client %q: want 1 to 64 letters, digits, '-', '_' or '.'", ErrConfig, c.Client)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// NewClientID returns "load-" and 8 random hex digits.
func NewClientID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "load-" + hex.EncodeToString(b)
}

// validClient mirrors the server's rule for client ids, so ids go into URLs unescaped.
func validClient(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
