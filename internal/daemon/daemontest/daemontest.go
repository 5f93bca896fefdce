// Package daemontest runs three real `hadron serve` daemons in one test process on
// loopback addresses 127.0.<net>.41–43, with real load balancers, for the tests of the
// daemon and of the commands that talk to it.
package daemontest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/api"
	"hadron.dev/hadron/internal/apitoken"
	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/daemon"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/testenv"
)

// Main is the test application's main name; App its name.
const (
	App  = "shop"
	Main = "shop.gslb.test"
)

// LB is a site's load balancer: a real HTTP server on a loopback address.
type LB struct {
	srv  *httptest.Server
	h    http.Handler
	Addr string
}

// Stop closes the load balancer so that probes are refused.
func (l *LB) Stop() { l.srv.Close() }

// Restart serves again, at the same address, after Stop.
func (l *LB) Restart(t testing.TB) {
	t.Helper()
	l.srv = startLBAt(t, l.Addr, l.h).srv
}

// IP is the load balancer's address without the port.
func (l *LB) IP() string { h, _, _ := net.SplitHostPort(l.Addr); return h }

func startLB(t testing.TB, ip string, h http.Handler) *LB {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	}
	return startLBAt(t, ip+":0", h)
}

func startLBAt(t testing.TB, addr string, h http.Handler) *LB {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &LB{srv: srv, h: h, Addr: ln.Addr().String()}
}

// World is three daemons (east, west, witness) and the load balancers of east and west.
type World struct {
	Fleet     *fleet.Fleet
	FleetFile string
	PKI       coord.PKI
	LBs       map[string]*LB
	Daemons   map[string]*Running
	// Links is set with Options.Links.
	Links *coordtest.Links
	// Interval is the probe interval of the test application.
	Interval time.Duration
	Fall     int
	dir      string

	tokensMu sync.Mutex
	tokens   map[string]string // name → secret, made by ClientAs
}

// Running is one daemon and a way to stop it.
type Running struct {
	*daemon.Daemon
	stop func()
	done chan error
}

// Stop stops the daemon (its process dying, as far as the others can tell).
func (r *Running) Stop() {
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	<-r.done
}

// Options adjust the world before it starts.
type Options struct {
	// FromWest, when set, replaces east's load-balancer address as seen from west's
	// region (a cut link makes it a dead address).
	FromWest string
	// Interval is the probe interval (default 200ms; the timeout is as long).
	Interval time.Duration
	// Edit changes the fleet before it is written (add mirror sets, ...); dir is the
	// fleet file's directory.
	Edit func(f *fleet.Fleet, dir string)
	// Links puts every cross-region path (etcd peers, load balancers) behind a
	// cuttable link (netlink), as the lab does with toxiproxy; World.Links cuts them.
	Links bool
	// Handler is what site's load balancer serves (nil, or default: "ok" to every
	// request), for example the demo application.
	Handler func(site string) http.Handler
}

// Start builds the fleet on 127.0.netID.x and starts the three daemons.
func Start(t testing.TB, netID int, o Options) *World {
	t.Helper()
	w := &World{Fleet: coordtest.Fleet(netID), LBs: map[string]*LB{}, Daemons: map[string]*Running{},
		Interval: 200 * time.Millisecond, Fall: 3}
	if o.Interval > 0 {
		w.Interval = o.Interval
	}
	for i, name := range []string{"east", "west"} {
		var h http.Handler
		if o.Handler != nil {
			h = o.Handler(name)
		}
		lb := startLB(t, fmt.Sprintf("127.0.%d.%d", netID, 11+i), h)
		w.LBs[name] = lb
		ep := v1alpha1.Endpoint{Address: lb.Addr}
		if name == "east" && o.FromWest != "" {
			ep.FromRegions = map[string]string{"region-west": o.FromWest}
		}
		w.Fleet.Site(name).Spec.LoadBalancers = []v1alpha1.Endpoint{ep}
	}
	if o.Links {
		w.Links = coordtest.WithLinks(t, w.Fleet, netID)
		// Each load balancer is reached from the other regions through the link.
		for ti, to := range []string{"east", "west"} {
			lbs := w.Fleet.Site(to).Spec.LoadBalancers
			lbs[0].FromRegions = map[string]string{}
			for fi, from := range coordtest.Sites {
				if from == to {
					continue
				}
				_, port, _ := net.SplitHostPort(lbs[0].Address)
				listen := net.JoinHostPort(fmt.Sprintf("127.0.%d.%d", netID, 200+10*(fi+1)+(ti+1)), port)
				w.Links.Proxy(t, from, to, listen, lbs[0].Address)
				lbs[0].FromRegions["region-"+from] = listen
			}
		}
	}
	d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
	w.Fleet.Applications = []*v1alpha1.Application{{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApplication},
		ObjectMeta: metav1.ObjectMeta{Name: App},
		Spec: v1alpha1.ApplicationSpec{
			Namespace: App,
			Policy:    v1alpha1.Policy{Mode: v1alpha1.ModeActivePassive, ActiveSite: "east", StandbySites: []string{"west"}},
			DNS:       &v1alpha1.DNS{Zone: "gslb.test", Name: Main, Strategy: v1alpha1.StrategyFailover},
			Health: &v1alpha1.Health{Type: v1alpha1.ProbeHTTP, Path: "/healthz", Interval: d(w.Interval),
				Timeout: d(w.Interval), Rise: 2, Fall: int32(w.Fall)},
		},
	}}
	dir := t.TempDir()
	w.dir = dir
	if o.Edit != nil {
		o.Edit(w.Fleet, dir)
	}
	w.PKI = coord.PKI{Dir: filepath.Join(dir, "pki")}
	if err := w.PKI.Init(w.Fleet); err != nil {
		t.Fatal(err)
	}
	w.FleetFile = writeFleet(t, w.Fleet, dir)
	// The daemons run with the fleet as `hadron serve` loads it, defaults applied.
	loaded, err := fleet.Load(w.FleetFile)
	if err != nil {
		t.Fatal(err)
	}
	w.Fleet = loaded
	for _, name := range coordtest.Sites {
		w.Daemons[name] = w.start(t, name, filepath.Join(dir, "data", name))
	}
	return w
}

