package timeline

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/drill"
	"hadron.dev/hadron/internal/runbook"
)

var t0 = time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)

func at(ms int) *time.Time { t := t0.Add(time.Duration(ms) * time.Millisecond); return &t }

func TestFromRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rec   runbook.Record
		now   int
		bars  []Bar
		marks []string
		span  time.Duration
	}{{
		name: "a person's switchover half way: done, running, waiting",
		rec: runbook.Record{App: "shop", Kind: runbook.Switchover, From: "east", To: "west", Who: "ops", Decided: *at(0),
			Steps: []runbook.StepRecord{
				{Name: "fence", Started: at(0), Ended: at(400), Detail: "east fenced"},
				{Name: "dns", Started: at(400), Ended: at(900)},
				{Name: "verify", Started: at(900)},
				{Name: "close"},
			}},
		now: 1500,
		bars: []Bar{
			{Name: "fence", Start: 0, End: 400 * time.Millisecond, State: Done, Detail: "east fenced"},
			{Name: "dns", Start: 400 * time.Millisecond, End: 900 * time.Millisecond, State: Done},
			{Name: "verify", Start: 900 * time.Millisecond, End: 1500 * time.Millisecond, State: Running},
			{Name: "close", State: Waiting},
		},
		marks: []string{"decision@0s", "dns@900ms"},
		span:  1500 * time.Millisecond,
	}, {
		name: "an automatic failover starts at the first failed probe; a failed step is marked failed",
		rec: runbook.Record{App: "shop", Kind: runbook.Failover, From: "east", To: "west", Who: "auto", Decided: *at(2000),
			FirstFailedProbe: at(0), Verified: nil,
			Steps: []runbook.StepRecord{{Name: "promote", Started: at(2100), Error: "no member"}}},
		now:   2500,
		bars:  []Bar{{Name: "promote", Start: 2100 * time.Millisecond, End: 2100 * time.Millisecond, State: Failed, Error: "no member"}},
		marks: []string{"detection@0s", "decision@2s"},
		span:  2100 * time.Millisecond,
	}, {
		name: "a closed run ends at verified",
		rec: runbook.Record{App: "shop", Kind: runbook.Failover, Who: "auto", Decided: *at(0), Verified: at(3000),
			Steps: []runbook.StepRecord{{Name: "verify", Started: at(1000), Ended: at(3000)}}},
		now:   9000,
		bars:  []Bar{{Name: "verify", Start: time.Second, End: 3 * time.Second, State: Done}},
		marks: []string{"decision@0s", "verified@3s"},
		span:  3 * time.Second,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := FromRun(&tc.rec, *at(tc.now))
			if len(got.Bars) != len(tc.bars) {
				t.Fatalf("bars = %+v, want %+v", got.Bars, tc.bars)
			}
			for i := range tc.bars {
				if got.Bars[i] != tc.bars[i] {
					t.Errorf("bar %d = %+v, want %+v", i, got.Bars[i], tc.bars[i])
				}
			}
			var marks []string
			for _, m := range got.Marks {
				marks = append(marks, m.Kind+"@"+m.At.String())
			}
			if strings.Join(marks, " ") != strings.Join(tc.marks, " ") {
				t.Errorf("marks = %v, want %v", marks, tc.marks)
			}
			if got.Span != tc.span {
				t.Errorf("span = %s, want %s", got.Span, tc.span)
			}
		})
	}
}

func TestFromPhase(t *testing.T) {
	p := drill.Phase{Kind: runbook.Failover, From: "east", To: "west", Start: *at(0), ClientRTO: 4 * time.Second,
		Run: &runbook.Record{Who: "auto", FirstFailedProbe: at(-500), Decided: at(1500).UTC(), Verified: at(3500), Closed: at(3600),
			Steps: []runbook.StepRecord{{Name: runbook.StepDNS, Started: at(2000), Ended: at(2500)}}}}
	got := FromPhase(&p)
	var marks []string
	for _, m := range got.Marks {
		marks = append(marks, m.Kind+"@"+m.At.String())
	}
	// The probe that failed before the fault is not this outage's detection.
	want := "fault@0s decision@1.5s dns@2.5s verified@3.5s write@4s"
	if strings.Join(marks, " ") != want {
		t.Errorf("marks = %v, want %s", marks, want)
	}
	if got.Span != 4*time.Second {
		t.Errorf("span = %s, want 4s", got.Span)
	}
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		span time.Duration
		want string
	}{
		{3 * time.Millisecond, "0s 1ms 2ms 3ms"},
		{1500 * time.Millisecond, "0s 500ms 1s 1.5s"},
		{7 * time.Second, "0s 2s 4s 6s"},
		{95 * time.Second, "0s 20s 40s 1m0s 1m20s"},
	} {
		var got []string
		for _, d := range ticks(tc.span) {
			got = append(got, d.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ticks(%s) = %v, want %s", tc.span, got, tc.want)
		}
	}
}

// The picture is well-formed XML whatever the names hold, and says the steps in
// words for a screen reader.
func TestSVGEscapesAndDescribes(t *testing.T) {
	rec := runbook.Record{App: `<script>alert("x")</script>`, Kind: runbook.Failover, Who: "a&b", Decided: *at(0),
		Steps: []runbook.StepRecord{{Name: "fence", Started: at(0), Ended: at(250), Detail: `"quoted" <b>`}, {Name: "dns"}}}
	svg := SVG(FromRun(&rec, *at(300)))
	if strings.Contains(svg, "<script") {
		t.Fatalf("unescaped name in %s", svg)
	}
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
	}
	for _, want := range []string{`role="img"`, "step fence done from 0 s to 0.25 s", "step dns waiting", "decided by a&amp;b at 0 s"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}
