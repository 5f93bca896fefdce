package load

import (
	"sort"
	"time"

	"hadron.dev/hadron/internal/demo/demoapi"
)

// Attempt is one write as the client saw it.
type Attempt struct {
	Seq  int64     `json:"seq"`
	Sent time.Time `json:"sent"`
	Done time.Time `json:"done"`
	// OK: the server acknowledged the write (HTTP 200 with the row), so it is committed.
	OK bool `json:"ok"`
	// ID, Site and DB come from the acknowledgement.
	ID        int64  `json:"id,omitempty"`
	Site      string `json:"site,omitempty"`
	DB        string `json:"db,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
	// Status is the HTTP status of a failed write (0: no response).
	Status int    `json:"status,omitempty"`
	Err    string `json:"err,omitempty"`
}

// Outage is a window in which the client's writes failed: from the moment the first
// failed write was sent to the moment the first write sent after it was acknowledged.
type Outage struct {
	Start time.Time `json:"start"`
	// End is zero when no write succeeded afterwards (Open); in a Summary an open
	// window ends with the run.
	End  time.Time `json:"end,omitzero"`
	Open bool      `json:"open"`
	// LastSuccess is when the last write sent before the window opened was acknowledged
	// (zero when none was).
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	Failures    int       `json:"failures"`
	FirstSeq    int64     `json:"firstSeq"`
	LastSeq     int64     `json:"lastSeq"`
}

// Duration is the window's length (0 while End is unknown).
func (o Outage) Duration() time.Duration {
	if o.End.IsZero() {
		return 0
	}
	return o.End.Sub(o.Start)
}

// Outages finds the failure windows in attempts (any order). A window opens at the
// send time of a failed write when none is open, and closes at the completion of the
// first acknowledged write sent at or after the window opened. Writes are ordered by
// send time (then seq), the order in which the client asked.
func Outages(attempts []Attempt) []Outage {
	as := append([]Attempt(nil), attempts...)
	sort.SliceStable(as, func(i, j int) bool {
		if !as[i].Sent.Equal(as[j].Sent) {
			return as[i].Sent.Before(as[j].Sent)
		}
		return as[i].Seq < as[j].Seq
	})
	var out []Outage
	var cur *Outage
	var lastSuccess time.Time
	for _, a := range as {
		switch {
		case !a.OK && cur == nil:
			out = append(out, Outage{Start: a.Sent, Open: true, LastSuccess: lastSuccess, Failures: 1, FirstSeq: a.Seq, LastSeq: a.Seq})
			cur = &out[len(out)-1]
		case !a.OK:
			cur.Failures++
			cur.LastSeq = a.Seq
		case cur != nil:
			cur.End, cur.Open = a.Done, false
			cur = nil
		}
		if a.OK && a.Done.After(lastSuccess) {
			lastSuccess = a.Done
		}
	}
	return out
}

// Lost returns the acknowledged seqs that are not present, ascending and without
// duplicates: the writes a failover lost although the client was told they were
// committed. present must be well formed (demoapi.Check).
func Lost(acked []int64, present []demoapi.Range) []int64 {
	s := append([]int64(nil), acked...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	out := []int64{}
	for i, v := range s {
		if i > 0 && v == s[i-1] {
			continue
		}
		if !demoapi.Contains(present, v) {
			out = append(out, v)
		}
	}
	return out
}

// Result is what a run did.
type Result struct {
	URL    string    `json:"url"`
	Client string    `json:"client"`
	Rate   float64   `json:"rate"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Attempts are every write, ascending by seq.
	Attempts []Attempt `json:"attempts"`
	// Skipped counts ticks at which every worker was busy.
	Skipped int64 `json:"skipped"`
}

// AckedSeqs lists the acknowledged seqs, ascending.
func (r *Result) AckedSeqs() []int64 {
	var out []int64
	for _, a := range r.Attempts {
		if a.OK {
			out = append(out, a.Seq)
		}
	}
	return out
}

// FailedSeqs lists the seqs whose write failed, ascending. They may or may not be
// committed (an acknowledgement can be lost after the commit).
func (r *Result) FailedSeqs() []int64 {
	var out []int64
	for _, a := range r.Attempts {
		if !a.OK {
			out = append(out, a.Seq)
		}
	}
	return out
}

// Summary condenses a Result.
type Summary struct {
	URL        string         `json:"url"`
	Client     string         `json:"client"`
	Duration   time.Duration  `json:"durationNs"`
	Attempts   int            `json:"attempts"`
	Acked      int            `json:"acked"`
	Failed     int            `json:"failed"`
	Duplicates int            `json:"duplicates"`
	Skipped    int64          `json:"skipped"`
	AckedRate  float64        `json:"ackedPerSecond"`
	BySite     map[string]int `json:"ackedBySite"`
	ByDB       map[string]int `json:"ackedByDB"`
	// Latency of acknowledged writes.
	P50 time.Duration `json:"p50Ns"`
	P99 time.Duration `json:"p99Ns"`
	Max time.Duration `json:"maxNs"`
	// Outages and their total; FirstFailure and FirstSuccessAfterFailure are the first
	// window's bounds (zero when there was none / it never closed).
	Outages                  []Outage      `json:"outages"`
	Unavailable              time.Duration `json:"unavailableNs"`
	FirstFailure             time.Time     `json:"firstFailure,omitzero"`
	FirstSuccessAfterFailure time.Time     `json:"firstSuccessAfterFailure,omitzero"`
}

// Summarize computes the Summary of r.
func (r *Result) Summarize() Summary {
	s := Summary{URL: r.URL, Client: r.Client, Duration: r.End.Sub(r.Start), Attempts: len(r.Attempts),
		Skipped: r.Skipped, BySite: map[string]int{}, ByDB: map[string]int{}}
	var lat []time.Duration
	for _, a := range r.Attempts {
		if !a.OK {
			s.Failed++
			continue
		}
		s.Acked++
		if a.Duplicate {
			s.Duplicates++
		}
		s.BySite[a.Site]++
		s.ByDB[a.DB]++
		lat = append(lat, a.Done.Sub(a.Sent))
	}
	if s.Duration > 0 {
		s.AckedRate = float64(s.Acked) / s.Duration.Seconds()
	}
	s.P50, s.P99, s.Max = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1)
	s.Outages = Outages(r.Attempts)
	if s.Outages == nil {
		s.Outages = []Outage{}
	}
	for i := range s.Outages {
		if s.Outages[i].Open {
			s.Outages[i].End = r.End
		}
		s.Unavailable += s.Outages[i].Duration()
	}
	if len(s.Outages) > 0 {
		s.FirstFailure = s.Outages[0].Start
		if !s.Outages[0].Open {
			s.FirstSuccessAfterFailure = s.Outages[0].End
		}
	}
	return s
}

// percentile is the nearest-rank percentile p (0..1] of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}
