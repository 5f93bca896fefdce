package load

import (
	"reflect"
	"testing"
	"time"

	"hadron.dev/hadron/internal/demo/demoapi"
)

func TestLost(t *testing.T) {
	tests := []struct {
		name    string
		acked   []int64
		present []demoapi.Range
		want    []int64
	}{
		{"nothing acked", nil, []demoapi.Range{{1, 5}}, []int64{}},
		{"all present", []int64{1, 2, 3}, []demoapi.Range{{1, 3}}, []int64{}},
		{"nothing present", []int64{3, 1, 2}, []demoapi.Range{}, []int64{1, 2, 3}},
		{"tail lost (async failover)", []int64{1, 2, 3, 4, 5}, []demoapi.Range{{1, 3}}, []int64{4, 5}},
		{"holes", []int64{1, 2, 3, 4, 5, 6, 7}, []demoapi.Range{{1, 1}, {3, 4}, {7, 7}}, []int64{2, 5, 6}},
		{"present but unacked is not lost", []int64{2, 4}, []demoapi.Range{{1, 5}}, []int64{}},
		{"duplicates counted once", []int64{9, 9, 8}, []demoapi.Range{{1, 7}}, []int64{8, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Lost(tt.acked, tt.present); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Lost(%v, %v) = %v, want %v", tt.acked, tt.present, got, tt.want)
			}
		})
	}
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// ok and fail are attempts sent at sent ms and done at done ms.
func ok(seq int64, sent, done int) Attempt {
	return Attempt{Seq: seq, Sent: at(sent), Done: at(done), OK: true, Site: "east", DB: "db1"}
}
func fail(seq int64, sent, done int) Attempt {
	return Attempt{Seq: seq, Sent: at(sent), Done: at(done), Err: "down"}
}

func TestOutages(t *testing.T) {
	tests := []struct {
		name     string
		attempts []Attempt
		want     []Outage
	}{
		{"none", []Attempt{ok(1, 0, 5), ok(2, 10, 15)}, nil},
		{"one window", []Attempt{ok(1, 0, 5), fail(2, 10, 2010), fail(3, 20, 2020), ok(4, 30, 3000), ok(5, 40, 45)},
			[]Outage{{Start: at(10), End: at(3000), LastSuccess: at(5), Failures: 2, FirstSeq: 2, LastSeq: 3}}},
		{"a success sent before the failure does not close it", []Attempt{ok(1, 0, 500), fail(2, 10, 20), ok(3, 30, 40)},
			[]Outage{{Start: at(10), End: at(40), LastSuccess: at(500), Failures: 1, FirstSeq: 2, LastSeq: 2}}},
		{"two windows, any input order", []Attempt{ok(6, 60, 65), fail(5, 50, 55), ok(4, 40, 45), ok(3, 30, 35), fail(2, 20, 25), ok(1, 0, 5)},
			[]Outage{
				{Start: at(20), End: at(35), LastSuccess: at(5), Failures: 1, FirstSeq: 2, LastSeq: 2},
				{Start: at(50), End: at(65), LastSuccess: at(45), Failures: 1, FirstSeq: 5, LastSeq: 5},
			}},
		{"never recovered", []Attempt{fail(1, 0, 5), fail(2, 10, 15)},
			[]Outage{{Start: at(0), Open: true, Failures: 2, FirstSeq: 1, LastSeq: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Outages(tt.attempts); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Outages =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	r := &Result{URL: "http://x", Client: "c", Start: at(0), End: at(10000), Attempts: []Attempt{
		ok(1, 0, 10), fail(2, 100, 200), ok(3, 1100, 1130), ok(4, 1200, 1220), fail(5, 9000, 9100),
	}}
	r.Attempts[3].Site, r.Attempts[3].DB, r.Attempts[3].Duplicate = "west", "db2", true
	s := r.Summarize()
	if s.Attempts != 5 || s.Acked != 3 || s.Failed != 2 || s.Duplicates != 1 {
		t.Fatalf("counts: %+v", s)
	}
	if !reflect.DeepEqual(s.BySite, map[string]int{"east": 2, "west": 1}) || !reflect.DeepEqual(s.ByDB, map[string]int{"db1": 2, "db2": 1}) {
		t.Fatalf("by site %v, by db %v", s.BySite, s.ByDB)
	}
	if s.P50 != 20*time.Millisecond || s.P99 != 30*time.Millisecond || s.Max != 30*time.Millisecond {
		t.Fatalf("latency p50 %s p99 %s max %s", s.P50, s.P99, s.Max)
	}
	// Window 1: 100ms..1130ms; window 2 is open from 9000ms to the end (10000ms).
	if len(s.Outages) != 2 || s.Unavailable != 1030*time.Millisecond+1000*time.Millisecond {
		t.Fatalf("outages %+v unavailable %s", s.Outages, s.Unavailable)
	}
	if !s.FirstFailure.Equal(at(100)) || !s.FirstSuccessAfterFailure.Equal(at(1130)) {
		t.Fatalf("first failure %s, first success after %s", s.FirstFailure, s.FirstSuccessAfterFailure)
	}
	if s.AckedRate != 0.3 {
		t.Fatalf("acked rate %g", s.AckedRate)
	}
}

func TestCompare(t *testing.T) {
	r := &Result{Client: "c", Attempts: []Attempt{ok(1, 0, 1), ok(2, 0, 1), fail(3, 0, 1), fail(4, 0, 1), ok(5, 0, 1)}}
	v := Compare(r, &demoapi.ReadResponse{Ranges: []demoapi.Range{{1, 1}, {3, 3}}, Site: "west", DB: "db2"})
	want := &Verification{Client: "c", Present: 2, Acked: 3, Lost: []int64{2, 5}, Unacknowledged: 1, Site: "west", DB: "db2"}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("Compare = %+v, want %+v", v, want)
	}
}

func TestConfigDefaultsAndLimits(t *testing.T) {
	c, err := Config{URL: "http://127.0.0.1:1", Duration: time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 100 || c.Workers != 8 || c.Timeout != 2*time.Second || c.FirstSeq != 1 || len(c.Client) != len("load-")+8 {
		t.Fatalf("defaults: %+v", c)
	}
	for name, bad := range map[string]Config{
		"no url":       {Duration: time.Second},
		"ftp url":      {URL: "ftp://x", Duration: time.Second},
		"no duration":  {URL: "http://x"},
		"too long":     {URL: "http://x", Duration: MaxDuration + 1},
		"rate too big": {URL: "http://x", Duration: time.Second, Rate: MaxRate + 1},
		"workers":      {URL: "http://x", Duration: time.Second, Workers: MaxWorkers + 1},
		"client":       {URL: "http://x", Duration: time.Second, Client: "a&seq=9"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
