package probe

import (
	"time"
)

// Verdict is the quorum's view of one site for one application.
type Verdict string

const (
	Up      Verdict = "up"
	Down    Verdict = "down"
	Unknown Verdict = "unknown"
)

// Observation is what one observer saw when it probed one site once.
type Observation struct {
	// App is the application whose health check was run.
	App      string
	Observer string
	Site     string
	OK       bool
	// Reached says the site answered, even when the answer failed the check (a 503):
	// proof that the path from the observer works.
	Reached bool `json:",omitempty"`
	Latency time.Duration
	// Err says why the probe failed; empty when OK.
	Err string
	At  time.Time
	// TLS is the certificate an HTTPS probe was served (names, expiry), when it got one.
	TLS *TLSInfo
}

// Input is everything the quorum decision looks at for one application.
type Input struct {
	// Observers are all configured observers: the majority is counted over all of them,
	// so observers that report nothing count against a decision, never for it.
	Observers []string
	// Sites are the application's sites.
	Sites []string
	// Results holds each observer's recent observations of each site, oldest first.
	Results map[Key][]Observation
	Rise    int
	Fall    int
	Now     time.Time
	// MaxAge drops observations older than this: an observer that stopped reporting
	// decides nothing. Zero keeps everything.
	MaxAge time.Duration
	// Since drops a site's observations taken before its time: a site made active
	// starts over, so a "down" it earned as a scaled-down stand-by does not count
	// against it (see Tracker.Restart).
	Since map[string]time.Time
}

// Key names one observer's series of observations of one site.
type Key struct {
	Observer string
	Site     string
}

// Decide returns every site's verdict. A site is Down only when a strict majority of
// all configured observers saw its last Fall probes fail, Up when a strict majority saw
// its last Rise probes pass, and Unknown otherwise.
//
// An observer whose latest probe of every site failed without reaching it is taken to
// be cut off itself (a partition around the observer looks exactly like that) and its
// failures count for nothing; with a single site there is no way to tell, so its vote
// stands. A site that answered, even with a failing status (a stand-by's 503), shows
// the observer's paths work.
func Decide(in Input) map[string]Verdict {
	out := make(map[string]Verdict, len(in.Sites))
	isolated := make(map[string]bool, len(in.Observers))
	if len(in.Sites) > 1 {
		for _, o := range in.Observers {
			isolated[o] = seesEverythingFail(in, o)
		}
	}
	majority := len(in.Observers)/2 + 1
	for _, s := range in.Sites {
		var fails, passes int
		for _, o := range in.Observers {
			recent := fresh(in, s, in.Results[Key{o, s}])
			switch {
			case tailAll(recent, in.Fall, false) && !isolated[o]:
				fails++
			case tailAll(recent, in.Rise, true):
				passes++
			}
		}
		switch {
		case len(in.Observers) > 0 && fails >= majority:
			out[s] = Down
		case len(in.Observers) > 0 && passes >= majority:
			out[s] = Up
		default:
			out[s] = Unknown
		}
	}
	return out
}

// seesEverythingFail reports whether o's latest fresh observation of every site failed.
func seesEverythingFail(in Input, o string) bool {
	for _, s := range in.Sites {
		recent := fresh(in, s, in.Results[Key{o, s}])
		if len(recent) == 0 || recent[len(recent)-1].OK || recent[len(recent)-1].Reached {
			return false
		}
	}
	return true
}

// fresh drops site's observations older than MaxAge or taken before the site's Since;
// obs is ordered oldest first.
func fresh(in Input, site string, obs []Observation) []Observation {
	var cut time.Time
	if in.MaxAge > 0 {
		cut = in.Now.Add(-in.MaxAge)
	}
	if since := in.Since[site]; since.After(cut) {
		cut = since
	}
	if cut.IsZero() {
		return obs
	}
	for i, ob := range obs {
		if !ob.At.Before(cut) {
			return obs[i:]
		}
	}
	return nil
}

// tailAll reports whether the last n observations exist and all have OK == ok.
func tailAll(obs []Observation, n int, ok bool) bool {
	if n <= 0 {
		n = 1
	}
	if len(obs) < n {
		return false
	}
	for _, ob := range obs[len(obs)-n:] {
		if ob.OK != ok {
			return false
		}
	}
	return true
}
