// Package replicate_test runs hadron's replication, discovery and checks against two
// real lab control planes (kube-apiserver, etcd, controller-manager, scheduler, kwok)
// on addresses away from the default lab, so it can run beside one.
package replicate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"hadron.dev/hadron/api/v1alpha1"
	"hadron.dev/hadron/internal/fleet"
	"hadron.dev/hadron/internal/site"
	"hadron.dev/hadron/lab/internal/controlplane"
	"hadron.dev/hadron/lab/internal/controlplane/cptest"
)

// TestMain lets the test binary stand in for hadron-lab (cptest.Main).
func TestMain(m *testing.M) { cptest.Main(m) }

// The two sites of these tests, far from the lab's 127.0.1-9 ranges.
var testSites = []struct {
	name, region, ip string
	zones            []string
}{
	{"east", "test-east-1", "127.0.211.1", []string{"test-east-1a", "test-east-1b"}},
	{"west", "test-west-2", "127.0.212.1", []string{"test-west-2a", "test-west-2b"}},
}

// world is two running sites and a fleet that names them.
type world struct {
	fleet *fleet.Fleet
	conns map[string]*site.Conn
	dir   string
}

// startWorld starts both control planes and waits until they are ready; they stop
// when the test ends. tweak, when given, adjusts each site's configuration first.
func startWorld(t testing.TB, tweak ...func(*controlplane.Config)) *world {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, len(testSites))
	w := &world{fleet: &fleet.Fleet{Dir: dir}, conns: map[string]*site.Conn{}, dir: dir}
	logFile, err := os.Create(filepath.Join(dir, "sites.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logFile, nil))
	for _, s := range testSites {
		sdir := filepath.Join(dir, s.name)
		cfg := controlplane.Config{Name: s.name, Region: s.region, Zones: s.zones, NodesPerZone: 1, IP: s.ip, Dir: sdir,
			Binary: os.Args[0], Log: log, ReadyTimeout: 5 * time.Minute}
		for _, f := range tweak {
			f(&cfg)
		}
		wg.Go(func() {
			if err := controlplane.Run(ctx, cfg); err != nil {
				errs <- fmt.Errorf("site %s: %w", cfg.Name, err)
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		logFile.Close()
	})
	deadline := time.Now().Add(6 * time.Minute)
	for _, s := range testSites {
		for {
			if _, err := os.Stat(controlplane.ReadyPath(filepath.Join(dir, s.name))); err == nil {
				break
			}
			select {
			case err := <-errs:
				dumpFile(t, filepath.Join(dir, "sites.log"))
				t.Fatal(err)
			case <-time.After(200 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				dumpFile(t, filepath.Join(dir, "sites.log"))
				t.Fatalf("site %s not ready after 6m", s.name)
			}
		}
		fs := &v1alpha1.Site{ObjectMeta: metav1.ObjectMeta{Name: s.name}, Spec: v1alpha1.SiteSpec{
			Region: s.region, Zones: s.zones, KubeContext: controlplane.Context(s.name),
			Kubeconfig: controlplane.KubeconfigPath(filepath.Join(dir, s.name)),
		}}
		w.fleet.Sites = append(w.fleet.Sites, fs)
		c, err := site.Connect(fs, dir)
		if err != nil {
			t.Fatal(err)
		}
		w.conns[s.name] = c
	}
	return w
}

func dumpFile(t testing.TB, path string) {
	b, _ := os.ReadFile(path)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	t.Logf("%s:\n%s", path, b)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not true after %s: %s", what, within, last)
}

// forward accepts on listen and copies each connection to target: a stand-in for the
// lab's cross-region link, so a connect from "west" reaches east's address.
func forward(t testing.TB, listen, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.DialTimeout("tcp", target, 3*time.Second)
				if err != nil {
					return
				}
				defer u.Close()
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
}

// serve accepts and closes connections on addr: the exported service's backend.
func serve(t testing.TB, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// link is a TCP forwarder that can be cut and healed, like a cross-region link of the
// lab: cut closes the listener and every open connection.
type link struct {
	t              testing.TB
	listen, target string
	mu             sync.Mutex
	ln             net.Listener
	conns          []net.Conn
}

func newLink(t testing.TB, listen, target string) *link {
	l := &link{t: t, listen: listen, target: target}
	l.heal()
	t.Cleanup(l.cut)
	return l
}

func (l *link) heal() {
	ln, err := net.Listen("tcp", l.listen)
	if err != nil {
		l.t.Fatal(err)
	}
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.DialTimeout("tcp", l.target, 3*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			l.conns = append(l.conns, c, u)
			l.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}
