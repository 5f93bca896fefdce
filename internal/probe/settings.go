package probe

import (
	"time"

	"hadron.dev/hadron/api/v1alpha1"
)

// Defaults of an application's health check when the fleet leaves a field out.
const (
	DefaultInterval = time.Second
	DefaultTimeout  = time.Second
	DefaultRise     = 2
	DefaultFall     = 3
)

// Settings is an application's health check with every default applied.
type Settings struct {
	Type         v1alpha1.ProbeType
	Path         string
	Port         int32
	ExpectStatus []int32
	BodyMatch    string
	Interval     time.Duration
	Timeout      time.Duration
	Rise, Fall   int
}

// SettingsOf returns h with defaults filled in; a nil h is a plain TCP check.
func SettingsOf(h *v1alpha1.Health) Settings {
	s := Settings{Type: v1alpha1.ProbeTCP, Interval: DefaultInterval, Timeout: DefaultTimeout, Rise: DefaultRise, Fall: DefaultFall}
	if h == nil {
		return s
	}
	if h.Type != "" {
		s.Type = h.Type
	}
	s.Path, s.Port, s.ExpectStatus, s.BodyMatch = h.Path, h.Port, h.ExpectStatus, h.BodyMatch
	if h.Interval != nil && h.Interval.Duration > 0 {
		s.Interval = h.Interval.Duration
	}
	if h.Timeout != nil && h.Timeout.Duration > 0 {
		s.Timeout = h.Timeout.Duration
	}
	if h.Rise > 0 {
		s.Rise = int(h.Rise)
	}
	if h.Fall > 0 {
		s.Fall = int(h.Fall)
	}
	if s.Path == "" && (s.Type == v1alpha1.ProbeHTTP || s.Type == v1alpha1.ProbeHTTPS) {
		s.Path = "/"
	}
	return s
}
