package probe

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// series builds observations from a pattern like "++-" (oldest first), one second apart
// and ending at t0.
// series makes observations from a pattern: + passed, - failed without an answer
// (refused, timed out), 5 answered but failed the check (a 503).
func series(o, site, pattern string) []Observation {
	out := make([]Observation, len(pattern))
	for i, c := range pattern {
		out[i] = Observation{Observer: o, Site: site, OK: c == '+', Reached: c == '+' || c == '5', At: t0.Add(time.Duration(i-len(pattern)+1) * time.Second)}
	}
	return out
}

func TestDecide(t *testing.T) {
	obs3 := []string{"east", "west", "witness"}
	sites := []string{"east", "west"}
	type seen map[Key]string
	cases := []struct {
		name      string
		observers []string
		seen      seen
		maxAge    time.Duration
		want      map[string]Verdict
	}{
		{"nothing observed yet", obs3, seen{}, 0,
			map[string]Verdict{"east": Unknown, "west": Unknown}},
		{"all pass", obs3, seen{
			{"east", "east"}: "++", {"west", "east"}: "++", {"witness", "east"}: "++",
			{"east", "west"}: "++", {"west", "west"}: "++", {"witness", "west"}: "++"}, 0,
			map[string]Verdict{"east": Up, "west": Up}},
		{"majority fails for fall threshold", obs3, seen{
			{"east", "east"}: "+++", {"west", "east"}: "---", {"witness", "east"}: "---",
			{"west", "west"}: "+++", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Down, "west": Up}},
		{"majority fails but not yet fall times", obs3, seen{
			{"west", "east"}: "+--", {"witness", "east"}: "---",
			{"west", "west"}: "+++", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Unknown, "west": Up}},
		{"one of three observers loses it", obs3, seen{
			{"east", "east"}: "+++", {"west", "east"}: "---", {"witness", "east"}: "+++",
			{"west", "west"}: "+++", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Up, "west": Up}},
		{"a cut-off observer decides nothing", obs3, seen{
			// west sees every site fail: it is the one cut off.
			{"west", "east"}: "---", {"west", "west"}: "---",
			{"witness", "east"}: "---", {"witness", "west"}: "+++",
			{"east", "east"}: "+++", {"east", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Unknown, "west": Up}},
		{"a stand-by answering 503 proves the observers are connected", obs3, seen{
			// east's region is dark (its observer silent); west and the witness reach
			// west's load balancer, which answers 503 (pilot-light, no pods yet).
			{"west", "east"}: "---", {"west", "west"}: "555",
			{"witness", "east"}: "---", {"witness", "west"}: "555"}, 0,
			map[string]Verdict{"east": Down, "west": Down}},
		{"silent observers count against a decision", obs3, seen{
			{"witness", "east"}: "---", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Unknown, "west": Unknown}},
		{"stale observations are dropped", obs3, seen{
			{"west", "east"}: "---", {"witness", "east"}: "-----",
			{"west", "west"}: "+++", {"witness", "west"}: "+++"}, 1500 * time.Millisecond,
			// Only the last two observations are fresh: too few for fall, enough for rise.
			map[string]Verdict{"east": Unknown, "west": Up}},
		{"flapping is neither up nor down", obs3, seen{
			{"east", "east"}: "+-+", {"west", "east"}: "-+-", {"witness", "east"}: "+-+",
			{"east", "west"}: "+++", {"west", "west"}: "+++", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Unknown, "west": Up}},
		{"single observer decides alone", []string{"local"}, seen{
			{"local", "east"}: "---", {"local", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Down, "west": Up}},
		{"no observers configured", nil, seen{}, 0,
			map[string]Verdict{"east": Unknown, "west": Unknown}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Observers: c.observers, Sites: sites, Rise: 2, Fall: 3, Now: t0, MaxAge: c.maxAge,
				Results: map[Key][]Observation{}}
			for k, p := range c.seen {
				in.Results[k] = series(k.Observer, k.Site, p)
			}
			got := Decide(in)
			for s, want := range c.want {
				if got[s] != want {
					t.Errorf("site %s: got %s, want %s", s, got[s], want)
				}
			}
		})
	}
}

func TestDecideSingleSiteKeepsVote(t *testing.T) {
	in := Input{Observers: []string{"a"}, Sites: []string{"east"}, Rise: 1, Fall: 1, Now: t0,
		Results: map[Key][]Observation{{"a", "east"}: series("a", "east", "-")}}
	if got := Decide(in)["east"]; got != Down {
		t.Fatalf("got %s, want down", got)
	}
}
