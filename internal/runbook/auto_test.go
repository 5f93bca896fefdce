package runbook

import (
	"strings"
	"testing"
	"time"
)

func TestAutoDecide(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	base := AutoInput{Enabled: true, Active: "east", Sites: []string{"east", "west", "south"},
		Verdicts:  map[string]string{"east": "down", "west": "up", "south": "up"},
		DownSince: now.Add(-4 * time.Second), Now: now, Threshold: 3 * time.Second, MinInterval: time.Hour, Served: true}
	tests := []struct {
		name   string
		change func(*AutoInput)
		to     string
		reason string
	}{
		{"down past the threshold fails over to the first stand-by up", func(*AutoInput) {}, "west", ""},
		{"off", func(in *AutoInput) { in.Enabled = false }, "", "off"},
		{"open run", func(in *AutoInput) { in.Open = true }, "", "a run is open"},
		{"never up at the active site (a fresh install)", func(in *AutoInput) { in.Served = false }, "", "never up at east"},
		{"not down", func(in *AutoInput) { in.Verdicts = map[string]string{"east": "up", "west": "up"} }, "", "not down"},
		{"unknown is not down", func(in *AutoInput) { in.Verdicts = map[string]string{"east": "unknown", "west": "up"} }, "", "not down"},
		{"within the threshold", func(in *AutoInput) { in.DownSince = now.Add(-time.Second) }, "", "down for 1s of 3s"},
		{"flapping guard", func(in *AutoInput) { in.LastAuto = now.Add(-10 * time.Minute) }, "", "flapping guard"},
		{"guard expired", func(in *AutoInput) { in.LastAuto = now.Add(-2 * time.Hour) }, "west", ""},
		{"skips a stand-by that is down", func(in *AutoInput) {
			in.Verdicts = map[string]string{"east": "down", "west": "down", "south": "up"}
		}, "south", ""},
		{"nowhere to go", func(in *AutoInput) {
			in.Verdicts = map[string]string{"east": "down", "west": "down", "south": "unknown"}
		}, "", "no other site"},
		{"a reachable stand-by (answers 503 until promoted) is eligible", func(in *AutoInput) {
			in.Verdicts = map[string]string{"east": "down", "west": "unknown", "south": "unknown"}
			in.Reached = map[string]bool{"south": true}
		}, "south", ""},
		{"up is preferred over reachable", func(in *AutoInput) {
			in.Verdicts = map[string]string{"east": "down", "west": "unknown", "south": "up"}
			in.Reached = map[string]bool{"west": true, "south": true}
		}, "south", ""},
		{"a pilot-light stand-by failing its check but reached is eligible", func(in *AutoInput) {
			in.Verdicts = map[string]string{"east": "down", "west": "down", "south": "down"}
			in.Reached = map[string]bool{"west": true}
		}, "west", ""},
		{"a warm stand-by must be up", func(in *AutoInput) {
			in.Verdicts = map[string]string{"east": "down", "west": "down", "south": "down"}
			in.Reached = map[string]bool{"west": true}
			in.Warm = true
		}, "", "no other site"},
		{"default threshold", func(in *AutoInput) { in.Threshold = 0; in.DownSince = now.Add(-2 * time.Second) }, "", "of 3s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.change(&in)
			to, reason := AutoDecide(in)
			if to != tt.to || !strings.Contains(reason, tt.reason) || (to != "" && reason != "") {
				t.Fatalf("AutoDecide = %q, %q; want %q, reason containing %q", to, reason, tt.to, tt.reason)
			}
		})
	}
}

func TestLastAuto(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 11, 23, 12, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		hist []Record
		want time.Time
	}{
		{"none", nil, time.Time{}},
		{"latest automatic run", []Record{{Who: "auto", Decided: at(1), Status: StatusDone}, {Who: "auto", Decided: at(5), Status: StatusDone}}, at(5)},
		{"a person's failback afterwards ends the guard", []Record{{Who: "auto", Decided: at(1), Status: StatusDone}, {Who: "operator", Kind: Failback, Decided: at(3), Status: StatusDone}}, time.Time{}},
		{"an aborted person's run does not", []Record{{Who: "auto", Decided: at(1), Status: StatusDone}, {Who: "operator", Decided: at(3), Status: StatusAborted}}, at(1)},
		{"a person's run before the automatic one does not", []Record{{Who: "operator", Decided: at(1), Status: StatusDone}, {Who: "auto", Decided: at(3), Status: StatusDone}}, at(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LastAuto(tt.hist); !got.Equal(tt.want) {
				t.Fatalf("LastAuto = %v, want %v", got, tt.want)
			}
		})
	}
}
