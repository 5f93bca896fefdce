package coord_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hadron.dev/hadron/internal/coord"
	"hadron.dev/hadron/internal/coord/coordtest"
)

// insecureTLS trusts the cluster's CA but presents no client certificate.
func insecureTLS(t *testing.T, pki coord.PKI) *tls.Config {
	t.Helper()
	pool, err := pki.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// A real etcd member refuses a client whose certificate another CA signed, even one
// for the very site name and addresses, and serves one of its own CA: a fleet's trust
// is its CA, not the names in a certificate.
func TestEtcdRefusesCertificateOfAnotherCA(t *testing.T) {
	f := coordtest.Fleet(239)
	f.Sites = f.Sites[:1] // one member is a cluster with a majority of its own
	pki, members := coordtest.StartCluster(t, f)
	site := members[0].Name
	other := coord.PKI{Dir: filepath.Join(t.TempDir(), "other")}
	if err := other.Init(f); err != nil {
		t.Fatal(err)
	}
	foreign, err := other.SiteBundle(site).ClientTLS(site)
	if err != nil {
		t.Fatal(err)
	}
	// Trust the real server, so that only the client certificate can be refused.
	pool, err := pki.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	foreign.RootCAs = pool
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, tc := range map[string]struct {
		tls  *tls.Config
		want bool
	}{
		"another CA's certificate":   {foreign, false},
		"the operator's certificate": {mustClientTLS(t, pki.OperatorBundle(), coord.OperatorName), true},
	} {
		c, err := coord.NewClient(coord.ClientOptions{Endpoints: members[0].Member.Endpoints(), TLS: tc.tls})
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = c.Put(rctx, coord.Root+"tls-test", name)
		rcancel()
		c.Close()
		if ok := err == nil; ok != tc.want {
			t.Errorf("%s: write err = %v, want accepted %v", name, err, tc.want)
		}
	}
}

func mustClientTLS(t *testing.T, p coord.PKI, name string) *tls.Config {
	t.Helper()
	cfg, err := p.ClientTLS(name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Rotated certificates between etcd peers: writes go on while every member's
// certificate is reissued on disk, each member then serves the new one, and a member
// restarted afterwards rejoins over new peer connections made with the new
// certificates on both sides. Peers reach each other through links, as in the lab, so
// the relays in front of the members (which end and begin the peers' TLS) take part.
func TestRotationBetweenPeers(t *testing.T) {
	f := coordtest.Fleet(251)
	coordtest.WithLinks(t, f, 251)
	ca := coord.PKI{Dir: filepath.Join(t.TempDir(), "pki")}
	if err := ca.Init(f); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	members := map[string]*coordtest.Member{}
	for _, site := range coordtest.Sites {
		dirs[site] = filepath.Join(t.TempDir(), site)
		members[site] = coordtest.StartMember(t, f, ca, site, dirs[site])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, m := range members {
		if err := coord.WaitReady(ctx, m.Client); err != nil {
			t.Fatal(err)
		}
	}
	east := members["east"]
	lctx, stop := context.WithCancel(ctx)
	var writes, failed atomic.Int64
	var errMu sync.Mutex
	var firstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; lctx.Err() == nil; i++ {
			wctx, wcancel := context.WithTimeout(lctx, 2*time.Second)
			_, err := east.Client.Put(wctx, coord.Root+"peer-rotation", fmt.Sprint(i))
			wcancel()
			if lctx.Err() != nil {
				return
			}
			writes.Add(1)
			if err != nil {
				failed.Add(1)
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
			}
		}
	}()
	time.Sleep(time.Second) // load before the rotation
	rotated := time.Now()
	rot, err := ca.Rotate(f, coord.RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	serials := map[string]*big.Int{}
	for _, r := range rot {
		serials[r.Name] = r.Serial
	}
	opTLS, err := ca.OperatorBundle().ClientTLS(coord.OperatorName)
	if err != nil {
		t.Fatal(err)
	}
	serves := func(addr string, want *big.Int) bool {
		conn, err := tls.Dial("tcp", addr, opTLS.Clone())
		if err != nil {
			return false
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Cmp(want) == 0
	}
	for _, site := range coordtest.Sites {
		client := strings.TrimPrefix(members[site].Member.Endpoints()[0], "https://")
		relay := f.Site(site).Spec.Daemon.Peer.Address // the relay in front of the member's peer port
		coordtest.Eventually(t, 10*time.Second, site+"'s etcd member and relay serve its new certificate", func() bool {
			return serves(client, serials[site]) && serves(relay, serials[site])
		})
	}
	time.Sleep(time.Until(rotated.Add(3 * time.Second))) // load after it, at least 3s
	stop()
	<-done
	// West restarts: every peer connection to and from it is made anew.
	members["west"].Stop()
	members["west"] = coordtest.StartMember(t, f, ca, "west", dirs["west"])
	if err := coord.WaitReady(ctx, members["west"].Client); err != nil {
		t.Fatalf("west after restart: %v", err)
	}
	if _, err := east.Client.Put(ctx, coord.Root+"peer-rotation-after", "from-east"); err != nil {
		t.Fatal(err)
	}
	got, err := members["west"].Client.Get(ctx, coord.Root+"peer-rotation-after")
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("read through west after restart: %v %v", got, err)
	}
	t.Logf("writes through east during rotation: %d, %d failed", writes.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d writes failed; first: %v", failed.Load(), writes.Load(), firstErr)
	}
	if writes.Load() < 20 {
		t.Errorf("only %d writes: the load did not run", writes.Load())
	}
}
