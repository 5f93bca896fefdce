package probe

import (
	"sync"
	"time"
)

// Tracker keeps each observer's recent observations and turns them into verdicts with
// Decide whenever one arrives.
type Tracker struct {
	mu   sync.Mutex
	apps map[string]*appTrack
	// OnChange is called, outside the lock, when a site's verdict changes.
	OnChange func(app, site string, v Verdict)
	// Now is the clock for staleness; nil uses time.Now.
	Now func() time.Time
}

type appTrack struct {
	observers []string
	sites     []string
	rise      int
	fall      int
	maxAge    time.Duration
	results   map[Key][]Observation
	verdicts  map[string]Verdict
	since     map[string]time.Time
}

// Watch registers an application: the observers whose votes count and its sites.
// Observations older than three intervals plus the timeout are stale.
func (t *Tracker) Watch(app string, observers, sites []string, s Settings) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.apps == nil {
		t.apps = map[string]*appTrack{}
	}
	v := map[string]Verdict{}
	for _, site := range sites {
		v[site] = Unknown
	}
	keepFor := time.Duration(max(s.Rise, s.Fall)+2)*s.Interval + s.Timeout
	t.apps[app] = &appTrack{observers: observers, sites: sites, rise: s.Rise, fall: s.Fall,
		maxAge: keepFor, results: map[Key][]Observation{}, verdicts: v, since: map[string]time.Time{}}
}

// Record adds one observation and re-decides its application.
func (t *Tracker) Record(ob Observation) {
	t.update(ob.App, func(a *appTrack) {
		if ob.At.Before(a.since[ob.Site]) {
			return // taken before the site started over
		}
		k := Key{ob.Observer, ob.Site}
		keep := max(a.rise, a.fall)
		series := append(a.results[k], ob)
		if len(series) > keep {
			series = append(series[:0], series[len(series)-keep:]...)
		}
		a.results[k] = series
	})
}

// Restart makes app's site start over from observations taken at or after since: the
// verdict is decided again from those alone (unknown until rise or fall of them agree).
// The daemon calls it when a run makes the site active, so that a verdict earned
// while the site was a scaled-down stand-by does not send its traffic elsewhere.
func (t *Tracker) Restart(app, site string, since time.Time) {
	t.update(app, func(a *appTrack) {
		if since.After(a.since[site]) {
			a.since[site] = since
		}
	})
}

// update changes app's track under the lock, re-decides it and reports the verdicts
// that changed.
func (t *Tracker) update(app string, f func(*appTrack)) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	type change struct {
		site string
		v    Verdict
	}
	var changes []change
	t.mu.Lock()
	a := t.apps[app]
	if a == nil {
		t.mu.Unlock()
		return
	}
	f(a)
	got := Decide(Input{Observers: a.observers, Sites: a.sites, Results: a.results,
		Rise: a.rise, Fall: a.fall, Now: now(), MaxAge: a.maxAge, Since: a.since})
	for site, v := range got {
		if a.verdicts[site] != v {
			a.verdicts[site] = v
			changes = append(changes, change{site, v})
		}
	}
	t.mu.Unlock()
	if t.OnChange != nil {
		for _, c := range changes {
			t.OnChange(app, c.site, c.v)
		}
	}
}

// Verdicts returns a copy of an application's current verdicts.
func (t *Tracker) Verdicts(app string) map[string]Verdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]Verdict{}
	if a := t.apps[app]; a != nil {
		for k, v := range a.verdicts {
			out[k] = v
		}
	}
	return out
}
