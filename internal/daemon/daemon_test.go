package daemon_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon/daemontest"
)

var all = []string{"east", "west", "witness"}

// waitAnswers waits until every daemon in sites answers the main name with want.
func waitAnswers(t *testing.T, w *daemontest.World, want string, sites ...string) {
	t.Helper()
	coordtest.Eventually(t, 30*time.Second, "main name answers "+want+" everywhere", func() bool {
		for _, s := range sites {
			if w.Dig(t, s, daemontest.Main) != want {
				return false
			}
		}
		return true
	})
}

func TestDaemonsAnswerAlikeAndFailOverByQuorum(t *testing.T) {
	w := daemontest.Start(t, 214, daemontest.Options{})
	w.WaitLeader(t, all...)
	east, west := w.LBs["east"].IP(), w.LBs["west"].IP()
	coordtest.Eventually(t, 30*time.Second, "both sites up by quorum", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	waitAnswers(t, w, east, all...)

	// Every daemon reports every observer's view.
	st := w.Status(t, "west")
	for _, o := range all {
		if !st.Apps[0].Observations[o]["east"].OK {
			t.Errorf("observer %s's view of east missing or failed: %+v", o, st.Apps[0].Observations[o])
		}
	}
	if !st.Etcd.Quorum || st.Etcd.SelfFenced || len(st.Etcd.Members) != 3 {
		t.Errorf("etcd as west sees it: %+v", st.Etcd)
	}

	w.LBs["east"].Stop()
	waitAnswers(t, w, west, all...)
	for _, s := range all {
		st := w.Status(t, s)
		if v := st.Apps[0].Verdicts["east"]; v != "down" {
			t.Errorf("%s says east is %s, want down", s, v)
		}
		if got := st.Apps[0].DNS.Answers; len(got) != 1 || got[0] != west {
			t.Errorf("%s status says DNS answers %v, want [%s]", s, got, west)
		}
	}
	// The per-site name still answers the failed site (seed 001).
	if got := w.Dig(t, "east", "east."+daemontest.Main); got != east {
		t.Errorf("east.%s answers %q, want %s", daemontest.Main, got, east)
	}
}

func TestOneObserverOfThreeLosingASiteMovesNothing(t *testing.T) {
	// From west's region, east's load balancer is behind a cut link.
	dead, err := net.Listen("tcp", "127.0.215.99:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	w := daemontest.Start(t, 215, daemontest.Options{FromWest: deadAddr})
	w.WaitLeader(t, all...)
	east := w.LBs["east"].IP()

	// Wait until west has seen east fail for twice the fall threshold, measured by the
	// timestamps of its own observations.
	var first time.Time
	coordtest.Eventually(t, 30*time.Second, "west saw east fail 2×fall times", func() bool {
		ob := w.Status(t, "witness").Apps[0].Observations["west"]["east"]
		if ob.OK || ob.At.IsZero() {
			first = time.Time{}
			return false
		}
		if first.IsZero() {
			first = ob.At
		}
		return ob.At.Sub(first) >= time.Duration(2*w.Fall)*w.Interval
	})
	for _, s := range all {
		// A verdict goes stale (unknown) for a moment when a loaded machine delays an
		// observer's probes; it must come back up, never go down.
		coordtest.Eventually(t, 30*time.Second, s+" says east is up after one observer of three lost it", func() bool {
			v := w.Status(t, s).Apps[0].Verdicts["east"]
			if v == "down" {
				t.Fatalf("%s says east is down after one observer of three lost it", s)
			}
			return v == "up"
		})
		if got := w.Dig(t, s, daemontest.Main); got != east {
			t.Errorf("%s answers %q, want east %s (no failover)", s, got, east)
		}
	}
}

func TestCutOffDaemonFencesItsOwnSite(t *testing.T) {
	w := daemontest.Start(t, 216, daemontest.Options{})
	w.WaitLeader(t, all...)
	east, west := w.LBs["east"].IP(), w.LBs["west"].IP()
	waitAnswers(t, w, east, all...)

	// east's daemon loses both peers: it keeps running but has no majority.
	w.Daemons["west"].Stop()
	w.Daemons["witness"].Stop()
	coordtest.Eventually(t, 30*time.Second, "east fences itself", func() bool {
		st := w.Status(t, "east")
		return !st.Etcd.Quorum && st.Etcd.SelfFenced
	})
	// The site is alive and its probes pass, but its own name server stops sending
	// clients to it; the per-site name still answers it.
	if got := w.Dig(t, "east", daemontest.Main); got != west {
		t.Errorf("fenced east answers the main name with %q, want west %s", got, west)
	}
	if got := w.Dig(t, "east", "east."+daemontest.Main); got != east {
		t.Errorf("east.%s answers %q, want %s", daemontest.Main, got, east)
	}
	if st := w.Status(t, "east"); st.Leader != "" {
		t.Errorf("a daemon without a majority reports leader %q", st.Leader)
	}
}

func TestLeaderDaemonKilledAnotherLeadsAndOldTokenRefused(t *testing.T) {
	w := daemontest.Start(t, 217, daemontest.Options{})
	leader, token := w.WaitLeader(t, all...)
	w.Daemons[leader].Stop()
	var rest []string
	for _, s := range all {
		if s != leader {
			rest = append(rest, s)
		}
	}
	next, nextToken := "", int64(0)
	coordtest.Eventually(t, 30*time.Second, "a new leader", func() bool {
		next, nextToken = w.WaitLeader(t, rest...)
		return next != leader
	})
	if nextToken <= token {
		t.Fatalf("new leader %s has token %d, not above %s's %d", next, nextToken, leader, token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	old := coord.Token{Key: coord.LeaderPrefix, Rev: token, Holder: leader}
	// The old leader's key name is unknown here; any key of the old revision is gone.
	if err := coord.Fenced(ctx, w.Daemons[rest[0]].Client(), old); !coord.IsFenced(err) {
		t.Fatalf("old token: %v, want ErrFenced", err)
	}
}

func TestAPIRequiresTokenAndServesMetrics(t *testing.T) {
	w := daemontest.Start(t, 218, daemontest.Options{})
	w.WaitLeader(t, all...)
	c := w.Client(t, "east")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Token = "wrong"
	if _, err := c.Status(ctx); err == nil || !strings.Contains(err.Error(), "refused the API token") {
		t.Fatalf("status with a wrong token: %v", err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: c.TLS}}
	resp, err := hc.Get("https://" + c.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"hadron_etcd_quorum 1", "hadron_site_verdict{app=\"shop\",site=\"east\"}", "hadron_dns_queries_total",
		"hadron_probes_total", "hadron_etcd_keys", "hadron_etcd_db_bytes", "hadron_etcd_revision"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestPartitionedSiteIsFencedAndAnsweredByNoOne(t *testing.T) {
	w := daemontest.Start(t, 222, daemontest.Options{Links: true})
	w.WaitLeader(t, all...)
	east, west := w.LBs["east"].IP(), w.LBs["west"].IP()
	coordtest.Eventually(t, 30*time.Second, "both sites up", func() bool {
		v := w.Status(t, "witness").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	waitAnswers(t, w, east, all...)

	// east is cut off from west and the witness; its processes keep running and its
	// load balancer still answers inside its own region.
	w.Links.Cut("east")
	coordtest.Eventually(t, 30*time.Second, "east fences itself", func() bool {
		return w.Status(t, "east").Etcd.SelfFenced
	})
	// The majority side sees east down and answers west; east's own name server does
	// too, because it fenced its site: no name server sends clients to east.
	waitAnswers(t, w, west, all...)
	// When east held etcd's raft leadership, the majority side elects a new leader
	// first: on a loaded machine that can outlast the DNS move, so wait for it.
	for _, s := range []string{"west", "witness"} {
		coordtest.Eventually(t, 30*time.Second, s+" keeps the quorum and finds east down", func() bool {
			st := w.Status(t, s)
			return st.Etcd.Quorum && st.Apps[0].Verdicts["east"] == "down"
		})
	}

	w.Links.Heal(t, "east")
	waitAnswers(t, w, east, all...)
	if st := w.Status(t, "east"); !st.Etcd.Quorum || st.Etcd.SelfFenced {
		t.Errorf("east after heal: %+v", st.Etcd)
	}
}

func TestLosingTheWitnessChangesNothingForClients(t *testing.T) {
	w := daemontest.Start(t, 223, daemontest.Options{})
	w.WaitLeader(t, all...)
	east := w.LBs["east"].IP()
	coordtest.Eventually(t, 30*time.Second, "both sites up", func() bool {
		v := w.Status(t, "east").Apps[0].Verdicts
		return v["east"] == "up" && v["west"] == "up"
	})
	waitAnswers(t, w, east, all...)
	w.Daemons["witness"].Stop()
	// The two remaining daemons keep the majority and a leader, and nobody is fenced.
	w.WaitLeader(t, "east", "west")
	// Wait until the witness's last results are stale, so that only two observers vote.
	coordtest.Eventually(t, 30*time.Second, "witness results stale", func() bool {
		st := w.Status(t, "east")
		return st.Time.Sub(st.Apps[0].Observations["witness"]["east"].At) > 2*time.Second
	})
	for _, s := range []string{"east", "west"} {
		st := w.Status(t, s)
		if !st.Etcd.Quorum || st.Etcd.SelfFenced {
			t.Errorf("%s without the witness: %+v", s, st.Etcd)
		}
		if got := w.Dig(t, s, daemontest.Main); got != east {
			t.Errorf("%s answers %q without the witness, want %s", s, got, east)
		}
	}
}

// The leader runs at the stand-by site when it can (it acts on nearby data and
// clusters, and does not die with the active region), else at the active site, and at
// the witness only when no workload daemon is alive.
func TestLeaderPrefersTheStandbySiteThenTheActiveOneOverTheWitness(t *testing.T) {
	w := daemontest.Start(t, 217, daemontest.Options{})
	w.WaitLeader(t, all...)
	coordtest.Eventually(t, 45*time.Second, "the stand-by's daemon (west) leads", func() bool {
		return w.Status(t, "witness").Leader == "west"
	})
	w.Daemons["west"].Stop()
	coordtest.Eventually(t, 45*time.Second, "the active site's daemon (east) leads, not the witness", func() bool {
		return w.Status(t, "witness").Leader == "east"
	})
}