// Restart stops site's daemon and starts a new one on the same etcd data, as a
// restarted `hadron serve` would: it reads the fleet's secrets again.
func (w *World) Restart(t testing.TB, site string) {
	t.Helper()
	w.Daemons[site].Stop()
	w.Daemons[site] = w.start(t, site, filepath.Join(w.dir, "data", site))
}

func (w *World) start(t testing.TB, site, dataDir string) *Running {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("daemon", site)
	d, err := daemon.New(daemon.Options{Fleet: w.Fleet, Site: site, DataDir: dataDir, PKI: w.PKI,
		LeaseTTL: 2 * time.Second, QuorumInterval: 200 * time.Millisecond, FenceAfter: time.Second, Log: log})
	if err != nil {
		t.Fatalf("daemon %s: %v", site, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{Daemon: d, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(r.Stop)
	return r
}

// Client returns an API client of site's daemon.
func (w *World) Client(t testing.TB, site string) *api.Client {
	t.Helper()
	token, err := w.PKI.Token()
	if err != nil {
		t.Fatal(err)
	}
	pool, err := w.PKI.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	return &api.Client{Addr: w.Daemons[site].APIAddr(), Token: token, TLS: tlsConfig(pool)}
}

// ClientAs returns an API client of site's daemon that calls with the token named
// name holding roles, creating it (through the bootstrap token) the first time.
func (w *World) ClientAs(t testing.TB, site, name string, roles ...apitoken.Role) *api.Client {
	t.Helper()
	w.tokensMu.Lock()
	defer w.tokensMu.Unlock()
	c := w.Client(t, site)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, ok := w.tokens[name]; !ok {
		made, err := c.CreateToken(ctx, api.TokenRequest{Name: name, Roles: roles})
		if err != nil {
			t.Fatalf("create token %s: %v", name, err)
		}
		if w.tokens == nil {
			w.tokens = map[string]string{}
		}
		w.tokens[name] = made.Secret
	}
	c.Token = w.tokens[name]
	// Every daemon follows the tokens with a watch: wait until site's accepts it.
	for {
		if _, err := c.Status(ctx); err == nil {
			return c
		} else if ctx.Err() != nil {
			t.Fatalf("token %s not accepted by %s: %v", name, site, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TokenFile returns a file holding the secret of the token named name (made by
// ClientAs), for the commands' --token-file.
func (w *World) TokenFile(t testing.TB, name string, roles ...apitoken.Role) string {
	t.Helper()
	c := w.ClientAs(t, w.Fleet.Sites[0].Name, name, roles...)
	path := filepath.Join(w.dir, name+".token")
	if err := os.WriteFile(path, []byte(c.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Status asks site's daemon for its status.
func (w *World) Status(t testing.TB, site string) api.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := w.Client(t, site).Status(ctx)
	if err != nil {
		t.Fatalf("status of %s: %v", site, err)
	}
	return st
}

// Dig asks site's name server with the real dig and returns the +short answer.
func (w *World) Dig(t testing.TB, site, name string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(w.Daemons[site].DNSAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := []string{"@" + host, "-p", port, "+tries=1", "+time=2", "+short", name, "A"}
	out, err := exec.CommandContext(ctx, testenv.LookPath(t, "dig"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// WaitLeader waits until every running daemon in sites names the same leader and
// returns it with its token.
func (w *World) WaitLeader(t testing.TB, sites ...string) (string, int64) {
	t.Helper()
	var leader string
	var token int64
	coordtest.Eventually(t, 30*time.Second, "one leader seen by all", func() bool {
		leader, token = "", 0
		for _, s := range sites {
			st := w.Status(t, s)
			if st.Leader == "" || (leader != "" && (st.Leader != leader || st.LeaderToken != token)) {
				return false
			}
			leader, token = st.Leader, st.LeaderToken
		}
		return true
	})
	return leader, token
}
