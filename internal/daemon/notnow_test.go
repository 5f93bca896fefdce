package daemon_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/fleet"
)

// East is down by quorum before the quorum ever found the application up there: the
// leader starts no automatic failover, and its status says why; the other daemons say
// nothing (only the leader decides). Once east has been up and dies again, the reason
// is gone: the decision is taken.
func TestStatusSaysWhyNoAutomaticFailover(t *testing.T) {
	var eastUp atomic.Bool
	w := daemontest.Start(t, 250, daemontest.Options{
		Edit: func(f *fleet.Fleet, _ string) {
			f.Applications[0].Spec.Policy.AutomaticFailover = &v1alpha1.AutomaticFailover{Enabled: true,
				Threshold: &metav1.Duration{Duration: 200 * time.Millisecond}}
		},
		Handler: func(site string) http.Handler {
			return http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
				if site == "east" && !eastUp.Load() {
					http.Error(rw, "no ready pods", http.StatusServiceUnavailable)
					return
				}
				rw.Write([]byte("ok"))
			})
		},
	})
	leader, _ := w.WaitLeader(t, all...)
	var why string
	coordtest.Eventually(t, 30*time.Second, "the leader's status says why east's failover does not start", func() bool {
		leader, _ = w.WaitLeader(t, all...)
		a := w.Status(t, leader).Apps[0]
		why = a.NoAutoFailover
		return a.Verdicts["east"] == "down" && strings.Contains(why, "never up at east")
	})
	t.Logf("leader %s: no automatic failover: %s", leader, why)
	for _, s := range all {
		if st := w.Status(t, s); st.Leader != s && st.Apps[0].NoAutoFailover != "" {
			t.Errorf("%s, not the leader, says %q", s, st.Apps[0].NoAutoFailover)
		}
	}

	eastUp.Store(true)
	coordtest.Eventually(t, 30*time.Second, "east up by quorum, nothing to explain", func() bool {
		leader, _ = w.WaitLeader(t, all...)
		a := w.Status(t, leader).Apps[0]
		return a.Verdicts["east"] == "up" && a.NoAutoFailover == ""
	})
}
