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
		since     map[string]time.Time
	}{
		{"nothing observed yet", obs3, seen{}, 0,
			map[string]Verdict{"east": Unknown, "west": Unknown}, nil},
		{"all pass", obs3, seen{
			{"east", "east"}: "++", {"west", "east"}: "++", {"witness", "east"}: "++",
			{"east", "west"}: "++", {"west", "west"}: "++", {"witness", "west"}: "++"}, 0,
			map[string]Verdict{"east": Up, "west": Up}, nil},
		{"majority fails for fall threshold", obs3, seen{
			{"east", "east"}: "+++", {"west", "east"}: "---", {"witness", "east"}: "---",
			{"west", "west"}: "+++", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Down, "west": Up}, nil},
		{"majority fails but not yet fall times", obs3, seen{
			{"west", "east"}: "+--", {"witness", "east"}: "---",
			{"west", "west"}: "+++", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Unknown, "west": Up}, nil},
		{"one of three observers loses it", obs3, seen{
			{"east", "east"}: "+++", {"west", "east"}: "---", {"witness", "east"}: "+++",
			{"west", "west"}: "+++", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Up, "west": Up}, nil},
		{"a cut-off observer decides nothing", obs3, seen{
			// west sees every site fail: it is the one cut off.
			{"west", "east"}: "---", {"west", "west"}: "---",
			{"witness", "east"}: "---", {"witness", "west"}: "+++",
			{"east", "east"}: "+++", {"east", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Unknown, "west": Up}, nil},
		{"a stand-by answering 503 proves the observers are connected", obs3, seen{
			// east's region is dark (its observer silent); west and the witness reach
			// west's load balancer, which answers 503 (pilot-light, no pods yet).
			{"west", "east"}: "---", {"west", "west"}: "555",
			{"witness", "east"}: "---", {"witness", "west"}: "555"}, 0,
			map[string]Verdict{"east": Down, "west": Down}, nil},
		{"silent observers count against a decision", obs3, seen{
			{"witness", "east"}: "---", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Unknown, "west": Unknown}, nil},
		{"stale observations are dropped", obs3, seen{
			{"west", "east"}: "---", {"witness", "east"}: "-----",
			{"west", "west"}: "+++", {"witness", "west"}: "+++"}, 1500 * time.Millisecond,
			// Only the last two observations are fresh: too few for fall, enough for rise.
			map[string]Verdict{"east": Unknown, "west": Up}, nil},
		{"flapping is neither up nor down", obs3, seen{
			{"east", "east"}: "+-+", {"west", "east"}: "-+-", {"witness", "east"}: "+-+",
			{"east", "west"}: "+++", {"west", "west"}: "+++", {"witness", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Unknown, "west": Up}, nil},
		{"single observer decides alone", []string{"local"}, seen{
			{"local", "east"}: "---", {"local", "west"}: "+++"}, 0,
			map[string]Verdict{"east": Down, "west": Up}, nil},
		{"no observers configured", nil, seen{}, 0,
			map[string]Verdict{"east": Unknown, "west": Unknown}, nil},
		{"a site made active starts over", obs3, seen{
			// west was a scaled-down stand-by (down) until it was made active 1.5 s
			// ago; the one probe since then decides nothing yet.
			{"east", "west"}: "---", {"west", "west"}: "--5", {"witness", "west"}: "---",
			{"east", "east"}: "+++", {"west", "east"}: "+++", {"witness", "east"}: "+++"}, 0,
			map[string]Verdict{"east": Up, "west": Unknown}, map[string]time.Time{"west": t0.Add(-1500 * time.Millisecond)}},
		{"a site made active goes down again on probes taken since", obs3, seen{
			{"east", "west"}: "+---", {"west", "west"}: "----", {"witness", "west"}: "+---",
			{"east", "east"}: "+++", {"west", "east"}: "+++", {"witness", "east"}: "+++"}, 0,
			map[string]Verdict{"east": Up, "west": Down}, map[string]time.Time{"west": t0.Add(-2 * time.Second)}},
		{"a site made active comes up on probes taken since", obs3, seen{
			{"east", "west"}: "--++", {"west", "west"}: "--++", {"witness", "west"}: "---+",
			{"east", "east"}: "+++", {"west", "east"}: "+++", {"witness", "east"}: "+++"}, 0,
			map[string]Verdict{"east": Up, "west": Up}, map[string]time.Time{"west": t0.Add(-1 * time.Second)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Observers: c.observers, Sites: sites, Rise: 2, Fall: 3, Now: t0, MaxAge: c.maxAge,
				Since: c.since, Results: map[Key][]Observation{}}
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
