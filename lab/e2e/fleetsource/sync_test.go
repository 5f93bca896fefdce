package fleetsource_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/internal/coord/coordtest"
	"hadron.dev/hadron/internal/fleetsource"
	"hadron.dev/hadron/internal/fleetsync"
	"hadron.dev/hadron/internal/site"
	"hadron.dev/hadron/lab/internal/controlplane/cptest"
)

// etcdNet is the loopback network of this test's etcd members (127.0.199.41-43).
const etcdNet = 199

// TestFleetKeptTheSameInEverySite runs two clusters (east at 127.0.198.2, west at
// 127.0.198.3) holding the demo fleet, a three-member etcd, and per site the watcher
// and the syncer as hadron serve --fleet-from-cluster wires them: an edit in east's
// cluster reaches west's, and so does a deletion, without the two publishing back and
// forth.
func TestFleetKeptTheSameInEverySite(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed (make deps)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, members := coordtest.StartCluster(t, coordtest.Fleet(etcdNet))

	type siteRun struct {
		kubectl func(args ...string) string
		syncer  *fleetsync.Syncer
	}
	sites := map[string]*siteRun{}
	for i, name := range []string{"east", "west"} {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		kubeconfig := cptest.Start(t, "fs-"+name, []string{"127.0.198.2", "127.0.198.3"}[i], dir)
		kubectl := func(args ...string) string {
			t.Helper()
			kctx, kcancel := context.WithTimeout(ctx, 90*time.Second)
			defer kcancel()
			cmd := exec.CommandContext(kctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
			if len(args) > 0 && args[0] == "apply" && args[len(args)-1] == "-" {
				cmd.Stdin = strings.NewReader(string(demoManifests(t, dir)))
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: kubectl %s: %v\n%s", name, strings.Join(args, " "), err, out)
			}
			return string(out)
		}
		cptest.InstallCRDs(t, kubeconfig, crdDir)
		kubectl("apply", "-f", "-")

		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := site.ConnectConfig(name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		w := &fleetsource.Watcher{Conn: conn, Instance: name, Debounce: 300 * time.Millisecond}
		if _, err := w.Read(ctx); err != nil {
			t.Fatal(err)
		}
		etcd := members[i].Client
		s := &fleetsync.Syncer{Conn: conn, Site: name, Current: w.Current, Interval: time.Second}
		go w.Run(ctx, func(fleetsource.Snapshot, fleetsource.Change) { _ = s.Step(ctx, etcd) })
		go s.Run(ctx, etcd)
		sites[name] = &siteRun{kubectl: kubectl, syncer: s}
	}
	east, west := sites["east"], sites["west"]
	etcd := members[2].Client

	eventually := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 45s", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// published is the value of the published fleet's key and its revision.
	published := func() (string, int64) {
		r, err := etcd.Get(ctx, fleetsync.Key)
		if err != nil || len(r.Kvs) == 0 {
			return "", 0
		}
		return string(r.Kvs[0].Value), r.Kvs[0].ModRevision
	}
	eventually(t, "published fleet", func() bool { _, rev := published(); return rev > 0 })

	t.Run("an edit in east reaches west", func(t *testing.T) {
		east.kubectl("patch", "applications", "shop", "--type=merge", "-p", `{"spec":{"dns":{"ttl":44}}}`)
		eventually(t, "ttl 44 at west", func() bool {
			return west.kubectl("get", "applications", "shop", "-o", "jsonpath={.spec.dns.ttl}") == "44"
		})
		if from := west.kubectl("get", "applications", "shop", "-o", `jsonpath={.metadata.annotations.hadron\.dev/fleet-synced-from}`); from != "east" {
			t.Errorf("west's shop synced from %q, want east", from)
		}
		// Settled: nobody publishes again.
		time.Sleep(3 * time.Second)
		_, rev := published()
		time.Sleep(3 * time.Second)
		if _, rev2 := published(); rev2 != rev {
			t.Errorf("the published fleet keeps changing (revision %d then %d)", rev, rev2)
		}
	})

	t.Run("a deletion in west reaches east", func(t *testing.T) {
		west.kubectl("delete", "applications", "shop")
		eventually(t, "shop deleted at east", func() bool {
			return !strings.Contains(east.kubectl("get", "applications", "-o", "name"), "shop")
		})
		v, _ := published()
		if strings.Contains(v, "kind: Application") {
			t.Errorf("the published fleet still holds an application:\n%s", v)
		}
	})
}
