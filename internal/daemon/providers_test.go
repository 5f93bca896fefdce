package daemon_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/gslb/provider"
	"hadron.dev/hadron/internal/gslb/rfc2136/bindtest"
	"hadron.dev/hadron/internal/runbook"
)

// A company BIND 9 carries the main name through RFC 2136: the leader writes it at
// start, a switchover's dns step waits for BIND to accept the new site and verify asks
// BIND; with BIND down the run stops at dns naming the provider, status says the
// provider fails, and the run resumes once BIND is back.
func TestDNSProviderFollowsRunsAndStopsResumablyWhenItFails(t *testing.T) {
	b := bindtest.StartZone(t, "gslb.test")
	t.Setenv("HADRON_TEST_TSIG", b.Secret)
	w := daemontest.Start(t, 238, daemontest.Options{Edit: func(f *fleet.Fleet, _ string) {
		f.DNSProviders = append(f.DNSProviders, &v1alpha1.DNSProvider{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindDNSProvider},
			ObjectMeta: metav1.ObjectMeta{Name: "corp"},
			Spec: v1alpha1.DNSProviderSpec{Type: v1alpha1.DNSProviderRFC2136, Zone: "gslb.test", Owner: "fleet-a",
				Interval: &metav1.Duration{Duration: time.Second},
				RFC2136: &v1alpha1.RFC2136Provider{Server: v1alpha1.Endpoint{Address: b.Addr},
					TSIG: &v1alpha1.TSIGKey{Name: b.KeyName, SecretFrom: v1alpha1.SecretRef{Env: "HADRON_TEST_TSIG"}}}},
		})
	}})
	leader, _ := w.WaitLeader(t, all...)
	east, west := w.LBs["east"].IP(), w.LBs["west"].IP()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bindAnswers := func(want string) {
		t.Helper()
		coordtest.Eventually(t, 30*time.Second, "BIND answers "+want, func() bool {
			got, err := provider.Answers(ctx, b.Addr, daemontest.Main)
			return err == nil && slices.Equal(got, []string{want})
		})
	}
	bindAnswers(east)
	coordtest.Eventually(t, 30*time.Second, "both sites up by quorum", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})

	c := w.Client(t, leader)
	rec, err := c.StartRun(ctx, api.RunRequest{App: daemontest.App, Kind: runbook.Switchover, To: "west", Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var done *runbook.Record
	coordtest.Eventually(t, time.Minute, "switchover done", func() bool {
		r, err := c.Run(ctx, daemontest.App, rec.ID)
		done = r
		return err == nil && r.Status == runbook.StatusDone
	})
	bindAnswers(west)
	for _, s := range done.Steps {
		switch s.Name {
		case runbook.StepDNS:
			if !strings.Contains(s.Detail, "dns providers corp answer west") {
				t.Errorf("dns step did not wait for the provider: %q", s.Detail)
			}
		case runbook.StepVerify:
			if !strings.Contains(s.Detail, "at 1 server(s) of corp") {
				t.Errorf("verify did not ask the provider's server: %q", s.Detail)
			}
		}
	}
	st := w.Status(t, "witness")
	if len(st.DNSProviders) != 1 || !st.DNSProviders[0].OK || st.DNSProviders[0].Name != "corp" {
		t.Fatalf("status of the provider at a follower: %+v", st.DNSProviders)
	}

	// BIND down: the switchover back stops at dns, resumable, and says why.
	b.Stop()
	back, err := c.StartRun(ctx, api.RunRequest{App: daemontest.App, Kind: runbook.Switchover, To: "east", Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var failed *runbook.Record
	coordtest.Eventually(t, time.Minute, "switchover back stops at the dns step", func() bool {
		r, err := c.Run(ctx, daemontest.App, back.ID)
		failed = r
		return err == nil && r.Status == runbook.StatusFailed
	})
	if !strings.Contains(failed.Error, "dns providers did not accept") || !strings.Contains(failed.Error, "corp") {
		t.Errorf("the run's error does not name the provider: %q", failed.Error)
	}
	coordtest.Eventually(t, 30*time.Second, "status shows the provider failing", func() bool {
		ps := w.Status(t, "witness").DNSProviders
		return len(ps) == 1 && !ps[0].OK && ps[0].Error != ""
	})

	b.Restart(t)
	if _, err := c.ResumeRun(ctx, daemontest.App, back.ID, api.RunDecision{Who: "test"}); err != nil {
		t.Fatal(err)
	}
	coordtest.Eventually(t, time.Minute, "resumed switchover done", func() bool {
		r, err := c.Run(ctx, daemontest.App, back.ID)
		return err == nil && r.Status == runbook.StatusDone
	})
	bindAnswers(east)
}
